// The Keras regularizers on the host, in float64: the penalty and its gradient, for weights and
// for the layer's output (activity regularization).
#include <cmath>
#include <string>

#include "detail/elements.h"
#include "detail/message.h"
#include "training/training_internal.h"

namespace sepconv {

namespace regularizers {
Regularizer L1(double l1) { return {l1, 0.0}; }
Regularizer L2(double l2) { return {0.0, l2}; }
Regularizer L1L2(double l1, double l2) { return {l1, l2}; }
}  // namespace regularizers

Regularizer parse_regularizer(std::string_view identifier) {
  if (identifier == "l1" || identifier == "L1") return regularizers::L1();
  if (identifier == "l2" || identifier == "L2") return regularizers::L2();
  if (identifier == "l1l2" || identifier == "L1L2") return regularizers::L1L2();
  if (identifier == "l1_l2") return regularizers::L1L2(0.01, 0.01);  // tf.keras's l1_l2()
  detail::fail("regularizer", detail::str("\"", identifier, "\""),
               "a Keras regularizer: l1, l2, l1l2 (or L1, L2, L1L2), or tf.keras's l1_l2");
}

double penalty(const Regularizer& reg, const ConstTensorView& weights) {
  detail::check_regularizer(reg);
  detail::check_training_view("weights", weights);
  double abs_sum = 0.0;
  double square_sum = 0.0;
  detail::for_each_element(weights, [&](std::int64_t, std::int64_t offset) {
    const double w = detail::load_element(weights.data, weights.dtype, offset);
    abs_sum += std::abs(w);
    square_sum += w * w;
  });
  double result = 0.0;
  if (reg.l1 != 0.0) result += reg.l1 * abs_sum;
  if (reg.l2 != 0.0) result += reg.l2 * square_sum;
  return result;
}

namespace {

// grad += scale * d penalty / d w, after the caller's checks.
void add_gradient_checked(const Regularizer& reg, const ConstTensorView& weights,
                          const TensorView& grad, double scale) {
  detail::for_each_element(weights, [&](std::int64_t i, std::int64_t offset) {
    const double w = detail::load_element(weights.data, weights.dtype, offset);
    // The same element of grad (its strides may differ from the weights').
    std::int64_t rest = i;
    std::int64_t g_offset = 0;
    for (int d = grad.rank - 1; d >= 0; --d) {
      g_offset += (rest % grad.shape[d]) * grad.strides[d];
      rest /= grad.shape[d];
    }
    const double sign = w > 0.0 ? 1.0 : (w < 0.0 ? -1.0 : (w == 0.0 ? 0.0 : w));
    double d = 0.0;
    if (reg.l1 != 0.0) d += reg.l1 * sign;
    if (reg.l2 != 0.0) d += 2.0 * reg.l2 * w;
    const double g = detail::load_element(grad.data, grad.dtype, g_offset);
    detail::store_element(grad.data, grad.dtype, g_offset, g + scale * d);
  });
}

}  // namespace

void add_gradient(const Regularizer& reg, const ConstTensorView& weights, const TensorView& grad,
                  double scale) {
  detail::check_gradient_arguments(reg, "weights", weights, "grad", grad, scale);
  add_gradient_checked(reg, weights, grad, scale);
}

double activity_penalty(const Regularizer& reg, const ConstTensorView& y) {
  detail::check_regularizer(reg);
  const double scale = detail::activity_scale(y);
  return penalty(reg, y) * scale;
}

void add_activity_gradient(const Regularizer& reg, const ConstTensorView& y,
                           const TensorView& dy) {
  detail::check_gradient_arguments(reg, "y", y, "dy", dy, 1.0);
  add_gradient_checked(reg, y, dy, detail::activity_scale(y));
}

}  // namespace sepconv
