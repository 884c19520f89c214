// Internal: what the host functions (training/) and the GPU entry points (runtime/training_gpu.cpp)
// share: argument checks and the resolution of an initializer for a shape.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "detail/random.h"
#include "sepconv/tensor.h"
#include "sepconv/training.h"

namespace sepconv::detail {

/// Checks a view argument of the training functions: rank 1-3, non-negative extents and strides,
/// a pointer when it has elements, offsets that fit int64 (any dtype).
void check_training_view(std::string_view argument, const ConstTensorView& view);
/// Checks that `b` (argument `name`) has `a`'s shape (argument `a_name`).
void check_same_shape(std::string_view name, const ConstTensorView& b, std::string_view a_name,
                      const ConstTensorView& a);
/// Throws InvalidArgument(argument) when two indices of the view address one element (a view
/// written to).
void check_distinct(std::string_view argument, const ConstTensorView& view);
/// Throws InvalidArgument("out") unless `out` is a view of a storage dtype with distinct elements.
void check_initializer_output(const ConstTensorView& out);

/// Calls f(i, offset) for every element of a view, i in row-major order of its shape, offset its
/// element offset under the view's strides.
template <class F>
void for_each_element(const ConstTensorView& view, F&& f) {
  const std::int64_t count = view.numel();
  for (std::int64_t i = 0; i < count; ++i) {
    std::int64_t rest = i;
    std::int64_t offset = 0;
    for (int d = view.rank - 1; d >= 0; --d) {
      offset += (rest % view.shape[d]) * view.strides[d];
      rest /= view.shape[d];
    }
    f(i, offset);
  }
}

/// The view's shape as a vector.
std::vector<std::int64_t> shape_of(const ConstTensorView& view);

/// What element i of a tensor of `shape` initialized by `init` is drawn from. Not for orthogonal
/// (orthogonal_values). Throws InvalidArgument("initializer") for bad parameters.
RandomSpec resolve_initializer(const Initializer& init, const std::vector<std::int64_t>& shape);
/// Keras's Orthogonal for `shape` (rank >= 2) under `seed`, in float64, row-major: the QR of the
/// (max(rows, cols), min(rows, cols)) matrix of random_normal(0, 1) values (this generator, same
/// seed), q times sign(diag r), transposed when rows < cols, times gain.
std::vector<double> orthogonal_values(const Initializer& init, std::uint64_t seed,
                                      const std::vector<std::int64_t>& shape);

/// Throws InvalidArgument("regularizer") unless both factors are finite and >= 0.
void check_regularizer(const Regularizer& reg);
/// The checks of add_gradient / add_activity_gradient (host and GPU): the regularizer, both views,
/// the same shape, distinct and non-overlapping gradient elements, a finite scale.
void check_gradient_arguments(const Regularizer& reg, std::string_view w_name,
                              const ConstTensorView& weights, std::string_view g_name,
                              const ConstTensorView& grad, double scale);
/// 1 / B for a batch-first output (0 for B = 0), after checking y (argument "y").
double activity_scale(const ConstTensorView& y);

/// Checks `c` for a tensor of rank `rank` and returns its axes, in [0, rank), sorted, distinct.
/// Throws InvalidArgument("constraint").
std::vector<int> constraint_axes(const Constraint& c, int rank);
/// The checks of apply_constraint (host and GPU): the view, the constraint, distinct elements.
/// Returns constraint_axes.
std::vector<int> check_constraint_arguments(const Constraint& c, const ConstTensorView& weights);

}  // namespace sepconv::detail
