// Argument checks the training functions share (host and GPU entry points).
#include <cmath>
#include <string>

#include "detail/message.h"
#include "detail/views.h"
#include "training/training_internal.h"

namespace sepconv::detail {

void check_training_view(std::string_view argument, const ConstTensorView& view) {
  if (view.rank < 1 || view.rank > kMaxRank) {
    fail(argument, str("a view of rank ", view.rank), "a view of rank 1 to 3");
  }
  check_view(argument, view, view.dtype, view.rank);
}

void check_same_shape(std::string_view name, const ConstTensorView& b, std::string_view a_name,
                      const ConstTensorView& a) {
  bool same = a.rank == b.rank;
  for (int i = 0; same && i < a.rank; ++i) same = a.shape[i] == b.shape[i];
  if (!same) {
    fail(name, str("shape ", shape_string(b)),
         str("the shape of `", a_name, "`, ", shape_string(a)));
  }
}

void check_distinct(std::string_view argument, const ConstTensorView& view) {
  if (!elements_are_distinct(view)) {
    fail(argument, str("strides ", shape_string(view.strides, view.rank), " that alias elements"),
         "a view whose elements are distinct");
  }
}

void check_initializer_output(const ConstTensorView& out) {
  check_training_view("out", out);
  check_distinct("out", out);
}

std::vector<std::int64_t> shape_of(const ConstTensorView& view) {
  return {view.shape.begin(), view.shape.begin() + view.rank};
}

void check_regularizer(const Regularizer& reg) {
  for (const auto& [name, value] : {std::pair<const char*, double>{"l1", reg.l1}, {"l2", reg.l2}}) {
    if (!std::isfinite(value) || value < 0.0) {
      fail("regularizer", str(name, " = ", value), str("a finite ", name, " >= 0"));
    }
  }
}

void check_gradient_arguments(const Regularizer& reg, std::string_view w_name,
                              const ConstTensorView& weights, std::string_view g_name,
                              const ConstTensorView& grad, double scale) {
  check_regularizer(reg);
  check_training_view(w_name, weights);
  check_training_view(g_name, grad);
  check_same_shape(g_name, grad, w_name, weights);
  check_distinct(g_name, grad);
  if (byte_range(grad).overlaps(byte_range(weights))) {
    fail(g_name, "memory that overlaps `" + std::string(w_name) + "`", "a separate buffer");
  }
  if (!std::isfinite(scale)) fail("scale", str(scale), "a finite scale");
}

double activity_scale(const ConstTensorView& y) {
  check_training_view("y", y);
  return y.shape[0] == 0 ? 0.0 : 1.0 / static_cast<double>(y.shape[0]);
}

}  // namespace sepconv::detail
