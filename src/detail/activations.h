// The activation table: one entry per Keras string activation, in one place. Everything that
// depends on the activation reads it:
//   name              the Keras spelling (parse_activation, to_string, the CLI, error messages);
//   row_reduction     softmax / log_softmax reduce along y's last axis (the row kernel; never
//                     split along that axis);
//   gemm_relu         cuBLASLt's epilogue may apply it (RELU / RELU_BIAS): relu alone;
//   apply<T>(x)       the kernels' form (float on the GPU; the host emulation runs the same code);
//   reference(z)      float64, straight from the Keras definition (the CPU reference): kept apart
//                     from the kernels' numerically careful forms so that each checks the other;
//   interior_minimum  the one minimum inside the domain of a non-monotone activation, else NaN
//                     (the accuracy rule evaluates f there when an interval straddles it);
//   evaluation_scale  what the rounding of evaluating f(z) in float scales with (the accuracy
//                     rule): |f(z)|, larger where the formula cancels;
//   derivative<T>(z)  the backward pass: f'(z) in the kernels' float form, from the
//                     pre-activation z the training forward keeps (f(z) is recomputed where a
//                     formula needs it); reference_derivative(z) is the float64 formula,
//                     derivative_scale what its float rounding scales with (the gradient accuracy
//                     rule); softmax and log_softmax have the row form instead (row_term,
//                     row_gradient).
// Adding an activation is an enumerator in sepconv/types.h, one ActivationEntry here and its
// tests; an enumerator without an entry does not compile (kActivationNames below).
//
// The kernels' forms are chosen for float: no overflow for large |x| (softplus, sigmoid,
// squareplus), no cancellation where a stable form exists (expm1 for elu/selu/celu, (x+3)/6 for
// hard_sigmoid, 2/(sqrt(x^2+4)-x) for squareplus at x < 0). gelu is the exact erf form, as Keras's
// string activation is; never the tanh approximation. NaN propagates wherever the reference
// (std::max / std::min / std::clamp in float64) lets it.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>

#include "detail/host_device.h"
#include "sepconv/types.h"

namespace sepconv::detail {

/// The C math functions for float and double under one name each, for host and device code.
namespace math {
SEPCONV_HOST_DEVICE inline float exp(float x) { return ::expf(x); }
SEPCONV_HOST_DEVICE inline double exp(double x) { return ::exp(x); }
SEPCONV_HOST_DEVICE inline float expm1(float x) { return ::expm1f(x); }
SEPCONV_HOST_DEVICE inline double expm1(double x) { return ::expm1(x); }
SEPCONV_HOST_DEVICE inline float log(float x) { return ::logf(x); }
SEPCONV_HOST_DEVICE inline double log(double x) { return ::log(x); }
SEPCONV_HOST_DEVICE inline float log1p(float x) { return ::log1pf(x); }
SEPCONV_HOST_DEVICE inline double log1p(double x) { return ::log1p(x); }
SEPCONV_HOST_DEVICE inline float tanh(float x) { return ::tanhf(x); }
SEPCONV_HOST_DEVICE inline double tanh(double x) { return ::tanh(x); }
SEPCONV_HOST_DEVICE inline float erfc(float x) { return ::erfcf(x); }
SEPCONV_HOST_DEVICE inline double erfc(double x) { return ::erfc(x); }
SEPCONV_HOST_DEVICE inline float hypot(float x, float y) { return ::hypotf(x, y); }
SEPCONV_HOST_DEVICE inline double hypot(double x, double y) { return ::hypot(x, y); }
SEPCONV_HOST_DEVICE inline float abs(float x) { return ::fabsf(x); }
SEPCONV_HOST_DEVICE inline double abs(double x) { return ::fabs(x); }
}  // namespace math

namespace act {
// Building blocks several kernel forms share.

/// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
template <class T>
SEPCONV_HOST_DEVICE T softplus(T x) {
  return (x < T(0) ? T(0) : x) + math::log1p(math::exp(-math::abs(x)));
}
/// 1 / (1 + e^-x), with the exponential of a non-positive number only.
template <class T>
SEPCONV_HOST_DEVICE T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + math::exp(-x));
  const T e = math::exp(x);
  return e / (T(1) + e);
}
/// sech^2 x = 1 - tanh^2 x = 4 / (e^x + e^-x)^2, without the cancellation of 1 - tanh^2 for
/// large |x| (cosh overflows to inf for |x| > 89: the result is then 0, as it should be).
template <class T>
SEPCONV_HOST_DEVICE T sech2(T x) {
  const T e = math::exp(-math::abs(x));  // e^-|x| in (0, 1]
  const T d = T(1) + e * e;              // (e^|x| + e^-|x|) e^-|x|
  return T(4) * e * e / (d * d);
}
/// Keras 3: 0 for x <= -3, 1 for x >= 3, else x/6 + 1/2, evaluated as (x + 3)/6 (no cancellation
/// near -3).
template <class T>
SEPCONV_HOST_DEVICE T hard_sigmoid(T x) {
  if (x <= T(-3)) return T(0);
  if (x >= T(3)) return T(1);
  return (x + T(3)) / T(6);
}
}  // namespace act

/// The reference's building blocks, float64 and plain.
namespace ref {
inline double softplus(double z) { return std::max(z, 0.0) + std::log1p(std::exp(-std::fabs(z))); }
inline double sigmoid(double z) {
  return z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z));
}
inline double hard_sigmoid(double z) { return z <= -3 ? 0.0 : z >= 3 ? 1.0 : z / 6 + 0.5; }
}  // namespace ref

/// The defaults of an elementwise entry.
struct Elementwise {
  static constexpr bool row_reduction = false;
  static constexpr bool gemm_relu = false;
  static constexpr double interior_minimum = std::numeric_limits<double>::quiet_NaN();
  static double evaluation_scale(double /*z*/, double f) { return std::fabs(f); }
  /// What the rounding of evaluating f'(z) in float scales with: |f'(z)|, larger where the
  /// derivative's formula is a sum of terms of both signs (silu, gelu, mish, hard_silu,
  /// squareplus override it with the sum of the terms' magnitudes).
  static double derivative_scale(double /*z*/, double fprime) { return std::fabs(fprime); }
};

/// One entry per Activation (see the file comment); no primary definition.
template <Activation A>
struct ActivationEntry;

template <>
struct ActivationEntry<Activation::linear> : Elementwise {
  static constexpr std::string_view name = "linear";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return x; }
  static double reference(double z) { return z; }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T /*x*/) {
    return T(1);
  }
  static double reference_derivative(double /*z*/) { return 1.0; }
};
template <>
struct ActivationEntry<Activation::relu> : Elementwise {
  static constexpr std::string_view name = "relu";
  static constexpr bool gemm_relu = true;
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return x < T(0) ? T(0) : x; }
  static double reference(double z) { return std::max(z, 0.0); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x > T(0) ? T(1) : T(0);
  }
  static double reference_derivative(double z) { return z > 0 ? 1.0 : 0.0; }
};
template <>
struct ActivationEntry<Activation::relu6> : Elementwise {
  static constexpr std::string_view name = "relu6";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) {
    const T r = x < T(0) ? T(0) : x;
    return T(6) < r ? T(6) : r;
  }
  static double reference(double z) { return std::min(std::max(z, 0.0), 6.0); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x > T(0) && x < T(6) ? T(1) : T(0);
  }
  static double reference_derivative(double z) { return z > 0 && z < 6 ? 1.0 : 0.0; }
};
template <>
struct ActivationEntry<Activation::leaky_relu> : Elementwise {
  static constexpr std::string_view name = "leaky_relu";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return x >= T(0) ? x : T(0.2) * x; }
  static double reference(double z) { return z >= 0 ? z : 0.2 * z; }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x >= T(0) ? T(1) : T(0.2);
  }
  static double reference_derivative(double z) { return z >= 0 ? 1.0 : 0.2; }
};
template <>
struct ActivationEntry<Activation::elu> : Elementwise {
  static constexpr std::string_view name = "elu";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return x > T(0) ? x : math::expm1(x); }
  static double reference(double z) { return z > 0 ? z : std::expm1(z); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x > T(0) ? T(1) : math::exp(x);
  }
  static double reference_derivative(double z) { return z > 0 ? 1.0 : std::exp(z); }
};
template <>
struct ActivationEntry<Activation::selu> : Elementwise {
  static constexpr std::string_view name = "selu";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) {
    const T scale = T(1.0507009873554804934193349852946);
    const T scale_alpha = T(1.7580993408473768599402175208123);  // scale * 1.67326324235437728...
    return x > T(0) ? scale * x : scale_alpha * math::expm1(x);
  }
  static double reference(double z) {
    constexpr double kAlpha = 1.6732632423543772848170429916717;
    constexpr double kScale = 1.0507009873554804934193349852946;
    return kScale * (z > 0 ? z : kAlpha * std::expm1(z));
  }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x > T(0) ? T(1.0507009873554804934193349852946)
                    : T(1.7580993408473768599402175208123) * math::exp(x);
  }
  static double reference_derivative(double z) {
    return 1.0507009873554804934193349852946 *
           (z > 0 ? 1.0 : 1.6732632423543772848170429916717 * std::exp(z));
  }
};
template <>
struct ActivationEntry<Activation::softplus> : Elementwise {
  static constexpr std::string_view name = "softplus";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return act::softplus(x); }
  static double reference(double z) { return ref::softplus(z); }
  static double evaluation_scale(double z, double f) { return std::fabs(f) + std::fabs(z); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return act::sigmoid(x);
  }
  static double reference_derivative(double z) { return 1 / (1 + std::exp(-z)); }
};
template <>
struct ActivationEntry<Activation::softsign> : Elementwise {
  static constexpr std::string_view name = "softsign";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return x / (T(1) + math::abs(x)); }
  static double reference(double z) { return z / (1 + std::fabs(z)); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return T(1) / ((T(1) + math::abs(x)) * (T(1) + math::abs(x)));
  }
  static double reference_derivative(double z) {
    return 1 / ((1 + std::fabs(z)) * (1 + std::fabs(z)));
  }
};
template <>
struct ActivationEntry<Activation::silu> : Elementwise {
  static constexpr std::string_view name = "silu";
  static constexpr double interior_minimum = -1.2784645355049555;
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return x * act::sigmoid(x); }
  static double reference(double z) { return z * ref::sigmoid(z); }
  static double evaluation_scale(double z, double f) { return std::max(std::fabs(f), std::fabs(z)); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return act::sigmoid(x) * (T(1) + x * act::sigmoid(-x));
  }
  static double reference_derivative(double z) {
    return ref::sigmoid(z) * (1 + z * (1 - ref::sigmoid(z)));
  }
  static double derivative_scale(double z, double /*fprime*/) {
    return ref::sigmoid(z) * (1 + std::fabs(z) * (1 - ref::sigmoid(z)));
  }
};
template <>
struct ActivationEntry<Activation::gelu> : Elementwise {
  static constexpr std::string_view name = "gelu";
  static constexpr double interior_minimum = -0.7517915159669517;
  static constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;  // 1 / sqrt(2 pi)
  // 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2): erfc keeps the tail for x < 0.
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) {
    return T(0.5) * x * math::erfc(-x * T(0.70710678118654752440084436210485));
  }
  static double reference(double z) { return 0.5 * z * std::erfc(-z / std::sqrt(2.0)); }
  static double evaluation_scale(double z, double f) { return std::max(std::fabs(f), std::fabs(z)); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return T(0.5) * math::erfc(-x * T(0.70710678118654752440084436210485)) +
           x * T(0.39894228040143267793994605993438) * math::exp(T(-0.5) * x * x);
  }
  static double reference_derivative(double z) {
    return 0.5 * std::erfc(-z / std::sqrt(2.0)) + z * kInvSqrt2Pi * std::exp(-0.5 * z * z);
  }
  // The terms' magnitudes; e^(-z^2/2) in float also carries the rounding of its argument,
  // relative z^2/2 units: hence the factor (1 + z^2) on the second term.
  static double derivative_scale(double z, double /*fprime*/) {
    return 0.5 * std::erfc(-z / std::sqrt(2.0)) +
           std::fabs(z) * (1 + z * z) * kInvSqrt2Pi * std::exp(-0.5 * z * z);
  }
};
template <>
struct ActivationEntry<Activation::tanh> : Elementwise {
  static constexpr std::string_view name = "tanh";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return math::tanh(x); }
  static double reference(double z) { return std::tanh(z); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return act::sech2(x);
  }
  static double reference_derivative(double z) { return 1 - std::tanh(z) * std::tanh(z); }
};
template <>
struct ActivationEntry<Activation::sigmoid> : Elementwise {
  static constexpr std::string_view name = "sigmoid";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return act::sigmoid(x); }
  static double reference(double z) { return ref::sigmoid(z); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return act::sigmoid(x) * act::sigmoid(-x);
  }
  static double reference_derivative(double z) { return ref::sigmoid(z) * (1 - ref::sigmoid(z)); }
};
template <>
struct ActivationEntry<Activation::exponential> : Elementwise {
  static constexpr std::string_view name = "exponential";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return math::exp(x); }
  static double reference(double z) { return std::exp(z); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return math::exp(x);
  }
  static double reference_derivative(double z) { return std::exp(z); }
};
template <>
struct ActivationEntry<Activation::hard_sigmoid> : Elementwise {
  static constexpr std::string_view name = "hard_sigmoid";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return act::hard_sigmoid(x); }
  static double reference(double z) { return ref::hard_sigmoid(z); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x > T(-3) && x < T(3) ? T(1) / T(6) : T(0);
  }
  static double reference_derivative(double z) { return z > -3 && z < 3 ? 1.0 / 6 : 0.0; }
};
template <>
struct ActivationEntry<Activation::hard_sigmoid_tf_keras> : Elementwise {
  static constexpr std::string_view name = "hard_sigmoid_tf_keras";
  // clip(0.2 x + 0.5, 0, 1) = 0.2 (x + 2.5) clipped: no cancellation near -2.5.
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) {
    if (x <= T(-2.5)) return T(0);
    if (x >= T(2.5)) return T(1);
    return T(0.2) * (x + T(2.5));
  }
  static double reference(double z) { return std::clamp(0.2 * z + 0.5, 0.0, 1.0); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x > T(-2.5) && x < T(2.5) ? T(0.2) : T(0);
  }
  static double reference_derivative(double z) { return z > -2.5 && z < 2.5 ? 0.2 : 0.0; }
};
template <>
struct ActivationEntry<Activation::hard_silu> : Elementwise {
  static constexpr std::string_view name = "hard_silu";
  static constexpr double interior_minimum = -1.5;
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return x * act::hard_sigmoid(x); }
  static double reference(double z) { return z * ref::hard_sigmoid(z); }
  static double evaluation_scale(double z, double f) { return std::max(std::fabs(f), std::fabs(z)); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x <= T(-3) ? T(0) : x >= T(3) ? T(1) : (T(2) * x + T(3)) / T(6);
  }
  static double reference_derivative(double z) {
    return z <= -3 ? 0.0 : z >= 3 ? 1.0 : ref::hard_sigmoid(z) + z / 6;
  }
  static double derivative_scale(double z, double /*fprime*/) {
    return z <= -3 ? 0.0 : z >= 3 ? 1.0 : ref::hard_sigmoid(z) + std::fabs(z) / 6;
  }
};
template <>
struct ActivationEntry<Activation::mish> : Elementwise {
  static constexpr std::string_view name = "mish";
  static constexpr double interior_minimum = -1.1924311818572093;
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return x * math::tanh(act::softplus(x)); }
  static double reference(double z) { return z * std::tanh(ref::softplus(z)); }
  static double evaluation_scale(double z, double f) { return std::max(std::fabs(f), std::fabs(z)); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return math::tanh(act::softplus(x)) + x * act::sech2(act::softplus(x)) * act::sigmoid(x);
  }
  static double reference_derivative(double z) {
    return std::tanh(ref::softplus(z)) +
           z * (1 - std::pow(std::tanh(ref::softplus(z)), 2)) * ref::sigmoid(z);
  }
  static double derivative_scale(double z, double /*fprime*/) {
    return std::fabs(std::tanh(ref::softplus(z))) +
           std::fabs(z) * (1 - std::pow(std::tanh(ref::softplus(z)), 2)) * ref::sigmoid(z);
  }
};
template <>
struct ActivationEntry<Activation::celu> : Elementwise {
  static constexpr std::string_view name = "celu";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) {
    return x > T(0) ? x : math::expm1(x);  // max(x,0) + expm1(min(x,0)), alpha = 1
  }
  static double reference(double z) { return std::max(z, 0.0) + std::expm1(std::min(z, 0.0)); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x > T(0) ? T(1) : math::exp(x);
  }
  static double reference_derivative(double z) { return z > 0 ? 1.0 : std::exp(z); }
};
template <>
struct ActivationEntry<Activation::squareplus> : Elementwise {
  static constexpr std::string_view name = "squareplus";
  // (x + sqrt(x^2 + 4)) / 2; for x < 0 the equal 2 / (sqrt(x^2 + 4) - x) avoids cancellation.
  // hypot keeps x^2 from overflowing.
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) {
    const T h = math::hypot(x, T(2));
    return x >= T(0) ? T(0.5) * x + T(0.5) * h : T(2) / (h - x);
  }
  static double reference(double z) { return (z + std::sqrt(z * z + 4)) / 2; }
  static double evaluation_scale(double z, double /*f*/) {
    return std::fabs(z) + std::sqrt(z * z + 4);
  }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return T(0.5) + T(0.5) * x / math::hypot(x, T(2));
  }
  static double reference_derivative(double z) { return (1 + z / std::sqrt(z * z + 4)) / 2; }
  static double derivative_scale(double z, double /*fprime*/) {
    return (1 + std::fabs(z) / std::sqrt(z * z + 4)) / 2;
  }
};
template <>
struct ActivationEntry<Activation::soft_shrink> : Elementwise {
  static constexpr std::string_view name = "soft_shrink";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) {
    return x > T(0.5) ? x - T(0.5) : x < T(-0.5) ? x + T(0.5) : T(0);
  }
  static double reference(double z) { return z > 0.5 ? z - 0.5 : z < -0.5 ? z + 0.5 : 0.0; }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x > T(0.5) || x < T(-0.5) ? T(1) : T(0);
  }
  static double reference_derivative(double z) { return z > 0.5 || z < -0.5 ? 1.0 : 0.0; }
};
template <>
struct ActivationEntry<Activation::hard_shrink> : Elementwise {
  static constexpr std::string_view name = "hard_shrink";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return math::abs(x) > T(0.5) ? x : T(0); }
  static double reference(double z) { return std::fabs(z) > 0.5 ? z : 0.0; }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return math::abs(x) > T(0.5) ? T(1) : T(0);
  }
  static double reference_derivative(double z) { return std::fabs(z) > 0.5 ? 1.0 : 0.0; }
};
template <>
struct ActivationEntry<Activation::tanh_shrink> : Elementwise {
  static constexpr std::string_view name = "tanh_shrink";
  // x - tanh x: its cancellation at small |x| is what evaluation_scale allows for.
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return x - math::tanh(x); }
  static double reference(double z) { return z - std::tanh(z); }
  static double evaluation_scale(double z, double /*f*/) {
    return std::fabs(z) + std::fabs(std::tanh(z));
  }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return math::tanh(x) * math::tanh(x);
  }
  static double reference_derivative(double z) { return std::tanh(z) * std::tanh(z); }
};
template <>
struct ActivationEntry<Activation::hard_tanh> : Elementwise {
  static constexpr std::string_view name = "hard_tanh";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) { return x < T(-1) ? T(-1) : T(1) < x ? T(1) : x; }
  static double reference(double z) { return std::clamp(z, -1.0, 1.0); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x < T(-1) || T(1) < x ? T(0) : T(1);
  }
  static double reference_derivative(double z) { return z < -1 || z > 1 ? 0.0 : 1.0; }
};
template <>
struct ActivationEntry<Activation::sparse_plus> : Elementwise {
  static constexpr std::string_view name = "sparse_plus";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) {
    if (x <= T(-1)) return T(0);
    if (x >= T(1)) return x;
    const T u = x + T(1);
    return u * u * T(0.25);
  }
  static double reference(double z) { return z <= -1 ? 0.0 : z >= 1 ? z : (z + 1) * (z + 1) / 4; }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x <= T(-1) ? T(0) : x >= T(1) ? T(1) : (x + T(1)) * T(0.5);
  }
  static double reference_derivative(double z) {
    return z <= -1 ? 0.0 : z >= 1 ? 1.0 : (z + 1) / 2;
  }
};
template <>
struct ActivationEntry<Activation::sparse_sigmoid> : Elementwise {
  static constexpr std::string_view name = "sparse_sigmoid";
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) {
    if (x <= T(-1)) return T(0);
    if (x >= T(1)) return T(1);
    return (x + T(1)) * T(0.5);
  }
  static double reference(double z) { return z <= -1 ? 0.0 : z >= 1 ? 1.0 : (z + 1) / 2; }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return x > T(-1) && x < T(1) ? T(0.5) : T(0);
  }
  static double reference_derivative(double z) { return z > -1 && z < 1 ? 0.5 : 0.0; }
};
template <>
struct ActivationEntry<Activation::log_sigmoid> : Elementwise {
  static constexpr std::string_view name = "log_sigmoid";
  // -softplus(-x) = min(x, 0) - log1p(e^-|x|).
  template <class T>
  SEPCONV_HOST_DEVICE static T apply(T x) {
    return (x < T(0) ? x : T(0)) - math::log1p(math::exp(-math::abs(x)));
  }
  static double reference(double z) { return -ref::softplus(-z); }
  static double evaluation_scale(double z, double f) { return std::fabs(f) + std::fabs(z); }
  template <class T>
  SEPCONV_HOST_DEVICE static T derivative(T x) {
    return act::sigmoid(-x);
  }
  static double reference_derivative(double z) { return 1 - ref::sigmoid(z); }
};

/// The defaults of a row reduction: it is no elementwise function (the row kernel and the
/// reference's row pass compute it).
struct RowReduction {
  static constexpr bool row_reduction = true;
  static constexpr bool gemm_relu = false;
  static constexpr double interior_minimum = std::numeric_limits<double>::quiet_NaN();
};
// Their derivative slot is the backward along a row, from the row's probabilities p = softmax(z)
// and the output gradient dy: dz_i = row_gradient(p_i, dy_i, sum over the row of row_term(p, dy)).
template <>
struct ActivationEntry<Activation::softmax> : RowReduction {
  static constexpr std::string_view name = "softmax";
  /// dz_i = p_i (dy_i - sum_j p_j dy_j).
  template <class T>
  SEPCONV_HOST_DEVICE static T row_term(T p, T dy) {
    return p * dy;
  }
  template <class T>
  SEPCONV_HOST_DEVICE static T row_gradient(T p, T dy, T sum) {
    return p * (dy - sum);
  }
};
template <>
struct ActivationEntry<Activation::log_softmax> : RowReduction {
  static constexpr std::string_view name = "log_softmax";
  /// dz_i = dy_i - p_i sum_j dy_j.
  template <class T>
  SEPCONV_HOST_DEVICE static T row_term(T /*p*/, T dy) {
    return dy;
  }
  template <class T>
  SEPCONV_HOST_DEVICE static T row_gradient(T p, T dy, T sum) {
    return dy - p * sum;
  }
};

// ---- reading the table ---------------------------------------------------------------------------

/// The functor the kernels apply: `ActivationFn<A>{}(x)` for T = float or double.
template <Activation A>
struct ActivationFn {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const {
    return ActivationEntry<A>::apply(x);
  }
};

/// The table's host columns for one activation, readable at run time.
struct ActivationInfo {
  std::string_view name;
  bool row_reduction = false;
  bool gemm_relu = false;
  double interior_minimum = 0;
  double (*reference)(double) = nullptr;               ///< null for row reductions
  double (*evaluation_scale)(double, double) = nullptr;  ///< null for row reductions
  double (*reference_derivative)(double) = nullptr;      ///< f'(z); null for row reductions
  double (*derivative_scale)(double, double) = nullptr;  ///< (z, f'(z)); null for row reductions
};

template <Activation A>
constexpr ActivationInfo info_of() {
  using E = ActivationEntry<A>;
  if constexpr (E::row_reduction) {
    return {E::name, true, false, E::interior_minimum, nullptr, nullptr, nullptr, nullptr};
  } else {
    return {E::name,
            false,
            E::gemm_relu,
            E::interior_minimum,
            &E::reference,
            &E::evaluation_scale,
            &E::reference_derivative,
            &E::derivative_scale};
  }
}

template <std::size_t... I>
constexpr std::array<ActivationInfo, sizeof...(I)> activation_table(std::index_sequence<I...>) {
  return {info_of<static_cast<Activation>(I)>()...};
}

/// Every activation's entry, indexed by Activation: instantiating it needs an entry for every
/// enumerator, so a missing one does not compile.
inline constexpr std::array<ActivationInfo, kActivationCount> kActivations =
    activation_table(std::make_index_sequence<kActivationCount>{});

/// The entry of a runtime value.
constexpr const ActivationInfo& activation_info(Activation a) {
  return kActivations[static_cast<std::size_t>(a)];
}

template <std::size_t... I>
constexpr bool row_reductions_agree(std::index_sequence<I...>) {
  return ((kActivations[I].row_reduction == is_row_reduction(static_cast<Activation>(I))) && ...);
}
static_assert(row_reductions_agree(std::make_index_sequence<kActivationCount>{}),
              "sepconv::is_row_reduction (sepconv/types.h) disagrees with the activation table");

template <class F, std::size_t... I>
void visit_activation(Activation a, F&& f, std::index_sequence<I...>) {
  static_cast<void>(((static_cast<std::size_t>(a) == I
                          ? (f(std::integral_constant<Activation, static_cast<Activation>(I)>{}),
                             true)
                          : false) ||
                     ...));
}

/// InvalidArgument ("activation") for a row reduction where an elementwise activation is needed.
[[noreturn]] void fail_not_elementwise(Activation a);

/// Calls `f(ActivationFn<a>{})` for the runtime value `a`: the one switch from a runtime
/// activation to the compile-time functor, so each kernel is instantiated once per elementwise
/// activation. Host code. Throws InvalidArgument for softmax / log_softmax, which are not
/// elementwise.
template <class F>
void dispatch_activation(Activation a, F&& f) {
  if (activation_info(a).row_reduction) fail_not_elementwise(a);
  visit_activation(a, [&](auto tag) {
    constexpr Activation A = decltype(tag)::value;
    if constexpr (!ActivationEntry<A>::row_reduction) f(ActivationFn<A>{});
  }, std::make_index_sequence<kActivationCount>{});
}

/// f'(z) of an elementwise activation chosen at run time, in the kernels' float form: one switch
/// over the table (every entry, so an activation without a derivative does not compile), for
/// kernels that take the activation as an argument instead of being instantiated per activation
/// (the backward's activation-gradient pass: its cost is memory traffic, not this branch). Row
/// reductions give 0 here: their gradient is a row pass.
template <Activation A, class T>
SEPCONV_HOST_DEVICE T elementwise_derivative(T z) {
  if constexpr (ActivationEntry<A>::row_reduction) {
    return T(0);
  } else {
    return ActivationEntry<A>::derivative(z);
  }
}
template <class T, std::size_t... I>
SEPCONV_HOST_DEVICE T derivative_of(Activation a, T z, std::index_sequence<I...>) {
  T r = T(0);
  static_cast<void>(((static_cast<std::size_t>(a) == I
                          ? (r = elementwise_derivative<static_cast<Activation>(I)>(z), true)
                          : false) ||
                     ...));
  return r;
}
template <class T>
SEPCONV_HOST_DEVICE T derivative_of(Activation a, T z) {
  return derivative_of(a, z, std::make_index_sequence<kActivationCount>{});
}

}  // namespace sepconv::detail
