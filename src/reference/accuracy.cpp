#include "sepconv/accuracy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "detail/activations.h"
#include "detail/message.h"
#include "detail/elements.h"

namespace sepconv::accuracy {

double storage_roundoff(DType dtype) noexcept {
  switch (dtype) {
    case DType::f32: return std::ldexp(1.0, -24);
    case DType::f16: return std::ldexp(1.0, -11);
    case DType::bf16: return std::ldexp(1.0, -8);
  }
  return 0;
}

double unit_roundoff(DType dtype, MathMode mode) noexcept {
  if (dtype == DType::f32 && mode == MathMode::tf32) return std::ldexp(1.0, -11);
  return storage_roundoff(dtype);
}

double unit_roundoff(const Precision& p) noexcept {
  return unit_roundoff(p.float32_intermediate ? DType::f32 : p.dtype, p.math);
}

std::int64_t reduction_length(const LayerConfig& config, std::int64_t in_channels) {
  return config.kernel_size + in_channels * config.depth_multiplier;
}

double tolerance(DType dtype, MathMode mode, std::int64_t n) noexcept {
  return tolerance(Precision{dtype, mode, false}, n);
}

double tolerance(const Precision& p, std::int64_t n) noexcept {
  return kToleranceFactor * static_cast<double>(n) * unit_roundoff(p);
}

Interval activation_range(Activation a, double lo, double hi) {
  const double f_lo = reference::activation(a, lo);
  const double f_hi = reference::activation(a, hi);
  Interval r{std::min(f_lo, f_hi), std::max(f_lo, f_hi)};
  const double c = detail::activation_info(a).interior_minimum;
  if (c > lo && c < hi) r.lo = std::min(r.lo, reference::activation(a, c));
  return r;
}

double evaluation_scale(Activation a, double z) {
  const auto& entry = detail::activation_info(a);
  if (entry.row_reduction) detail::fail_not_elementwise(a);
  return entry.evaluation_scale(z, reference::activation(a, z));
}

std::string Report::summary() const {
  std::string s = detail::str(checked, " checked, ", failures, " outside the bound (", nan_count,
                              " NaN), worst |err|/allowed ", worst_ratio,
                              ", normwise relative error ", normwise_error);
  if (!first_failures.empty()) s += "\n" + first_failures;
  return s;
}

namespace {

// Largest finite value of a storage type.
double max_finite(DType dtype) {
  switch (dtype) {
    case DType::f32: return std::numeric_limits<float>::max();
    case DType::f16: return 65504.0;
    case DType::bf16: return 3.3895313892515355e38;
  }
  return 0;
}

// The output's own rounding and a few float32 units of the evaluation: CUDA's expf, tanhf and
// erff are within 2 ulps, log1pf within 1 and sqrtf exact, so 8 ulps of the evaluation scale cover
// the longest composition (mish: softplus, tanh, product); the smallest normal of the output
// dtype covers results that underflow.
double rounding_slack(DType out, double value, double scale) {
  const double tiny = out == DType::f16 ? std::ldexp(1.0, -14) : std::ldexp(1.0, -126);
  return storage_roundoff(out) * std::fabs(value) + 8 * std::ldexp(1.0, -24) * scale + tiny;
}

struct Checker {
  Report report;
  double err2 = 0;
  double ref2 = 0;

  // `where` describes the element; it is only called for a failure.
  template <class Where>
  void check(double got, double ref, double lo, double hi, const Where& where) {
    ++report.checked;
    if (std::isnan(got)) {
      ++report.nan_count;
      failure(INFINITY, got, lo, hi, where);
      return;
    }
    if (std::isfinite(got)) {
      err2 += (got - ref) * (got - ref);
      ref2 += ref * ref;
    }
    // The error against the room the bound leaves on its side of the reference.
    const double room = got >= ref ? hi - ref : ref - lo;
    const double ratio = got == ref ? 0.0 : room > 0 ? std::fabs(got - ref) / room : INFINITY;
    report.worst_ratio = std::max(report.worst_ratio, ratio);
    if (!(got >= lo && got <= hi)) failure(ratio, got, lo, hi, where);
  }

  template <class Where>
  void failure(double ratio, double got, double lo, double hi, const Where& where) {
    if (++report.failures <= 5) {
      report.first_failures += detail::str("  ", where(), ": got ", got, ", allowed [", lo, ", ",
                                           hi, "] (|err|/allowed ", ratio, ")\n");
    }
  }
};

}  // namespace

Report compare(const LayerConfig& config, std::int64_t in_channels, DType dtype, MathMode mode,
               const reference::Detail& ref, ConstTensorView y) {
  return compare(config, in_channels, Precision{dtype, mode, false}, ref, y);
}

Report compare(const LayerConfig& config, std::int64_t in_channels, const Precision& precision,
               const reference::Detail& ref, ConstTensorView y) {
  const double tol = tolerance(precision, reduction_length(config, in_channels));
  const auto& w = ref.window;
  const bool last = ref.data_format == DataFormat::channels_last;
  const std::int64_t rows = last ? w.batch_count * w.time_count : w.batch_count * ref.filters;
  const std::int64_t row_length = last ? ref.filters : w.time_count;
  const DType out = y.dtype;
  const double overflow = max_finite(out);
  Checker checker;

  for (std::int64_t r = 0; r < rows; ++r) {
    // Row r of the window and the element positions along it.
    const std::int64_t b = last ? r / w.time_count : r / ref.filters;
    auto position = [&](std::int64_t i, std::int64_t* t, std::int64_t* f) {
      *t = last ? r % w.time_count : i;
      *f = last ? i : r % ref.filters;
    };
    double max_e = 0;
    double max_z = -INFINITY;
    for (std::int64_t i = 0; i < row_length; ++i) {
      std::int64_t t = 0;
      std::int64_t f = 0;
      position(i, &t, &f);
      max_e = std::max(max_e, tol * ref.magnitude[ref.index(b, t, f)]);
      max_z = std::max(max_z, ref.preactivation[ref.index(b, t, f)]);
    }
    for (std::int64_t i = 0; i < row_length; ++i) {
      std::int64_t t = 0;
      std::int64_t f = 0;
      position(i, &t, &f);
      const std::int64_t k = ref.index(b, t, f);
      const double z = ref.preactivation[k];
      const double e = tol * ref.magnitude[k];
      const double want = ref.output[k];
      const std::int64_t gb = w.batch_begin + b;
      const std::int64_t gt = w.time_begin + t;
      const double got = detail::load_element(
          y.data, y.dtype, last ? y.offset(gb, gt, f) : y.offset(gb, f, gt));
      auto where = [&] {
        return detail::str("(b=", gb, ", t=", gt, ", f=", f, ") z_ref=", z, " S=",
                           ref.magnitude[k], " e=", e);
      };
      double lo = 0;
      double hi = 0;
      if (config.activation == Activation::softmax) {
        const double spread = want * std::expm1(e + max_e);
        const double slack = rounding_slack(out, want, want);
        lo = want - spread - slack;
        hi = want + spread + slack;
      } else if (config.activation == Activation::log_softmax) {
        const double slack =
            rounding_slack(out, want, std::fabs(want) + std::fabs(z) + std::fabs(max_z));
        lo = want - (e + max_e) - slack;
        hi = want + (e + max_e) + slack;
      } else {
        const Interval range = activation_range(config.activation, z - e, z + e);
        const double scale =
            std::max(evaluation_scale(config.activation, z - e),
                     evaluation_scale(config.activation, z + e));
        const double slack =
            rounding_slack(out, std::max(std::fabs(range.lo), std::fabs(range.hi)), scale);
        lo = range.lo - slack;
        hi = range.hi + slack;
      }
      if (std::isinf(got) && std::fabs(want) > overflow) {
        // The reference overflows the output type too: an infinity of the right sign is right.
        if ((got > 0) == (want > 0)) {
          ++checker.report.checked;
          continue;
        }
      }
      checker.check(got, want, lo, hi, where);
    }
  }
  checker.report.normwise_error = checker.ref2 > 0 ? std::sqrt(checker.err2 / checker.ref2)
                                                   : std::sqrt(checker.err2);
  return checker.report;
}

// ---- gradients ----------------------------------------------------------------------------------

GradientLengths gradient_lengths(const LayerConfig& config, std::int64_t batch,
                                 std::int64_t length) {
  const std::int64_t pairs = batch * output_length(config, length);
  const std::int64_t F = config.filters;
  return {F + config.kernel_size * config.depth_multiplier, F + pairs, config.kernel_size + pairs,
          pairs};
}

double gradient_tolerance(const LayerConfig& config, const Precision& precision,
                          std::int64_t n, std::int64_t out_length) {
  std::int64_t n_dz = 8;
  if (is_row_reduction(config.activation)) {
    n_dz += config.data_format == DataFormat::channels_last ? config.filters : out_length;
  }
  return kToleranceFactor *
         (2 * unit_roundoff(precision) + static_cast<double>(n + n_dz) * std::ldexp(1.0, -24));
}

std::string GradientReport::summary() const {
  return detail::str("dx: ", input.summary(), "\nd depthwise: ", depthwise.summary(),
                     "\nd pointwise: ", pointwise.summary(), "\nd bias: ", bias.summary());
}

namespace {

// Every element of a host view (row-major over its shape) against the reference array.
Report compare_gradient(const char* name, const ConstTensorView& got,
                        const std::vector<double>& want, const std::vector<double>& magnitude,
                        double tol) {
  Checker checker;
  const std::int64_t n0 = got.shape[0];
  const std::int64_t n1 = got.rank > 1 ? got.shape[1] : 1;
  const std::int64_t n2 = got.rank > 2 ? got.shape[2] : 1;
  if (static_cast<std::int64_t>(want.size()) != n0 * n1 * n2) {
    detail::fail(name, detail::str(n0 * n1 * n2, " elements"),
                 detail::str("the reference's ", want.size()));
  }
  const double tiny = got.dtype == DType::f16 ? std::ldexp(1.0, -14) : std::ldexp(1.0, -126);
  std::size_t i = 0;
  for (std::int64_t a = 0; a < n0; ++a) {
    for (std::int64_t b = 0; b < n1; ++b) {
      for (std::int64_t c = 0; c < n2; ++c, ++i) {
        const double ref = want[i];
        const double allowed =
            tol * magnitude[i] + storage_roundoff(got.dtype) * std::fabs(ref) + tiny;
        const double value = detail::load_element(got.data, got.dtype, got.offset(a, b, c));
        checker.check(value, ref, ref - allowed, ref + allowed, [&] {
          return detail::str(name, "[", a, ", ", b, ", ", c, "] ref=", ref, " S=", magnitude[i]);
        });
      }
    }
  }
  checker.report.normwise_error = checker.ref2 > 0 ? std::sqrt(checker.err2 / checker.ref2)
                                                   : std::sqrt(checker.err2);
  return checker.report;
}

}  // namespace

GradientReport compare_gradients(const LayerConfig& config, std::int64_t batch,
                                 std::int64_t length, const Precision& precision,
                                 const reference::GradientDetail& ref, const Gradients& got,
                                 bool trainable) {
  const GradientLengths n = gradient_lengths(config, batch, length);
  const std::int64_t lout = output_length(config, length);
  auto tol = [&](std::int64_t len) { return gradient_tolerance(config, precision, len, lout); };
  GradientReport r;
  r.input = compare_gradient("dx", got.input, ref.input, ref.input_magnitude, tol(n.input));
  if (!trainable) return r;
  r.depthwise = compare_gradient("d depthwise", got.depthwise, ref.depthwise,
                                 ref.depthwise_magnitude, tol(n.depthwise));
  r.pointwise = compare_gradient("d pointwise", got.pointwise, ref.pointwise,
                                 ref.pointwise_magnitude, tol(n.pointwise));
  if (config.use_bias) {
    r.bias = compare_gradient("d bias", got.bias, ref.bias, ref.bias_magnitude, tol(n.bias));
  }
  return r;
}

}  // namespace sepconv::accuracy
