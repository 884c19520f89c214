// The elementwise Keras activations (SPEC.md section 7) as functors, one per `Activation`, each
// templated over the compute type T (float in the kernels; float and double on the host), so the
// epilogue kernel and its host emulation evaluate the very same expressions.
//
// Forms are chosen for float: no overflow for large |x| (softplus, sigmoid, squareplus), no
// cancellation where a stable form exists (expm1 for elu/selu/celu, (x+3)/6 for hard_sigmoid,
// 2/(sqrt(x^2+4)-x) for squareplus at x < 0). gelu is the exact erf form, as Keras's string
// activation is; never the tanh approximation. tanh_shrink keeps x - tanh x: its cancellation at
// small |x| is what accuracy::evaluation_scale allows for.
//
// NaN propagates wherever the reference (std::max / std::min / std::clamp in float64) lets it.
// softmax and log_softmax are row reductions, not functors: see epilogue_rows.cuh.
#pragma once

#include <cmath>

#include "detail/host_device.h"
#include "detail/checks.h"
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
// Building blocks several activations share.

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
/// Keras 3: 0 for x <= -3, 1 for x >= 3, else x/6 + 1/2, evaluated as (x + 3)/6 (no cancellation
/// near -3).
template <class T>
SEPCONV_HOST_DEVICE T hard_sigmoid(T x) {
  if (x <= T(-3)) return T(0);
  if (x >= T(3)) return T(1);
  return (x + T(3)) / T(6);
}
}  // namespace act

/// The functor of one elementwise activation: `ActivationFn<A>{}(x)` for T = float or double.
template <Activation A>
struct ActivationFn;

template <>
struct ActivationFn<Activation::linear> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return x; }
};
template <>
struct ActivationFn<Activation::relu> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return x < T(0) ? T(0) : x; }
};
template <>
struct ActivationFn<Activation::relu6> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const {
    const T r = x < T(0) ? T(0) : x;
    return T(6) < r ? T(6) : r;
  }
};
template <>
struct ActivationFn<Activation::leaky_relu> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return x >= T(0) ? x : T(0.2) * x; }
};
template <>
struct ActivationFn<Activation::elu> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return x > T(0) ? x : math::expm1(x); }
};
template <>
struct ActivationFn<Activation::selu> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const {
    const T scale = T(1.0507009873554804934193349852946);
    const T scale_alpha = T(1.7580993408473768599402175208123);  // scale * 1.67326324235437728...
    return x > T(0) ? scale * x : scale_alpha * math::expm1(x);
  }
};
template <>
struct ActivationFn<Activation::softplus> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return act::softplus(x); }
};
template <>
struct ActivationFn<Activation::softsign> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return x / (T(1) + math::abs(x)); }
};
template <>
struct ActivationFn<Activation::silu> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return x * act::sigmoid(x); }
};
template <>
struct ActivationFn<Activation::gelu> {
  // 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2): erfc keeps the tail for x < 0.
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const {
    return T(0.5) * x * math::erfc(-x * T(0.70710678118654752440084436210485));
  }
};
template <>
struct ActivationFn<Activation::tanh> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return math::tanh(x); }
};
template <>
struct ActivationFn<Activation::sigmoid> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return act::sigmoid(x); }
};
template <>
struct ActivationFn<Activation::exponential> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return math::exp(x); }
};
template <>
struct ActivationFn<Activation::hard_sigmoid> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return act::hard_sigmoid(x); }
};
template <>
struct ActivationFn<Activation::hard_sigmoid_tf_keras> {
  // clip(0.2 x + 0.5, 0, 1) = 0.2 (x + 2.5) clipped: no cancellation near -2.5.
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const {
    if (x <= T(-2.5)) return T(0);
    if (x >= T(2.5)) return T(1);
    return T(0.2) * (x + T(2.5));
  }
};
template <>
struct ActivationFn<Activation::hard_silu> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return x * act::hard_sigmoid(x); }
};
template <>
struct ActivationFn<Activation::mish> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return x * math::tanh(act::softplus(x)); }
};
template <>
struct ActivationFn<Activation::celu> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const {
    return x > T(0) ? x : math::expm1(x);  // max(x,0) + expm1(min(x,0)), alpha = 1
  }
};
template <>
struct ActivationFn<Activation::squareplus> {
  // (x + sqrt(x^2 + 4)) / 2; for x < 0 the equal 2 / (sqrt(x^2 + 4) - x) avoids cancellation.
  // hypot keeps x^2 from overflowing.
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const {
    const T h = math::hypot(x, T(2));
    return x >= T(0) ? T(0.5) * x + T(0.5) * h : T(2) / (h - x);
  }
};
template <>
struct ActivationFn<Activation::soft_shrink> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const {
    return x > T(0.5) ? x - T(0.5) : x < T(-0.5) ? x + T(0.5) : T(0);
  }
};
template <>
struct ActivationFn<Activation::hard_shrink> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return math::abs(x) > T(0.5) ? x : T(0); }
};
template <>
struct ActivationFn<Activation::tanh_shrink> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return x - math::tanh(x); }
};
template <>
struct ActivationFn<Activation::hard_tanh> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const { return x < T(-1) ? T(-1) : T(1) < x ? T(1) : x; }
};
template <>
struct ActivationFn<Activation::sparse_plus> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const {
    if (x <= T(-1)) return T(0);
    if (x >= T(1)) return x;
    const T u = x + T(1);
    return u * u * T(0.25);
  }
};
template <>
struct ActivationFn<Activation::sparse_sigmoid> {
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const {
    if (x <= T(-1)) return T(0);
    if (x >= T(1)) return T(1);
    return (x + T(1)) * T(0.5);
  }
};
template <>
struct ActivationFn<Activation::log_sigmoid> {
  // -softplus(-x) = min(x, 0) - log1p(e^-|x|).
  template <class T>
  SEPCONV_HOST_DEVICE T operator()(T x) const {
    return (x < T(0) ? x : T(0)) - math::log1p(math::exp(-math::abs(x)));
  }
};

/// Calls `f(ActivationFn<a>{})` for the runtime value `a`: the one switch from a runtime
/// activation to the compile-time functor, so each kernel is instantiated once per activation.
/// Host code only. Throws InvalidArgument for softmax / log_softmax, which are not elementwise.
template <class F>
decltype(auto) dispatch_activation(Activation a, F&& f) {
  switch (a) {
    case Activation::linear: return f(ActivationFn<Activation::linear>{});
    case Activation::relu: return f(ActivationFn<Activation::relu>{});
    case Activation::relu6: return f(ActivationFn<Activation::relu6>{});
    case Activation::leaky_relu: return f(ActivationFn<Activation::leaky_relu>{});
    case Activation::elu: return f(ActivationFn<Activation::elu>{});
    case Activation::selu: return f(ActivationFn<Activation::selu>{});
    case Activation::softplus: return f(ActivationFn<Activation::softplus>{});
    case Activation::softsign: return f(ActivationFn<Activation::softsign>{});
    case Activation::silu: return f(ActivationFn<Activation::silu>{});
    case Activation::gelu: return f(ActivationFn<Activation::gelu>{});
    case Activation::tanh: return f(ActivationFn<Activation::tanh>{});
    case Activation::sigmoid: return f(ActivationFn<Activation::sigmoid>{});
    case Activation::exponential: return f(ActivationFn<Activation::exponential>{});
    case Activation::hard_sigmoid: return f(ActivationFn<Activation::hard_sigmoid>{});
    case Activation::hard_sigmoid_tf_keras:
      return f(ActivationFn<Activation::hard_sigmoid_tf_keras>{});
    case Activation::hard_silu: return f(ActivationFn<Activation::hard_silu>{});
    case Activation::mish: return f(ActivationFn<Activation::mish>{});
    case Activation::celu: return f(ActivationFn<Activation::celu>{});
    case Activation::squareplus: return f(ActivationFn<Activation::squareplus>{});
    case Activation::soft_shrink: return f(ActivationFn<Activation::soft_shrink>{});
    case Activation::hard_shrink: return f(ActivationFn<Activation::hard_shrink>{});
    case Activation::tanh_shrink: return f(ActivationFn<Activation::tanh_shrink>{});
    case Activation::hard_tanh: return f(ActivationFn<Activation::hard_tanh>{});
    case Activation::sparse_plus: return f(ActivationFn<Activation::sparse_plus>{});
    case Activation::sparse_sigmoid: return f(ActivationFn<Activation::sparse_sigmoid>{});
    case Activation::log_sigmoid: return f(ActivationFn<Activation::log_sigmoid>{});
    case Activation::softmax:
    case Activation::log_softmax: break;
  }
  fail("activation", str('"', to_string(a), '"'), "an elementwise activation");
}

}  // namespace sepconv::detail
