#include "depthwise_case.h"

#include <cmath>
#include <sstream>

#include "plan/pack.h"
#include "sepconv/accuracy.h"
#include "sepconv/reference.h"

namespace sepconv::test {
namespace {

std::int64_t pick(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}

int alignment(const void* p) {
  return detail::alignment_of(reinterpret_cast<std::uintptr_t>(p));
}

}  // namespace

std::string CaseSpec::describe() const {
  std::ostringstream o;
  o << test::describe(config) << " " << to_string(dtype) << (math == MathMode::tf32 ? " tf32" : "")
    << (float32_intermediate ? " float32-intermediate" : "")
    << " B" << batch << " L" << length << " C" << channels;
  if (x_slack != std::array<std::int64_t, 3>{}) o << " x-sliced";
  if (y_slack != std::array<std::int64_t, 3>{}) o << " y-sliced";
  if (window.time_count > 0) {
    o << " window b[" << window.batch_begin << ",+" << window.batch_count << ") t["
      << window.time_begin << ",+" << window.time_count << ")";
  }
  if (limits.shared_budget != detail::DeviceLimits{}.shared_budget) {
    o << " smem-budget " << limits.shared_budget;
  }
  if (limits.max_grid_x != detail::DeviceLimits{}.max_grid_x) o << " grid<=" << limits.max_grid_x;
  return o.str();
}

CaseSpec random_spec(std::mt19937_64& rng) {
  CaseSpec s;
  LayerConfig& c = s.config;
  const auto roll = pick(rng, 0, 99);
  s.dtype = roll < 70 ? DType::f32 : roll < 85 ? DType::f16 : DType::bf16;
  c.data_format = pick(rng, 0, 1) ? DataFormat::channels_first : DataFormat::channels_last;
  c.padding = static_cast<Padding>(pick(rng, 0, 2));
  const auto k_roll = pick(rng, 0, 99);
  c.kernel_size = k_roll < 60 ? pick(rng, 1, 9) : k_roll < 85 ? pick(rng, 10, 40)
                : k_roll < 97 ? pick(rng, 41, 300) : 1024;
  const auto sd = pick(rng, 0, 9);
  if (sd < 4 || c.kernel_size > 300) {
    // s = d = 1: the sliding-window path
  } else if (sd < 7) {
    c.strides = pick(rng, 2, 4);
  } else {
    c.dilation_rate = pick(rng, 2, c.kernel_size > 40 ? 3 : 7);
  }
  c.depth_multiplier = pick(rng, 0, 3) == 0 ? pick(rng, 2, 4) : 1;
  c.use_bias = pick(rng, 0, 3) != 0;
  c.activation = static_cast<Activation>(pick(rng, 0, kActivationCount - 1));
  c.filters = pick(rng, 1, 24);
  // Channel counts: ragged, or multiples of 8 for the vector paths.
  s.channels = pick(rng, 0, 1) ? pick(rng, 1, 13) * 8 : pick(rng, 1, 70);
  s.batch = pick(rng, 1, 3);
  const std::int64_t effk = c.dilation_rate * (c.kernel_size - 1) + 1;
  const std::int64_t extra = pick(rng, 0, 3) == 0 ? pick(rng, 0, 600) : pick(rng, 0, 80);
  s.length = c.padding == Padding::valid ? effk + extra : std::max<std::int64_t>(1, extra);
  if (c.padding != Padding::valid && pick(rng, 0, 4) == 0) s.length = pick(rng, 1, c.kernel_size);
  // Bound the emulated work (outputs x channels x taps) to keep CI fast.
  while (s.batch * s.length * s.channels * c.depth_multiplier * c.kernel_size > 3'000'000) {
    if (s.channels > 8) {
      s.channels /= 2;
    } else if (s.batch > 1) {
      --s.batch;
    } else {
      break;
    }
  }
  if (pick(rng, 0, 3) == 0) s.x_slack = {pick(rng, 0, 2), pick(rng, 0, 5), pick(rng, 0, 9)};
  if (pick(rng, 0, 3) == 0) s.y_slack = {pick(rng, 0, 2), pick(rng, 0, 5), pick(rng, 0, 9)};
  // A tight shared-memory budget forces the tap-chunked path (down to one tap per chunk).
  if (pick(rng, 0, 9) < 3) s.limits.shared_budget = pick(rng, 1, 40) * 1024;
  if (pick(rng, 0, 9) < 2) s.limits.max_grid_x = pick(rng, 1, 5);
  const std::int64_t lout = output_length(c, s.length);
  if (pick(rng, 0, 3) == 0) {
    s.window.batch_begin = pick(rng, 0, s.batch - 1);
    s.window.batch_count = pick(rng, 1, s.batch - s.window.batch_begin);
    // Softmax along time (channels_first) needs whole rows: no time window then.
    const bool whole_rows = is_row_reduction(c.activation) && c.data_format == DataFormat::channels_first;
    s.window.time_begin = whole_rows ? 0 : pick(rng, 0, lout - 1);
    s.window.time_count = whole_rows ? lout : pick(rng, 1, lout - s.window.time_begin);
  }
  if (s.dtype != DType::f32 && pick(rng, 0, 2) == 0) s.float32_intermediate = true;
  if ((s.dtype == DType::f32 || s.float32_intermediate) && pick(rng, 0, 4) == 0) {
    s.math = MathMode::tf32;
  }
  return s;
}

detail::PlanRequest build_request(const LayerConfig& config, const Precision& precision,
                                  std::int64_t batch, std::int64_t length, std::int64_t channels,
                                  const detail::LaunchWindow& window, const HostTensor& x,
                                  const HostTensor& y, const HostWeights& w) {
  detail::PlanRequest r;
  r.config = config;
  r.precision = precision;
  r.shape = detail::problem_shape(config, batch, length, channels);
  r.window = window;
  const ConstTensorView xv = x.view();
  const ConstTensorView yv = y.view();
  for (int i = 0; i < 3; ++i) {
    r.x_strides[i] = xv.strides[i];
    r.y_strides[i] = yv.strides[i];
  }
  const auto e = static_cast<std::int64_t>(dtype_size(precision.dtype));
  const std::int64_t b0 = window.batch_begin;
  const std::int64_t t0 = window.time_begin;
  r.x_align = alignment(static_cast<const unsigned char*>(xv.data) + b0 * xv.strides[0] * e);
  const std::int64_t y_offset = config.data_format == DataFormat::channels_last
                                    ? b0 * yv.strides[0] + t0 * yv.strides[1]
                                    : b0 * yv.strides[0] + t0 * yv.strides[2];
  r.y_align = alignment(static_cast<const unsigned char*>(yv.data) + y_offset * e);
  r.bias_align = w.bias.shape().empty() ? 256 : alignment(w.bias.view().data);
  return r;
}

detail::PlanRequest make_request(const CaseSpec& spec, const HostTensor& x, const HostTensor& y,
                                 const HostWeights& w) {
  return build_request(spec.config, spec.precision(), spec.batch, spec.length, spec.channels,
                       spec.window, x, y, w);
}

EmulatedDepthwise emulate(const CaseSpec& spec, const HostTensor& x, const HostWeights& w,
                          const detail::PlanRequest& request) {
  EmulatedDepthwise run;
  run.plan = detail::make_plan(request, spec.limits);
  run.w_packed = detail::pack_depthwise(spec.config, spec.channels, w.depthwise.view());
  run.d.assign(static_cast<std::size_t>(run.plan.bytes(detail::Buffer::d)), 0);
  const DType d_dtype = run.plan.depthwise().d_dtype;
  const auto ed = dtype_size(d_dtype);
  for (std::size_t i = 0; i + ed <= run.d.size(); i += ed) {
    detail::store_element(run.d.data() + i, d_dtype, 0, std::nan(""));
  }
  const auto e = dtype_size(spec.dtype);
  detail::DepthwiseArgs args;
  args.plan = run.plan.depthwise();
  const ConstTensorView xv = x.view();
  args.x = static_cast<const unsigned char*>(xv.data) +
           run.plan.window.batch_begin * xv.strides[0] * static_cast<std::int64_t>(e);
  args.w = run.w_packed.data();
  args.d = run.d.data();
  run.memory = emulate_depthwise(args, {x.bytes().data(), x.bytes().size()},
                                 {run.w_packed.data(), run.w_packed.size()},
                                 {run.d.data(), run.d.size()}, spec.limits);
  return run;
}

double d_at(const EmulatedDepthwise& run, std::int64_t b, std::int64_t t, std::int64_t c,
            std::int64_t m) {
  const auto& p = run.plan.depthwise();
  const std::int64_t q = m * p.in_channels + c;
  const std::int64_t off = p.format == DataFormat::channels_last
                               ? b * p.d_batch_stride + t * p.d_ld + q
                               : b * p.d_batch_stride + q * p.d_ld + t;
  return detail::load_element(run.d.data(), p.d_dtype, off);
}

std::string check_depthwise(const CaseSpec& spec, const HostTensor& x, const HostWeights& w,
                            const EmulatedDepthwise& run) {
  std::ostringstream problems;
  int reported = 0;
  auto report = [&](const std::string& what) {
    if (reported++ < 5) problems << "  " << what << "\n";
  };
  for (const auto& e : run.memory.errors()) report("emulator: " + e);
  const auto& p = run.plan.depthwise();
  const auto& win = run.plan.window;
  reference::Window rw{win.batch_begin, win.batch_count, win.time_begin, win.time_count};
  const auto ref = reference::depthwise(spec.config, x.view(), w.depthwise.view(), rw);
  // Float accumulation of k terms (2 k u32 of the term sum), then rounding to the dtype.
  const double acc_tol = 2.0 * static_cast<double>(p.kernel_size) * std::ldexp(1.0, -24);
  const double store_tol = accuracy::storage_roundoff(run.plan.depthwise().d_dtype);
  // Rounding a value in the subnormal range of D's type errs by up to half its subnormal spacing.
  const double subnormal = run.plan.depthwise().d_dtype == DType::f16 ? std::ldexp(1.0, -25)
                           : run.plan.depthwise().d_dtype == DType::bf16 ? std::ldexp(1.0, -134)
                                                                       : std::ldexp(1.0, -150);
  const std::int64_t M = p.depth_multiplier;
  for (std::int64_t b = 0; b < win.batch_count; ++b)
    for (std::int64_t t = 0; t < win.time_count; ++t)
      for (std::int64_t c = 0; c < p.in_channels; ++c)
        for (std::int64_t m = 0; m < M; ++m) {
          const auto i = ref.index(b, t, c * M + m);
          const double want = ref.mid[i];
          const double got = d_at(run, b, t, c, m);
          const double allowed = acc_tol * ref.abs_sum[i] + store_tol * std::fabs(want) + subnormal;
          if (!(std::fabs(got - want) <= allowed)) {
            std::ostringstream o;
            o << "D(b=" << b << ", t=" << t << ", c=" << c << ", m=" << m << ") = " << got
              << ", reference " << want << " (allowed " << allowed << ")";
            report(o.str());
          }
        }
  // Exactly the valid elements written, once each; the ones row holds ones.
  const auto& writes = run.memory.writes("d");
  const auto e = static_cast<std::int64_t>(dtype_size(p.d_dtype));
  std::vector<char> valid(writes.size(), 0);
  const std::int64_t rows = p.in_channels * M + (p.ones_row ? 1 : 0);
  for (std::int64_t b = 0; b < win.batch_count; ++b)
    for (std::int64_t t = 0; t < win.time_count; ++t)
      for (std::int64_t q = 0; q < rows; ++q) {
        const std::int64_t off = p.format == DataFormat::channels_last
                                     ? b * p.d_batch_stride + t * p.d_ld + q
                                     : b * p.d_batch_stride + q * p.d_ld + t;
        for (std::int64_t k = 0; k < e; ++k) valid[static_cast<std::size_t>(off * e + k)] = 1;
        if (q == p.in_channels * M &&
            detail::load_element(run.d.data(), p.d_dtype, off) != 1.0) {
          report("ones row not 1 at b=" + std::to_string(b) + " t=" + std::to_string(t));
        }
      }
  for (std::size_t i = 0; i < writes.size(); ++i) {
    if (writes[i] != static_cast<std::uint32_t>(valid[i])) {
      report("D byte " + std::to_string(i) + " written " + std::to_string(writes[i]) +
             " times, expected " + std::to_string(static_cast<int>(valid[i])));
      break;
    }
  }
  return problems.str();
}

}  // namespace sepconv::test
