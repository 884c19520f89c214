// sepconv — training helpers on the host: Keras initializers, regularizers and constraints for
// the layer's weights (depthwise (k, C, M), pointwise (1, C*M, F), bias (F)) and output.
// The same operations on the GPU: sepconv/training_gpu.h. The exact formulas and where Keras
// versions differ: docs/semantics.md, "Initializers, regularizers, constraints".
//
//   sepconv::Initializer init = sepconv::initializers::he_normal();   // or parse_initializer("he_normal")
//   sepconv::initialize(init, /*seed=*/42, dw_view);                 // host view of f32/f16/bf16
//   sepconv::Regularizer reg = sepconv::regularizers::L2(1e-4);
//   double loss = sepconv::penalty(reg, dw_view);                    // float64
//   sepconv::add_gradient(reg, dw_view, grad_view);                  // grad += d penalty / d w
//   sepconv::apply_constraint(sepconv::constraints::MaxNorm(2.0), dw_view);
//
// Host functions take views of host memory (`sepconv/tensor.h`, rank 1-3, any strides) and
// compute in float64; every error is an InvalidArgument raised before anything is written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sepconv/export.h"
#include "sepconv/tensor.h"

namespace sepconv {

// ---- initializers ------------------------------------------------------------------------------

/// The Keras initializers (Keras 3 names, snake case as in `keras.initializers.get`).
enum class InitializerKind {
  zeros,
  ones,
  constant,          ///< value
  random_uniform,    ///< U[minval, maxval)
  random_normal,     ///< N(mean, stddev^2)
  truncated_normal,  ///< N(mean, stddev^2), redrawn beyond mean +- 2 stddev
  variance_scaling,  ///< scale, mode, distribution
  glorot_uniform,    ///< variance_scaling(1, fan_avg, uniform): the layer's kernel default
  glorot_normal,     ///< variance_scaling(1, fan_avg, truncated_normal)
  he_uniform,        ///< variance_scaling(2, fan_in, uniform)
  he_normal,         ///< variance_scaling(2, fan_in, truncated_normal)
  lecun_uniform,     ///< variance_scaling(1, fan_in, uniform)
  lecun_normal,      ///< variance_scaling(1, fan_in, truncated_normal)
  orthogonal,        ///< gain; rank >= 2; QR on the host
};
/// VarianceScaling's `mode`: which fan n the variance scale / max(1, n) divides by.
enum class FanMode { fan_in, fan_out, fan_avg };
/// VarianceScaling's `distribution` ("normal" is parsed as truncated_normal, as Keras does).
enum class VarianceDistribution { truncated_normal, untruncated_normal, uniform };

/// An initializer with its Keras parameters (only those of `kind` are read). Build one with the
/// functions of `sepconv::initializers` or `parse_initializer`; a default Initializer is
/// glorot_uniform. The seed is not part of it: every fill takes one (Keras's seed=None, a new
/// seed per call, has no counterpart: pass a different seed per weight).
struct Initializer {
  InitializerKind kind = InitializerKind::glorot_uniform;
  double value = 0.0;                         ///< constant
  double minval = -0.05, maxval = 0.05;       ///< random_uniform
  double mean = 0.0, stddev = 0.05;           ///< random_normal, truncated_normal
  double scale = 1.0;                         ///< variance_scaling (> 0)
  FanMode mode = FanMode::fan_in;             ///< variance_scaling
  VarianceDistribution distribution = VarianceDistribution::truncated_normal;  ///< variance_scaling
  double gain = 1.0;                          ///< orthogonal
};

/// Keras's initializers with Keras's defaults.
namespace initializers {
SEPCONV_EXPORT Initializer zeros();
SEPCONV_EXPORT Initializer ones();
SEPCONV_EXPORT Initializer constant(double value = 0.0);
SEPCONV_EXPORT Initializer random_uniform(double minval = -0.05, double maxval = 0.05);
SEPCONV_EXPORT Initializer random_normal(double mean = 0.0, double stddev = 0.05);
SEPCONV_EXPORT Initializer truncated_normal(double mean = 0.0, double stddev = 0.05);
SEPCONV_EXPORT Initializer variance_scaling(
    double scale = 1.0, FanMode mode = FanMode::fan_in,
    VarianceDistribution distribution = VarianceDistribution::truncated_normal);
SEPCONV_EXPORT Initializer glorot_uniform();
SEPCONV_EXPORT Initializer glorot_normal();
SEPCONV_EXPORT Initializer he_uniform();
SEPCONV_EXPORT Initializer he_normal();
SEPCONV_EXPORT Initializer lecun_uniform();
SEPCONV_EXPORT Initializer lecun_normal();
SEPCONV_EXPORT Initializer orthogonal(double gain = 1.0);
}  // namespace initializers

/// A Keras initializer identifier with its defaults: the snake-case names above, Keras 3's class
/// names (`GlorotUniform`, `VarianceScaling`, `OrthogonalInitializer`, ...) and aliases (`normal`
/// = random_normal, `uniform` = random_uniform, `zero`, `one`). Throws InvalidArgument
/// ("initializer") for anything else.
[[nodiscard]] SEPCONV_EXPORT Initializer parse_initializer(std::string_view identifier);
/// The snake-case Keras name of a kind.
[[nodiscard]] SEPCONV_EXPORT std::string to_string(InitializerKind kind);

/// Keras's fan_in / fan_out of a weight shape (`compute_fans`): rank 1 (n, n); rank 2 (s0, s1);
/// rank >= 3: receptive = product of all but the last two extents, (s[-2] * receptive,
/// s[-1] * receptive). Depthwise (k, C, M): (k*C, k*M); pointwise (1, C*M, F): (C*M, F).
struct Fans {
  std::int64_t fan_in = 0;
  std::int64_t fan_out = 0;
};
[[nodiscard]] SEPCONV_EXPORT Fans compute_fans(const std::vector<std::int64_t>& shape);

/// Fills a host view (f32, f16 or bf16; the view's shape is the Keras weight shape) with `init`
/// drawn under `seed`: element i of the row-major order of the shape gets the i-th value of the
/// stream, whatever the strides. Bitwise identical to the GPU `initialize` for the same seed
/// (values are computed in float64, rounded to float32, then to the view's dtype). Throws
/// InvalidArgument ("initializer" for bad parameters or an orthogonal tensor of rank 1, "out" for
/// a bad view).
SEPCONV_EXPORT void initialize(const Initializer& init, std::uint64_t seed, const TensorView& out);
/// The same values in float64, before rounding, for a shape of rank 1-3 (row-major order).
[[nodiscard]] SEPCONV_EXPORT std::vector<double> initial_values(
    const Initializer& init, std::uint64_t seed, const std::vector<std::int64_t>& shape);

// ---- regularizers ------------------------------------------------------------------------------

/// A Keras L1L2 regularizer: penalty(w) = l1 * sum |w| + l2 * sum w^2 (no 1/2), a term whose
/// factor is 0 left out (as Keras's L1L2 does). Factors must be finite and >= 0.
struct Regularizer {
  double l1 = 0.0;
  double l2 = 0.0;
};
/// Keras 3's classes with their defaults.
namespace regularizers {
SEPCONV_EXPORT Regularizer L1(double l1 = 0.01);
SEPCONV_EXPORT Regularizer L2(double l2 = 0.01);
SEPCONV_EXPORT Regularizer L1L2(double l1 = 0.0, double l2 = 0.0);
}  // namespace regularizers
/// A Keras regularizer identifier: `l1`, `L1` (l1 = 0.01), `l2`, `L2` (l2 = 0.01), `l1l2`, `L1L2`
/// (Keras 3: 0 and 0), and `l1_l2` with tf.keras's meaning, l1 = l2 = 0.01 (Keras 3 rejects that
/// string). Throws InvalidArgument ("regularizer").
[[nodiscard]] SEPCONV_EXPORT Regularizer parse_regularizer(std::string_view identifier);

/// The penalty of a host view of any dtype, summed in float64 in row-major order.
/// Throws InvalidArgument ("regularizer", "weights").
[[nodiscard]] SEPCONV_EXPORT double penalty(const Regularizer& reg, const ConstTensorView& weights);
/// grad += scale * d penalty / d w = scale * (l1 * sign(w) + 2 * l2 * w), with sign(0) = 0 (as
/// Keras/TF's sign) and NaN propagated; computed in float64, rounded once into grad's dtype.
/// `grad`: a host view of the same shape (any dtype; weight gradients are float32). Throws
/// InvalidArgument ("regularizer", "weights", "grad", "scale").
SEPCONV_EXPORT void add_gradient(const Regularizer& reg, const ConstTensorView& weights,
                                 const TensorView& grad, double scale = 1.0);
/// Activity regularization of the layer's output y (after the activation; batch first in either
/// data format): penalty(y) / B (0 for B = 0), as Keras 3 and tf.keras add it to the loss.
[[nodiscard]] SEPCONV_EXPORT double activity_penalty(const Regularizer& reg,
                                                     const ConstTensorView& y);
/// Its gradient into dY: dy += (l1 * sign(y) + 2 * l2 * y) / B.
SEPCONV_EXPORT void add_activity_gradient(const Regularizer& reg, const ConstTensorView& y,
                                          const TensorView& dy);

// ---- constraints -------------------------------------------------------------------------------

/// The Keras constraints.
enum class ConstraintKind { max_norm, non_neg, unit_norm, min_max_norm };

/// A constraint with its Keras parameters. Norms are sqrt(sum w^2) over `axis` (keepdims), one per
/// index of the other axes; epsilon = 1e-7. With Keras's default axis 0, the depthwise (k, C, M)
/// kernel has one norm per (c, m) over its k taps, and the pointwise (1, C*M, F) kernel's axis 0 has
/// size 1, so each norm is |w| of one element (Keras does the same); axis {0, 1} gives one norm per
/// filter. Negative axes count from the end.
struct Constraint {
  ConstraintKind kind = ConstraintKind::max_norm;
  double max_value = 2.0;  ///< max_norm (default 2), min_max_norm (default 1)
  double min_value = 0.0;  ///< min_max_norm
  double rate = 1.0;       ///< min_max_norm
  std::vector<int> axis{0};
};
namespace constraints {
SEPCONV_EXPORT Constraint MaxNorm(double max_value = 2.0, std::vector<int> axis = {0});
SEPCONV_EXPORT Constraint NonNeg();
SEPCONV_EXPORT Constraint UnitNorm(std::vector<int> axis = {0});
SEPCONV_EXPORT Constraint MinMaxNorm(double min_value = 0.0, double max_value = 1.0,
                                     double rate = 1.0, std::vector<int> axis = {0});
}  // namespace constraints
/// A Keras constraint identifier with its defaults: `max_norm`, `non_neg`, `unit_norm`,
/// `min_max_norm` and the class names `MaxNorm`, `NonNeg`, `UnitNorm`, `MinMaxNorm`. Throws
/// InvalidArgument ("constraint").
[[nodiscard]] SEPCONV_EXPORT Constraint parse_constraint(std::string_view identifier);

/// Applies `c` in place to a host view of any dtype (computed in float64, rounded once):
/// max_norm  w * clip(n, 0, max_value) / (eps + n)
/// unit_norm w / (eps + n)
/// min_max_norm w * (rate * clip(n, min_value, max_value) + (1 - rate) * n) / (eps + n)
/// non_neg   max(w, 0) (NaN stays NaN).
/// Throws InvalidArgument ("constraint": a non-finite or negative bound, min_value > max_value,
/// rate outside [0, 1], an axis out of range or repeated; "weights").
SEPCONV_EXPORT void apply_constraint(const Constraint& c, const TensorView& weights);

}  // namespace sepconv
