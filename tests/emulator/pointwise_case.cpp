#include "emulator/pointwise_case.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "kernels/epilogue/epilogue.h"
#include "runtime/lt_matmul.h"
#include "emulator/checked_memory.h"
#include "emulator/depthwise_case.h"
#include "emulator/descriptor_gemm.h"
#include "plan/pack.h"
#include "sepconv/reference.h"
#include "support/host_tensor.h"

namespace sepconv::test {
namespace {

using detail::BiasMode;
using emulator::descriptor_gemm;
using emulator::HostOperand;

const char* bias_name(BiasMode m) {
  switch (m) {
    case BiasMode::none: return "auto";
    case BiasMode::gemm_epilogue: return "gemm_epilogue";
    case BiasMode::ones_row: return "ones_row";
    case BiasMode::elementwise: return "elementwise";
  }
  return "?";
}

std::int64_t pick(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}

// Memory of a host tensor as the descriptor GEMM sees it from `data`.
HostOperand operand(cublasLtMatrixLayout_t layout, const void* data, const void* begin,
                    std::size_t bytes, DType dtype) {
  const auto e = static_cast<std::int64_t>(dtype_size(dtype));
  const auto before =
      static_cast<const unsigned char*>(data) - static_cast<const unsigned char*>(begin);
  return {layout, data, -before / e, (static_cast<std::int64_t>(bytes) - before) / e};
}

// D as the depthwise kernel writes it: multiplier-major channels q' = m*C + c, rows padded to
// d_ld, the ones row for BiasMode::ones_row; the padding is NaN, so a GEMM reading it fails.
std::vector<unsigned char> arrange_d(const detail::Plan& plan, const reference::Intermediate& mid) {
  const detail::DepthwisePlan& dw = plan.depthwise();
  const DType dtype = dw.d_dtype;
  std::vector<unsigned char> d(static_cast<std::size_t>(plan.bytes(detail::Buffer::d)));
  const auto elements = static_cast<std::int64_t>(d.size() / dtype_size(dtype));
  for (std::int64_t i = 0; i < elements; ++i) {
    detail::store_element(d.data(), dtype, i, std::numeric_limits<double>::quiet_NaN());
  }
  const bool last = dw.format == DataFormat::channels_last;
  auto at = [&](std::int64_t b, std::int64_t t, std::int64_t q) {
    return b * dw.d_batch_stride + (last ? t * dw.d_ld + q : q * dw.d_ld + t);
  };
  const std::int64_t C = dw.in_channels;
  const std::int64_t M = dw.depth_multiplier;
  for (std::int64_t b = 0; b < dw.batch; ++b) {
    for (std::int64_t t = 0; t < dw.time_count; ++t) {
      for (std::int64_t c = 0; c < C; ++c) {
        for (std::int64_t m = 0; m < M; ++m) {
          detail::store_element(d.data(), dtype, at(b, t, m * C + c),
                                mid.mid[mid.index(b, t, c * M + m)]);
        }
      }
      if (dw.ones_row) detail::store_element(d.data(), dtype, at(b, t, C * M), 1.0);
    }
  }
  return d;
}

// Elements of y's allocation outside the window that are no longer NaN.
std::int64_t count_written_outside_window(const HostTensor& y, const LayerConfig& config,
                                          const detail::LaunchWindow& w) {
  const ConstTensorView v = y.view();
  const auto e = static_cast<std::int64_t>(dtype_size(v.dtype));
  const auto total = static_cast<std::int64_t>(y.bytes().size()) / e;
  const std::int64_t base = (static_cast<const unsigned char*>(v.data) - y.bytes().data()) / e;
  std::vector<bool> inside(static_cast<std::size_t>(total), false);
  const bool last = config.data_format == DataFormat::channels_last;
  for (std::int64_t b = w.batch_begin; b < w.batch_begin + w.batch_count; ++b) {
    for (std::int64_t t = w.time_begin; t < w.time_begin + w.time_count; ++t) {
      for (std::int64_t f = 0; f < config.filters; ++f) {
        inside[static_cast<std::size_t>(base + (last ? v.offset(b, t, f) : v.offset(b, f, t)))] =
            true;
      }
    }
  }
  std::int64_t written = 0;
  for (std::int64_t i = 0; i < total; ++i) {
    if (!inside[static_cast<std::size_t>(i)] &&
        !std::isnan(detail::load_element(y.bytes().data(), v.dtype, i))) {
      ++written;
    }
  }
  return written;
}

}  // namespace

std::int64_t count_written_outside(const HostTensor& y, const LayerConfig& config,
                                   const detail::LaunchWindow& w) {
  return count_written_outside_window(y, config, w);
}

std::string run_pointwise_host(const detail::Plan& plan, const detail::GemmPlan& gemm,
                        const std::vector<unsigned char>& d, const std::vector<unsigned char>& wp,
                        const ConstTensorView& bias, HostTensor& y) {
  const LayerConfig& cfg = plan.config;
  const detail::LaunchWindow& win = plan.window;
  const auto e = static_cast<std::int64_t>(dtype_size(plan.precision.dtype));
  const DType g = gemm.dtype;  // D's, the weights', the bias's and the GEMM output's type
  const auto eg = static_cast<std::int64_t>(dtype_size(g));
  const bool last = cfg.data_format == DataFormat::channels_last;
  auto* const y_window = static_cast<unsigned char*>(y.view().data) +
                         e * (last ? y.view().offset(win.batch_begin, win.time_begin, 0)
                                   : y.view().offset(win.batch_begin, 0, win.time_begin));
  // The bias in the GEMM's type, as the layer uploads it.
  std::vector<unsigned char> bias_g;
  if (cfg.use_bias) {
    bias_g.resize(static_cast<std::size_t>(cfg.filters * eg));
    for (std::int64_t f = 0; f < cfg.filters; ++f) {
      detail::store_element(bias_g.data(), g, f, detail::load_element(bias.data, bias.dtype, bias.offset(f)));
    }
  }
  const void* const b_ptr = cfg.use_bias ? bias_g.data() : nullptr;
  detail::LtMatmul lt(gemm);
  lt.set_bias_pointer(lt.has_bias() ? b_ptr : nullptr);
  const HostOperand weights_operand{nullptr, wp.data(), 0,
                                    static_cast<std::int64_t>(wp.size()) / eg};
  const HostOperand d_operand{nullptr, d.data(), 0, static_cast<std::int64_t>(d.size()) / eg};
  HostOperand a = gemm.a_is_weights ? weights_operand : d_operand;
  HostOperand b = gemm.a_is_weights ? d_operand : weights_operand;
  a.layout = lt.layout_a();
  b.layout = lt.layout_b();
  // The GEMM writes y's window, or the float32 scratch Z (poisoned: unwritten elements show).
  std::vector<float> z(static_cast<std::size_t>(plan.bytes(detail::Buffer::z) / 4),
                       std::numeric_limits<float>::quiet_NaN());
  const HostOperand out =
      plan.bytes(detail::Buffer::z) > 0
          ? HostOperand{lt.layout_c(), z.data(), 0, static_cast<std::int64_t>(z.size())}
          : operand(lt.layout_c(), y_window, y.bytes().data(), y.bytes().size(), plan.precision.dtype);
  HostOperand out_d = out;
  out_d.layout = lt.layout_d();
  descriptor_gemm(lt.desc(), 1.0f, a, b, 0.0f, out, out_d, cfg.filters);
  emulator::CheckedMemory memory;
  memory.add_global("y", y.bytes().data(), y.bytes().size(), true);
  memory.add_global("Z", z.data(), z.size() * sizeof(float), true);
  if (cfg.use_bias) memory.add_global("bias", bias_g.data(), bias_g.size(), false);
  if (plan.has_epilogue()) {
    detail::apply_epilogue_host(plan.epilogue(), y_window, z.data(), b_ptr, memory);
  }
  std::string problems;
  for (const auto& error : memory.errors()) problems += "  epilogue: " + error + "\n";
  return problems;
}

std::string PointwiseCase::describe() const {
  std::ostringstream o;
  o << test::describe(config) << ", B" << batch << " L" << length << " C" << in_channels << ", "
    << to_string(dtype) << " " << to_string(math)
    << (float32_intermediate ? " float32-intermediate" : "") << ", bias " << bias_name(force_bias)
    << ", window b[" << window.batch_begin << ",+" << window.batch_count << ") t["
    << window.time_begin << ",+" << window.time_count << "), x slack (" << x_slack[0] << ","
    << x_slack[1] << "," << x_slack[2] << "), y slack (" << y_slack[0] << "," << y_slack[1] << ","
    << y_slack[2] << ")" << (zero_unit_strides ? ", zero strides on unit axes" : "");
  return o.str();
}

PointwiseCase random_case(std::mt19937_64& rng, int index, int shard) {
  PointwiseCase c;
  LayerConfig& cfg = c.config;
  cfg.activation = static_cast<Activation>(index % kActivationCount);
  const int combo = (index + shard) % 8;  // (format, bias mode): all 8 pairs in 8 cases
  cfg.data_format = combo % 2 == 0 ? DataFormat::channels_last : DataFormat::channels_first;
  const bool last = cfg.data_format == DataFormat::channels_last;
  const int bias_choice = combo / 2;
  cfg.use_bias = bias_choice != 0;
  c.force_bias = bias_choice == 2   ? BiasMode::elementwise
                 : bias_choice == 3 ? (last ? BiasMode::gemm_epilogue : BiasMode::ones_row)
                                    : BiasMode::none;
  const std::int64_t channels[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 24, 33};
  c.in_channels = channels[pick(rng, 0, 11)];
  cfg.depth_multiplier = pick(rng, 1, 3);
  const std::int64_t filters[] = {1, 2, 3, 5, 6, 8, 11, 13, 16, 17, 32, 40};
  cfg.filters = filters[pick(rng, 0, 11)];
  cfg.kernel_size = pick(rng, 1, 5);
  cfg.strides = pick(rng, 1, 3);
  cfg.dilation_rate = cfg.strides > 1 ? 1 : pick(rng, 1, 3);
  cfg.padding = static_cast<Padding>(pick(rng, 0, 2));
  const std::int64_t effk = cfg.dilation_rate * (cfg.kernel_size - 1) + 1;
  // One output step now and then (ldc must not come from a stride that means nothing).
  c.length =
      (cfg.padding == Padding::valid ? effk : 1) + (pick(rng, 0, 4) == 0 ? 0 : pick(rng, 0, 30));
  c.batch = pick(rng, 1, 4);
  const int kind = static_cast<int>(pick(rng, 0, 9));
  c.dtype = kind == 8 ? DType::f16 : kind == 9 ? DType::bf16 : DType::f32;
  // 16-bit layers with a float32 intermediate (never with the bias forced into the elementwise
  // pass: that GEMM adds the bias itself).
  if (c.dtype != DType::f32 && c.force_bias != detail::BiasMode::elementwise && pick(rng, 0, 2) == 0) {
    c.float32_intermediate = true;
  }
  if ((c.dtype == DType::f32 || c.float32_intermediate) && pick(rng, 0, 3) == 0) {
    c.math = MathMode::tf32;
  }
  if (pick(rng, 0, 1) == 1) c.y_slack = {pick(rng, 0, 2), pick(rng, 0, 3), pick(rng, 0, 3)};
  if (pick(rng, 0, 2) == 0) c.x_slack = {pick(rng, 0, 2), pick(rng, 0, 2), pick(rng, 0, 2)};
  c.zero_unit_strides = pick(rng, 0, 1) == 1;
  if (pick(rng, 0, 2) == 0) {  // a launch window: part of the batches and steps
    const std::int64_t out = output_length(cfg, c.length);
    detail::LaunchWindow& w = c.window;
    w.batch_begin = pick(rng, 0, c.batch - 1);
    w.batch_count = pick(rng, 1, c.batch - w.batch_begin);
    const bool whole_rows = is_row_reduction(cfg.activation) && !last;
    w.time_begin = whole_rows ? 0 : pick(rng, 0, out - 1);
    w.time_count = whole_rows ? out : pick(rng, 1, out - w.time_begin);
  }
  return c;
}

PointwiseOutcome run_case(const PointwiseCase& c,
                          const std::function<void(detail::GemmPlan&)>& plant) {
  const LayerConfig& cfg = c.config;
  std::mt19937_64 rng(0x5eed ^
                      static_cast<std::uint64_t>(c.batch * 131 + c.length * 17 + c.in_channels));
  const HostTensor x = random_input(cfg, c.batch, c.length, c.in_channels, c.dtype, rng, c.x_slack);
  const HostWeights w = random_weights(cfg, c.in_channels, c.dtype, rng);
  HostTensor y = poisoned_output(cfg, c.batch, c.length, c.dtype, c.y_slack);

  detail::PlanRequest request =
      build_request(cfg, Precision{c.dtype, c.math, c.float32_intermediate}, c.batch, c.length,
                    c.in_channels, c.window, x, y, w);
  request.force_bias = c.force_bias;
  if (c.zero_unit_strides) {
    for (int i = 0; i < 3; ++i) {
      if (y.view().shape[i] == 1) request.y_strides[i] = 0;
    }
  }
  PointwiseOutcome outcome;
  outcome.plan = detail::make_plan(request);
  const detail::Plan& plan = outcome.plan;
  const detail::LaunchWindow& win = plan.window;

  // D and the packed pointwise matrix, as the depthwise kernel and set_weights produce them.
  const reference::Window ref_window{win.batch_begin, win.batch_count, win.time_begin,
                                     win.time_count};
  const std::vector<unsigned char> d =
      arrange_d(plan, reference::depthwise(cfg, x.view(), w.depthwise.view(), ref_window));
  const std::vector<unsigned char> wp =
      detail::pack_pointwise(cfg, c.in_channels, w.pointwise.view(),
                             cfg.use_bias ? w.bias.view() : ConstTensorView{}, plan.bias,
                             plan.gemm().dtype);

  detail::GemmPlan gemm = plan.gemm();
  if (plant) plant(gemm);
  outcome.memory_errors =
      run_pointwise_host(plan, gemm, d, wp, cfg.use_bias ? w.bias.view() : ConstTensorView{}, y);

  const reference::Detail ref = reference::forward_detail(cfg, x.view(), w.view(), ref_window);
  outcome.report = accuracy::compare(cfg, c.in_channels,
                                      Precision{c.dtype, c.math, c.float32_intermediate}, ref,
                                      y.view());
  outcome.written_outside = count_written_outside(y, cfg, win);
  return outcome;
}

}  // namespace sepconv::test
