// sepconv — what "matches the reference" means: the condition-aware bound
// (docs/accuracy.md explains it).
//
// Elementwise relative error fails on outputs near zero, and a fixed absolute tolerance is blind
// to scale, so each pre-activation output z is allowed the error e = tol * S, where S (returned by
// `reference::forward_detail`) is the absolute sum of every term that formed z, and tol depends on
// the dtype, the math mode and the reduction length. The activation is then checked as an
// interval: the output must lie in f([z_ref - e, z_ref + e]), widened by the output's own rounding.
// This is the one place the tolerances are stated; every test and the parity suite use it.
#pragma once

#include <cstdint>
#include <string>

#include "sepconv/backward.h"
#include "sepconv/config.h"
#include "sepconv/reference.h"

namespace sepconv::accuracy {

/// The constant c of tol = c * n * u. n * u is the classic worst-case bound (Higham, gamma_n) on
/// the relative rounding error of a sum of n products evaluated in a precision with unit roundoff
/// u, measured against the absolute sum of the terms. The factor 2 covers what that model leaves
/// out: the intermediate D is rounded once more before the GEMM reads it, the bias addition, and
/// accumulators that truncate instead of rounding (tensor cores). It is not tuned to make tests
/// pass; a violation of it is a bug (an index, a missing term, a race), not noise.
inline constexpr double kToleranceFactor = 2.0;

/// Unit roundoff u of the arithmetic a layer of this dtype and math mode computes with:
/// float32 exact 2^-24; TF32 2^-11 (10-bit mantissa of the GEMM inputs); float16 2^-11 (storage of
/// D and the GEMM inputs); bfloat16 2^-8 (8-bit significand of D and the GEMM inputs). With a
/// float32 intermediate a 16-bit layer's D and GEMM are float32 (or TF32): 2^-24 (2^-11); its
/// inputs are exact in float32 and its output's rounding is counted separately.
[[nodiscard]] SEPCONV_EXPORT double unit_roundoff(DType dtype, MathMode mode = MathMode::exact) noexcept;
[[nodiscard]] SEPCONV_EXPORT double unit_roundoff(const Precision& precision) noexcept;

/// Unit roundoff of storing a value in `dtype` (2^-24, 2^-11, 2^-8).
[[nodiscard]] SEPCONV_EXPORT double storage_roundoff(DType dtype) noexcept;

/// The reduction length n = k + C*M: the depthwise sum has k terms and feeds a sum of C*M.
[[nodiscard]] SEPCONV_EXPORT std::int64_t reduction_length(const LayerConfig& config, std::int64_t in_channels);

/// tol = kToleranceFactor * n * unit_roundoff(dtype, mode).
[[nodiscard]] SEPCONV_EXPORT double tolerance(DType dtype, MathMode mode, std::int64_t reduction_length) noexcept;
[[nodiscard]] SEPCONV_EXPORT double tolerance(const Precision& precision,
                                             std::int64_t reduction_length) noexcept;

/// The range [lo, hi] of an elementwise activation f over the interval [a, b] (a <= b): f at both
/// ends and at each critical point of f inside (gelu, silu, mish, hard_silu have one minimum).
/// Activations with a jump (hard_shrink) are non-decreasing, so both sides of the jump are in
/// range when [a, b] straddles it.
struct Interval {
  double lo = 0;
  double hi = 0;
};
[[nodiscard]] SEPCONV_EXPORT Interval activation_range(Activation activation, double a, double b);

/// The magnitude against which the rounding error of evaluating f(z) in floating point is
/// measured: |f(z)| for well-conditioned formulas, larger where the formula cancels (tanh_shrink:
/// |z| + |tanh z|; gelu: |z|; squareplus: |z| + sqrt(z^2+4)).
[[nodiscard]] SEPCONV_EXPORT double evaluation_scale(Activation activation, double z);

/// The result of comparing an output with the reference.
struct Report {
  std::int64_t checked = 0;      ///< elements compared
  std::int64_t failures = 0;     ///< elements outside their bound (NaN included)
  std::int64_t nan_count = 0;    ///< NaN outputs (never accepted)
  double worst_ratio = 0;        ///< max over elements of |y - y_ref| / the bound's room on that
                                 ///< side of y_ref (<= 1 passes)
  double normwise_error = 0;     ///< ||y - y_ref||_2 / ||y_ref||_2 over finite elements
  std::string first_failures;    ///< up to 5 failing elements, one line each
  /// No element outside its bound (an empty output, checked == 0, is ok: callers that expect
  /// elements check `checked`).
  [[nodiscard]] bool ok() const noexcept { return failures == 0; }
  /// One line: counts, worst ratio, normwise error, and the first failures.
  [[nodiscard]] SEPCONV_EXPORT std::string summary() const;
};

/// Compares the outputs `y` (a host view of the whole output tensor, any dtype) inside the
/// reference window with `ref`, for a layer computed in `dtype` / `mode` with `in_channels` input
/// channels. Rules (docs/accuracy.md): e = tolerance * S per element; elementwise activations
/// must land in activation_range(z_ref -+ e) widened by the output's rounding (one unit of y's
/// dtype) and 8 float32 units of the evaluation scale; softmax p within p_ref * expm1(e_i + max_j
/// e_j), log_softmax within e_i + max_j e_j, plus output rounding; NaN never passes; an infinite
/// output passes only where the reference itself overflows y's dtype.
[[nodiscard]] SEPCONV_EXPORT Report compare(const LayerConfig& config, std::int64_t in_channels,
                                           const Precision& precision, const reference::Detail& ref,
                                           ConstTensorView y);
/// The same for Precision{dtype, mode}.
[[nodiscard]] SEPCONV_EXPORT Report compare(const LayerConfig& config, std::int64_t in_channels, DType dtype,
                             MathMode mode, const reference::Detail& ref, ConstTensorView y);

// ---- gradients (docs/accuracy.md, "Gradients") -------------------------------------------------

/// The float32 accumulation lengths of a backward's gradients: dx sums F products into dD, then
/// k*M terms; the depthwise gradient F, then B*Lout; the pointwise gradient the k terms of D, then
/// B*Lout; the bias gradient B*Lout.
struct GradientLengths {
  std::int64_t input = 0;
  std::int64_t depthwise = 0;
  std::int64_t pointwise = 0;
  std::int64_t bias = 0;
};
[[nodiscard]] SEPCONV_EXPORT GradientLengths gradient_lengths(const LayerConfig& config,
                                                              std::int64_t batch,
                                                              std::int64_t length);

/// The tolerance of a gradient with accumulation length n:
///   tol = c * (2 u + (n + n_dz) 2^-24)
/// with c = kToleranceFactor, u = unit_roundoff(precision): the rounding of the GEMMs' inputs (dz
/// and D are stored in the GEMMs' type, or rounded to TF32), at most two roundings in any product
/// of a gradient's terms; 2^-24 for every float32 accumulation (the backward accumulates in
/// float32 whatever the storage type: cuBLASLt's compute type, the kernels' registers); n_dz =
/// 8 for an elementwise activation's derivative (its evaluation, as the forward's rule) and the
/// row length + 8 for softmax / log_softmax (their sums along the row).
[[nodiscard]] SEPCONV_EXPORT double gradient_tolerance(const LayerConfig& config,
                                                       const Precision& precision,
                                                       std::int64_t accumulation_length,
                                                       std::int64_t out_length);

/// A backward's gradients against the reference's, one Report per gradient.
struct GradientReport {
  Report input, depthwise, pointwise, bias;
  [[nodiscard]] bool ok() const noexcept {
    return input.ok() && depthwise.ok() && pointwise.ok() && bias.ok();
  }
  /// One line per gradient.
  [[nodiscard]] SEPCONV_EXPORT std::string summary() const;
};

/// Compares gradients (host views, as `Gradients` describes them; the weight views are ignored
/// when `trainable` is false) with the reference's (`reference::backward_detail` of the same x,
/// weights and dy, at the pre-activations the computation used): each element g must lie within
/// gradient_tolerance * S_g of the reference (S_g its magnitude), widened by one unit of its
/// view's rounding of |g_ref| and the smallest normal of that type; NaN never passes.
[[nodiscard]] SEPCONV_EXPORT GradientReport compare_gradients(
    const LayerConfig& config, std::int64_t batch, std::int64_t length,
    const Precision& precision, const reference::GradientDetail& ref, const Gradients& got,
    bool trainable = true);

}  // namespace sepconv::accuracy
