#include "plan/plan.h"

#include <algorithm>
#include <sstream>
#include <type_traits>

#include "detail/message.h"

namespace sepconv::detail {

int alignment_of(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  const std::uint64_t bits = a | b | c | 256;
  return static_cast<int>(bits & (~bits + 1));  // lowest set bit
}

bool time_splittable(const LayerConfig& config) {
  return !(is_row_reduction(config.activation) &&
           config.data_format == DataFormat::channels_first);
}

ProblemShape problem_shape(const LayerConfig& config, std::int64_t batch, std::int64_t length,
                           std::int64_t in_channels) {
  ProblemShape p;
  p.batch = batch;
  p.length = length;
  p.in_channels = in_channels;
  p.geometry = geometry(config, length);
  return p;
}

const char* buffer_name(Buffer b) noexcept {
  switch (b) {
    case Buffer::x: return "x";
    case Buffer::y: return "y";
    case Buffer::depthwise_weights: return "depthwise weights";
    case Buffer::pointwise_weights: return "pointwise weights";
    case Buffer::bias: return "bias";
    case Buffer::d: return "D";
    case Buffer::z: return "Z";
    case Buffer::gemm_workspace: return "cuBLASLt workspace";
    case Buffer::history: return "history";
    case Buffer::stream_input: return "[history | chunk]";
    case Buffer::saved_z: return "kept z";
    case Buffer::saved_d: return "kept D";
    case Buffer::dy: return "dy";
    case Buffer::dx: return "dx";
    case Buffer::dz: return "dz";
    case Buffer::dmid: return "dD";
    case Buffer::dpw_partial: return "pointwise gradient sums";
    case Buffer::dbias_partial: return "bias gradient sums";
    case Buffer::ddw_partial: return "depthwise gradient chunk sums";
    case Buffer::grad_depthwise: return "grad_depthwise";
    case Buffer::grad_pointwise: return "grad_pointwise";
    case Buffer::grad_bias: return "grad_bias";
    case Buffer::none: return "none";
  }
  return "?";
}

const char* gemm_epilogue_name(GemmEpilogue e) noexcept {
  switch (e) {
    case GemmEpilogue::none: return "DEFAULT";
    case GemmEpilogue::bias: return "BIAS";
    case GemmEpilogue::relu: return "RELU";
    case GemmEpilogue::relu_bias: return "RELU_BIAS";
    case GemmEpilogue::bias_gradient_b: return "BGRADB";
  }
  return "?";
}

namespace {

BiasMode choose_bias(const PlanRequest& r) {
  const LayerConfig& c = r.config;
  if (!c.use_bias) return BiasMode::none;
  const bool f32_mid = r.precision.float32_intermediate && r.precision.dtype != DType::f32;
  if (r.force_bias == BiasMode::elementwise && f32_mid) {
    fail("force_bias", "elementwise with a float32 intermediate",
         "the bias inside the GEMM (a float32 intermediate's GEMM adds it in float32)");
  }
  if (r.force_bias != BiasMode::none) {
    if (r.force_bias == BiasMode::gemm_epilogue && c.data_format != DataFormat::channels_last) {
      fail("force_bias", "gemm_epilogue for channels_first",
           "ones_row or elementwise: the cuBLASLt bias runs along the GEMM's m, the time axis here");
    }
    if (r.force_bias == BiasMode::ones_row && c.data_format != DataFormat::channels_first) {
      fail("force_bias", "ones_row for channels_last",
           "gemm_epilogue or elementwise (the ones row is a channels_first D layout)");
    }
    return r.force_bias;
  }
  // channels_last: the bias runs along m = filters, exactly cuBLASLt's BIAS epilogue.
  // channels_first: along n, which the epilogue cannot take; one more k row costs the GEMM
  // (CM+1)/CM and keeps the bias inside the GEMM, where an elementwise pass would read and write
  // the whole output once more.
  return c.data_format == DataFormat::channels_last ? BiasMode::gemm_epilogue
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

template <class StepT>
const StepT* find_step(const std::vector<Step>& steps) {
  for (const auto& s : steps) {
    if (const auto* found = std::get_if<StepT>(&s)) return found;
  }
  return nullptr;
}

std::int64_t round_up_256(std::int64_t bytes) { return (bytes + 255) / 256 * 256; }

// The elementwise passes' grids within the device's limit (they grid-stride over the rest).
void cap_epilogue_grid(Plan& plan, const DeviceLimits& limits) {
  for (auto& step : plan.steps) {
    if (auto* e = std::get_if<EpilogueStep>(&step)) {
      e->plan.max_blocks = std::min(e->plan.max_blocks, limits.max_grid_x);
    } else if (auto* a = std::get_if<ActivationGradStep>(&step)) {
      a->plan.max_blocks = std::min(a->plan.max_blocks, limits.max_grid_x);
    }
  }
}

}  // namespace

std::int64_t Plan::bytes(Buffer b) const {
  for (const auto* slices : {&workspace, &state}) {
    for (const auto& s : *slices) {
      if (s.buffer == b) return s.bytes;
    }
  }
  return 0;
}

std::int64_t Plan::workspace_bytes() const {
  std::int64_t total = 0;
  for (const auto& s : workspace) total = std::max(total, s.offset + round_up_256(s.bytes));
  return total;
}

std::int64_t Plan::state_bytes() const {
  std::int64_t total = 0;
  for (const auto& s : state) total = std::max(total, s.offset + round_up_256(s.bytes));
  return total;
}

const DepthwisePlan& Plan::depthwise() const {
  if (const auto* s = find_step<DepthwiseStep>(steps)) return s->plan;
  throw Error("sepconv: internal error: the " + strategy + " plan has no depthwise step");
}
const GemmPlan& Plan::gemm() const {
  if (const auto* s = find_step<GemmStep>(steps)) return s->plan;
  throw Error("sepconv: internal error: the " + strategy + " plan has no GEMM step");
}
const EpiloguePlan& Plan::epilogue() const {
  if (const auto* s = find_step<EpilogueStep>(steps)) return s->plan;
  throw Error("sepconv: internal error: the " + strategy + " plan has no epilogue step");
}
bool Plan::has_epilogue() const { return find_step<EpilogueStep>(steps) != nullptr; }

namespace {

// Renames a buffer in every step that names it.
void rename_buffer(Plan& plan, Buffer from, Buffer to) {
  auto swap = [&](Buffer& b) {
    if (b == from) b = to;
  };
  for (auto& step : plan.steps) {
    if (auto* d = std::get_if<DepthwiseStep>(&step)) {
      swap(d->output);
    } else if (auto* g = std::get_if<GemmStep>(&step)) {
      swap(g->a);
      swap(g->b);
      swap(g->c);
    } else if (auto* e = std::get_if<EpilogueStep>(&step)) {
      swap(e->source);
    }
  }
}

}  // namespace

void move_to_state(Plan& plan, Buffer from, Buffer to) {
  const auto it = std::find_if(plan.workspace.begin(), plan.workspace.end(),
                               [&](const WorkspaceSlice& s) { return s.buffer == from; });
  if (it == plan.workspace.end()) {
    throw Error(str("sepconv: internal error: the plan has no ", buffer_name(from), " to keep"));
  }
  plan.state.push_back({to, plan.state_bytes(), it->bytes});
  plan.workspace.erase(it);
  std::int64_t offset = 0;  // the remaining slices, packed again
  for (auto& s : plan.workspace) {
    s.offset = offset;
    offset += round_up_256(s.bytes);
  }
  rename_buffer(plan, from, to);
}

bool keep_intermediate(const LayerConfig& config, const Precision& precision,
                       const ProblemShape& shape) {
  const bool f32_mid = precision.float32_intermediate && precision.dtype != DType::f32;
  const auto d_bytes = static_cast<double>(shape.geometry.out_length) *
                       static_cast<double>(shape.mid_channels(config)) *
                       static_cast<double>(dtype_size(f32_mid ? DType::f32 : precision.dtype));
  const auto x_bytes = static_cast<double>(shape.length) * static_cast<double>(shape.in_channels) *
                       static_cast<double>(dtype_size(precision.dtype));
  return d_bytes <= 2 * x_bytes || config.kernel_size >= 32;
}

TrainingState training_state_layout(const PlanRequest& request, const DeviceLimits& limits) {
  PlanRequest r = request;
  r.pass = PlanRequest::Pass::training_forward;
  r.window = {};
  r.gemm_to_scratch = false;
  const Plan plan = make_plan(r, limits);
  TrainingState t;
  t.keep_d = r.keep_d;
  for (const auto& s : plan.state) {
    if (s.buffer == Buffer::saved_z) t.z_bytes = s.bytes;
    if (s.buffer == Buffer::saved_d) {
      t.d_offset = s.offset;
      t.d_bytes = s.bytes;
    }
  }
  t.bytes = plan.state_bytes();
  return t;
}

Plan make_plan(const PlanRequest& original, const DeviceLimits& limits) {
  PlanRequest request = original;
  Plan plan;
  plan.config = request.config;
  plan.precision = request.precision;
  plan.shape = request.shape;
  if (request.stream) {
    plan.bias = choose_bias(request);
    plan_stream(request, limits, plan);
    cap_epilogue_grid(plan, limits);
    return plan;
  }
  const std::int64_t lout = plan.shape.geometry.out_length;
  LaunchWindow w = request.window;
  if (w.batch_count == 0 && w.time_count == 0 && w.batch_begin == 0 && w.time_begin == 0) {
    w.batch_count = plan.shape.batch;
    w.time_count = lout;
  }
  if (w.batch_begin < 0 || w.batch_count < 0 || w.batch_begin + w.batch_count > plan.shape.batch ||
      w.time_begin < 0 || w.time_count < 1 || w.time_begin + w.time_count > lout) {
    fail("window",
         str("batches [", w.batch_begin, ", +", w.batch_count, "), steps [", w.time_begin, ", +",
             w.time_count, ")"),
         str("a window inside ", plan.shape.batch, " batches and ", lout, " output steps"));
  }
  if (!time_splittable(plan.config) && w.time_count != lout) {
    fail("window", str("output steps [", w.time_begin, ", +", w.time_count, ")"),
         str("all ", lout, " output steps: ", to_string(plan.config.activation),
             " of a channels_first layer reduces along time"));
  }
  plan.window = w;
  plan.bias = choose_bias(request);
  using Pass = PlanRequest::Pass;
  if (request.pass != Pass::forward &&
      (w.batch_count != plan.shape.batch || w.time_count != lout)) {
    fail("window", str("batches [", w.batch_begin, ", +", w.batch_count, "), steps [",
                       w.time_begin, ", +", w.time_count, ")"),
         "the whole problem: the training forward and the backward run in one piece");
  }
  // The strategy: the two-kernel forward (also as the training forward, which keeps z and D for
  // the backward in the caller's state), or the backward; a streaming chunk's above. (A fused
  // small-channel kernel would be chosen here.)
  switch (request.pass) {
    case Pass::forward:
      plan.strategy = "two-kernel forward";
      plan_depthwise(request, limits, plan);
      plan_pointwise(request, plan);
      break;
    case Pass::training_forward: {
      plan.strategy = "two-kernel training forward";
      if (plan.bias == BiasMode::elementwise) {
        throw Unsupported(
            "sepconv: the training forward keeps z = pointwise result + bias, so its GEMM must "
            "add the bias (cuBLASLt has no algorithm with the bias epilogue for this problem)");
      }
      // z is the GEMM's output (bias included): the GEMM writes it into the state, and the pass
      // after it applies the activation into y. A linear layer's backward needs no z.
      const bool keep_z = request.config.activation != Activation::linear;
      request.gemm_to_scratch = request.gemm_to_scratch || keep_z;
      plan_depthwise(request, limits, plan);
      plan_pointwise(request, plan);
      if (keep_z) move_to_state(plan, Buffer::z, Buffer::saved_z);
      if (request.keep_d) move_to_state(plan, Buffer::d, Buffer::saved_d);
      break;
    }
    case Pass::backward:
      plan.strategy = request.trainable ? "backward" : "backward (dx only: not trainable)";
      plan_backward(request, limits, plan);
      break;
  }
  cap_epilogue_grid(plan, limits);
  return plan;
}

namespace {

void describe_step(std::ostream& o, const Plan& plan, const DepthwiseStep& step) {
  const DepthwisePlan& dw = step.plan;
  o << "  depthwise (" << buffer_name(step.source) << " -> D): " << (dw.sliding ? "sliding-window" : "general") << " "
    << to_string(dw.format) << " kernel, vec " << dw.vec << ", " << dw.steps_per_thread
    << " steps/thread x " << dw.groups << " groups; block " << dw.threads << " threads ("
    << dw.threads_c << " x " << dw.threads_t << ") = " << dw.channels_per_block << " channels x "
    << dw.tile_steps << " steps; " << (dw.chunked() ? "tap-chunked path, " : "whole-kernel path, ")
    << dw.num_chunks << " chunk(s) of " << dw.tap_chunk << " taps, " << dw.tile_rows
    << " rows staged; " << dw.shared_bytes << " B shared" << (dw.needs_optin ? " (opt-in)" : "")
    << "; grid " << dw.grid << " of " << dw.blocks << " blocks (" << dw.batch << " x "
    << dw.time_tiles << " x " << dw.channel_groups << ")\n"
    << "    D: " << (dw.format == DataFormat::channels_last ? "[b][t][m*C+c]" : "[b][m*C+c][t]")
    << ", ld " << dw.d_ld << ", batch stride " << dw.d_batch_stride
    << (dw.ones_row ? ", ones row" : "") << ", " << to_string(dw.d_dtype) << ", "
    << plan.bytes(step.output) << " B"
    << (step.output == Buffer::saved_d ? " kept in the training state" : "") << "\n";
}

void describe_step(std::ostream& o, const Plan& plan, const GemmStep& step) {
  const GemmPlan& g = step.plan;
  o << "  pointwise GEMM (" << buffer_name(step.a) << " x " << buffer_name(step.b) << " -> "
    << buffer_name(step.c) << "; column-major, " << to_string(g.dtype) << ", math "
    << to_string(g.math) << "): m " << g.m << ", n " << g.n << ", k " << g.k << ", A "
    << buffer_name(step.a) << (g.trans_a ? "^T" : "") << " lda " << g.lda << ", B "
    << buffer_name(step.b) << (g.trans_b ? "^T" : "") << " ldb " << g.ldb << ", C ldc " << g.ldc
    << ", batch " << g.batch_count << " (strides " << g.stride_a << ", " << g.stride_b << ", "
    << g.stride_c << "), epilogue " << gemm_epilogue_name(g.epilogue) << ", alignment "
    << g.align_a << "/" << g.align_b << "/" << g.align_c << " B"
    << (g.float32_output ? ", float32 output" : "")
    << (step.bias_gradient != Buffer::none
            ? std::string(", bias gradient into ") + buffer_name(step.bias_gradient)
            : std::string())
    << "\n";
  if (step.c == Buffer::z) {
    o << "    C = " << to_string(g.dtype) << " scratch Z (" << plan.bytes(Buffer::z) << " B"
      << (plan.float32_intermediate() ? "" : ": no algorithm writes y itself") << ")\n";
  }
}

void describe_step(std::ostream& o, const Plan&, const StreamCopyStep& step) {
  const StreamCopyPlan& c = step.plan;
  o << "  stream copy (" << buffer_name(step.src0) << ", " << buffer_name(step.src1) << " -> "
    << buffer_name(step.dst) << "): " << c.extent[0] << " x " << c.extent[1] << " x "
    << c.extent[2] << " elements of " << c.element_bytes << " B; steps [0, " << c.split
    << ") from " << buffer_name(step.src0) << ", the rest from " << buffer_name(step.src1)
    << " step " << c.src1_first << " on; grid " << c.grid << " of " << c.blocks << " blocks\n";
}

void describe_step(std::ostream& o, const Plan&, const ActivationGradStep& step) {
  const ActivationGradPlan& a = step.plan;
  o << "  activation gradient (dy" << (a.has_z ? ", kept z" : "") << " -> dz, "
    << to_string(a.dz_dtype) << "): "
    << (a.row_reduction() ? "row " : a.has_z ? "elementwise " : "copy, ")
    << (a.has_z ? std::string(to_string(a.activation)) + "'" : std::string("linear")) << ", rows of "
    << (a.format == DataFormat::channels_last ? a.filters : a.steps) << ", dz row stride "
    << a.dz_row_stride << "\n";
}

void describe_step(std::ostream& o, const Plan&, const DepthwiseGradStep& step) {
  const DepthwiseGradPlan& p = step.plan;
  if (p.kind == DepthwiseGradPlan::Kind::input) {
    o << "  depthwise input gradient (dD, W -> dx): transposed depthwise convolution, a thread "
         "per element, grid "
      << p.grid << " of " << p.blocks << " blocks\n";
  } else {
    o << "  depthwise weight gradient (dD, x -> chunk sums): " << p.chunks << " chunk(s) of "
      << p.chunk_pairs << " (batch, step) pairs, " << (1 << p.lanes_log2)
      << " lane(s) per (m, j, c), grid " << p.grid << " of " << p.blocks << " blocks\n";
  }
}

void describe_step(std::ostream& o, const Plan&, const ReduceStep& step) {
  const ReducePlan& p = step.plan;
  o << "  reduction (" << buffer_name(step.source) << " -> " << buffer_name(step.target)
    << "): " << p.elements() << " element(s), each a sum of " << p.r_count * p.u_count << ", "
    << (1 << p.lanes_log2) << " lane(s) each, grid " << p.grid << "\n";
}

void describe_step(std::ostream& o, const Plan&, const EpilogueStep& step) {
  const EpiloguePlan& e = step.plan;
  o << "  after the GEMM (" << buffer_name(step.source) << " -> y):";
  if (e.elementwise) {
    o << " elementwise " << to_string(e.elementwise_activation) << (e.add_bias ? " + bias" : "")
      << " pass" << (e.row_reduction ? ";" : "");
  }
  if (e.row_reduction) o << " row " << to_string(e.row_activation) << " pass";
  o << "\n";
}

}  // namespace

std::string Plan::describe() const {
  const auto& c = config;
  std::ostringstream o;
  o << "sepconv plan: SeparableConv1D(filters=" << c.filters << ", kernel_size=" << c.kernel_size
    << ", strides=" << c.strides << ", padding=" << to_string(c.padding)
    << ", data_format=" << to_string(c.data_format) << ", dilation_rate=" << c.dilation_rate
    << ", depth_multiplier=" << c.depth_multiplier << ", activation=" << to_string(c.activation)
    << ", use_bias=" << (c.use_bias ? "true" : "false") << ")\n"
    << "  dtype " << to_string(precision.dtype) << ", math " << to_string(precision.math)
    << (float32_intermediate() ? ", float32 intermediate" : "") << ", in_channels "
    << shape.in_channels << ", out_length " << shape.geometry.out_length << ", padding "
    << shape.geometry.pad.left << "/" << shape.geometry.pad.right << "\n"
    << "  window: batches [" << window.batch_begin << ", +" << window.batch_count << "), steps ["
    << window.time_begin << ", +" << window.time_count << ")\n"
    << "  strategy: " << strategy << ", " << steps.size() << " steps; bias: " << name(bias)
    << "\n";
  for (const auto& step : steps) {
    std::visit([&](const auto& s) { describe_step(o, *this, s); }, step);
  }
  o << "  workspace:";
  for (const auto& s : workspace) {
    o << " " << buffer_name(s.buffer) << " " << s.bytes << " B at " << s.offset << ";";
  }
  o << " " << workspace_bytes() << " B before cuBLASLt's own\n";
  if (!state.empty()) {
    o << "  training state:";
    for (const auto& s : state) {
      o << " " << buffer_name(s.buffer) << " " << s.bytes << " B at " << s.offset << ";";
    }
    o << " " << state_bytes() << " B\n";
  }
  return o.str();
}

}  // namespace sepconv::detail
