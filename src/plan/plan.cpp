#include "plan/plan.h"

#include <algorithm>
#include <sstream>

#include "detail/checks.h"

namespace sepconv::detail {

int alignment_of(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  const std::uint64_t bits = a | b | c | 256;
  return static_cast<int>(bits & (~bits + 1));  // lowest set bit
}

namespace {

BiasMode choose_bias(const PlanRequest& r) {
  if (!r.config.use_bias) return BiasMode::none;
  if (r.force_bias == BiasMode::elementwise && r.float32_intermediate && r.dtype != DType::f32) {
    fail("force_bias", "elementwise with a float32 intermediate",
         "the bias inside the GEMM (a float32 intermediate's GEMM adds it in float32)");
  }
  if (r.force_bias != BiasMode::none) {
    if (r.force_bias == BiasMode::gemm_epilogue && r.config.data_format != DataFormat::channels_last) {
      fail("force_bias", "gemm_epilogue for channels_first",
           "ones_row or elementwise: the cuBLASLt bias runs along the GEMM's m, the time axis here");
    }
    if (r.force_bias == BiasMode::ones_row && r.config.data_format != DataFormat::channels_first) {
      fail("force_bias", "ones_row for channels_last",
           "gemm_epilogue or elementwise (the ones row is a channels_first D layout)");
    }
    return r.force_bias;
  }
  // channels_last: the bias runs along m = filters, exactly cuBLASLt's BIAS epilogue.
  // channels_first: along n, which the epilogue cannot take; one more k row costs the GEMM
  // (CM+1)/CM and keeps the bias inside the GEMM, where an elementwise pass would read and write
  // the whole output once more.
  return r.config.data_format == DataFormat::channels_last ? BiasMode::gemm_epilogue
                                                           : BiasMode::ones_row;
}

const char* name(BiasMode m) {
  switch (m) {
    case BiasMode::none: return "none";
    case BiasMode::gemm_epilogue: return "cuBLASLt BIAS epilogue";
    case BiasMode::ones_row: return "ones row in D (extra k row)";
    case BiasMode::elementwise: return "elementwise pass";
  }
  return "?";
}

}  // namespace

const char* gemm_epilogue_name(GemmEpilogue e) noexcept {
  switch (e) {
    case GemmEpilogue::none: return "DEFAULT";
    case GemmEpilogue::bias: return "BIAS";
    case GemmEpilogue::relu: return "RELU";
    case GemmEpilogue::relu_bias: return "RELU_BIAS";
  }
  return "?";
}

Plan make_plan(const PlanRequest& request, const DeviceLimits& limits) {
  validate(request.config);
  Plan plan;
  plan.config = request.config;
  plan.dtype = request.dtype;
  plan.math = request.math;
  plan.float32_intermediate = request.float32_intermediate && request.dtype != DType::f32;
  plan.in_channels = request.in_channels;
  plan.geometry = geometry(request.config, request.length);
  LaunchWindow w = request.window;
  if (w.batch_count == 0 && w.time_count == 0 && w.batch_begin == 0 && w.time_begin == 0) {
    w.batch_count = request.batch;
    w.time_count = plan.geometry.out_length;
  }
  if (w.batch_begin < 0 || w.batch_count < 0 || w.batch_begin + w.batch_count > request.batch ||
      w.time_begin < 0 || w.time_count < 1 || w.time_begin + w.time_count > plan.geometry.out_length) {
    fail("window",
         str("batches [", w.batch_begin, ", +", w.batch_count, "), steps [", w.time_begin, ", +",
             w.time_count, ")"),
         str("a window inside ", request.batch, " batches and ", plan.geometry.out_length,
             " output steps"));
  }
  plan.window = w;
  plan.bias = choose_bias(request);
  plan_depthwise(request, limits, plan);
  plan_pointwise(request, plan);
  plan.epilogue.max_blocks = std::min(plan.epilogue.max_blocks, limits.max_grid_x);
  return plan;
}

std::string Plan::describe() const {
  const auto& c = config;
  const auto& dw = depthwise;
  std::ostringstream o;
  o << "sepconv plan: SeparableConv1D(filters=" << c.filters << ", kernel_size=" << c.kernel_size
    << ", strides=" << c.strides << ", padding=" << to_string(c.padding)
    << ", data_format=" << to_string(c.data_format) << ", dilation_rate=" << c.dilation_rate
    << ", depth_multiplier=" << c.depth_multiplier << ", activation=" << to_string(c.activation)
    << ", use_bias=" << (c.use_bias ? "true" : "false") << ")\n"
    << "  dtype " << to_string(dtype) << ", math " << to_string(math)
    << (float32_intermediate ? ", float32 intermediate" : "") << ", in_channels "
    << in_channels << ", out_length " << geometry.out_length << ", padding " << geometry.pad.left
    << "/" << geometry.pad.right << "\n"
    << "  window: batches [" << window.batch_begin << ", +" << window.batch_count << "), steps ["
    << window.time_begin << ", +" << window.time_count << ")\n"
    << "  depthwise: " << (dw.sliding ? "sliding-window" : "general") << " "
    << to_string(dw.format) << " kernel, vec " << dw.vec << ", " << dw.steps_per_thread
    << " steps/thread x " << dw.groups << " groups; block " << dw.threads << " threads ("
    << dw.threads_c << " x " << dw.threads_t << ") = " << dw.channels_per_block
    << " channels x " << dw.tile_steps << " steps; "
    << (dw.chunked() ? "tap-chunked path, " : "whole-kernel path, ") << dw.num_chunks
    << " chunk(s) of " << dw.tap_chunk << " taps, " << dw.tile_rows << " rows staged; "
    << dw.shared_bytes << " B shared" << (dw.needs_optin ? " (opt-in)" : "") << "; grid "
    << dw.grid << " of " << dw.blocks << " blocks (" << dw.batch << " x " << dw.time_tiles
    << " x " << dw.channel_groups << ")\n"
    << "  D: " << (dw.format == DataFormat::channels_last ? "[b][t][m*C+c]" : "[b][m*C+c][t]")
    << ", ld " << dw.d_ld << ", batch stride " << dw.d_batch_stride
    << (dw.ones_row ? ", ones row" : "") << ", " << to_string(dw.d_dtype) << ", " << d_bytes
    << " B\n"
    << "  pointwise GEMM (column-major, " << to_string(gemm.dtype) << ", math "
    << to_string(gemm.math) << "): m " << gemm.m << ", n " << gemm.n << ", k " << gemm.k
    << ", A " << (gemm.a_is_weights ? "weights" : "D") << (gemm.trans_a ? "^T" : "") << " lda "
    << gemm.lda << ", B " << (gemm.a_is_weights ? "D" : "weights") << (gemm.trans_b ? "^T" : "")
    << " ldb " << gemm.ldb << ", C "
    << (z_bytes > 0 ? str("= ", to_string(gemm.dtype), " scratch Z (", z_bytes, " B",
                          float32_intermediate ? "" : ": no algorithm writes y itself", ")")
                    : std::string("= y"))
    << " ldc " << gemm.ldc << ", batch " << gemm.batch_count
    << " (strides " << gemm.stride_a << ", " << gemm.stride_b << ", " << gemm.stride_c
    << "), epilogue " << gemm_epilogue_name(gemm.epilogue) << ", alignment " << gemm.align_a << "/"
    << gemm.align_b << "/" << gemm.align_c << " B\n"
    << "  bias: " << name(bias) << "; after the GEMM: "
    << (epilogue.row_reduction ? "row " + std::string(to_string(epilogue.activation)) +
                                     (epilogue.separate_source ? " pass from Z to y" : " pass")
        : epilogue.elementwise
            ? "elementwise " + std::string(to_string(epilogue.activation)) +
                  (epilogue.add_bias ? " + bias" : "") +
                  (epilogue.separate_source ? " pass from Z to y" : " pass")
            : std::string("nothing"))
    << "\n";
  return o.str();
}

}  // namespace sepconv::detail
