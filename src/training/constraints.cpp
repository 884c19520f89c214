// The Keras constraints on the host, in float64: the reference the GPU kernels are checked against.
#include <algorithm>
#include <cmath>
#include <string>

#include "detail/elements.h"
#include "detail/message.h"
#include "training/training_internal.h"

namespace sepconv {

namespace constraints {
Constraint MaxNorm(double max_value, std::vector<int> axis) {
  Constraint c;
  c.kind = ConstraintKind::max_norm;
  c.max_value = max_value;
  c.axis = std::move(axis);
  return c;
}
Constraint NonNeg() {
  Constraint c;
  c.kind = ConstraintKind::non_neg;
  return c;
}
Constraint UnitNorm(std::vector<int> axis) {
  Constraint c;
  c.kind = ConstraintKind::unit_norm;
  c.axis = std::move(axis);
  return c;
}
Constraint MinMaxNorm(double min_value, double max_value, double rate, std::vector<int> axis) {
  Constraint c;
  c.kind = ConstraintKind::min_max_norm;
  c.min_value = min_value;
  c.max_value = max_value;
  c.rate = rate;
  c.axis = std::move(axis);
  return c;
}
}  // namespace constraints

Constraint parse_constraint(std::string_view identifier) {
  if (identifier == "max_norm" || identifier == "MaxNorm") return constraints::MaxNorm();
  if (identifier == "non_neg" || identifier == "NonNeg") return constraints::NonNeg();
  if (identifier == "unit_norm" || identifier == "UnitNorm") return constraints::UnitNorm();
  if (identifier == "min_max_norm" || identifier == "MinMaxNorm") return constraints::MinMaxNorm();
  detail::fail("constraint", detail::str("\"", identifier, "\""),
               "a Keras constraint: max_norm, non_neg, unit_norm, min_max_norm (or its class name)");
}

namespace detail {

std::vector<int> constraint_axes(const Constraint& c, int rank) {
  const auto bad = [](const std::string& got, const std::string& expected) {
    fail("constraint", got, expected);
  };
  switch (c.kind) {
    case ConstraintKind::non_neg: return {};
    case ConstraintKind::unit_norm: break;
    case ConstraintKind::max_norm:
      if (!std::isfinite(c.max_value) || c.max_value < 0.0) {
        bad(str("max_norm(max_value=", c.max_value, ")"), "a finite max_value >= 0");
      }
      break;
    case ConstraintKind::min_max_norm:
      if (!std::isfinite(c.min_value) || !std::isfinite(c.max_value) || c.min_value < 0.0 ||
          c.min_value > c.max_value) {
        bad(str("min_max_norm(min_value=", c.min_value, ", max_value=", c.max_value, ")"),
            "finite 0 <= min_value <= max_value");
      }
      if (!(c.rate >= 0.0 && c.rate <= 1.0)) {
        bad(str("min_max_norm(rate=", c.rate, ")"), "a rate in [0, 1]");
      }
      break;
    default: bad(str("kind ", static_cast<int>(c.kind)), "a ConstraintKind enumerator");
  }
  std::vector<int> axes;
  if (c.axis.empty()) {  // Keras's axis=None: one norm over the whole tensor
    for (int a = 0; a < rank; ++a) axes.push_back(a);
    return axes;
  }
  for (const int given : c.axis) {
    const int a = given < 0 ? given + rank : given;
    if (a < 0 || a >= rank) {
      bad(str("axis ", given, " for a tensor of rank ", rank),
          str("an axis in [", -rank, ", ", rank, ")"));
    }
    if (std::find(axes.begin(), axes.end(), a) != axes.end()) {
      bad(str("axis ", given, " twice"), "distinct axes");
    }
    axes.push_back(a);
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

std::vector<int> check_constraint_arguments(const Constraint& c, const ConstTensorView& weights) {
  check_training_view("weights", weights);
  std::vector<int> axes = constraint_axes(c, weights.rank);
  check_distinct("weights", weights);
  return axes;
}

}  // namespace detail

void apply_constraint(const Constraint& c, const TensorView& weights) {
  const std::vector<int> axes = detail::check_constraint_arguments(c, weights);
  const auto load = [&](std::int64_t offset) {
    return detail::load_element(weights.data, weights.dtype, offset);
  };
  const auto store = [&](std::int64_t offset, double v) {
    detail::store_element(weights.data, weights.dtype, offset, v);
  };
  if (c.kind == ConstraintKind::non_neg) {
    detail::for_each_element(weights, [&](std::int64_t, std::int64_t offset) {
      const double w = load(offset);
      store(offset, w > 0.0 || std::isnan(w) ? w : 0.0);
    });
    return;
  }
  // The norm of each fiber: the elements that share their indices along the kept axes.
  bool reduced[3] = {false, false, false};
  for (const int a : axes) reduced[a] = true;
  const auto fiber_of = [&](std::int64_t i) {
    std::int64_t index[3] = {0, 0, 0};
    for (int d = weights.rank - 1; d >= 0; --d) {
      index[d] = i % weights.shape[d];
      i /= weights.shape[d];
    }
    std::int64_t fiber = 0;
    for (int d = 0; d < weights.rank; ++d) {
      if (!reduced[d]) fiber = fiber * weights.shape[d] + index[d];
    }
    return fiber;
  };
  std::int64_t fibers = 1;
  for (int d = 0; d < weights.rank; ++d) {
    if (!reduced[d]) fibers *= weights.shape[d];
  }
  std::vector<double> squares(static_cast<std::size_t>(fibers), 0.0);
  detail::for_each_element(weights, [&](std::int64_t i, std::int64_t offset) {
    const double w = load(offset);
    squares[static_cast<std::size_t>(fiber_of(i))] += w * w;
  });
  constexpr double kEpsilon = 1e-7;  // keras.backend.epsilon()
  detail::for_each_element(weights, [&](std::int64_t i, std::int64_t offset) {
    const double n = std::sqrt(squares[static_cast<std::size_t>(fiber_of(i))]);
    double desired = n;
    switch (c.kind) {
      case ConstraintKind::max_norm: desired = std::clamp(n, 0.0, c.max_value); break;
      case ConstraintKind::unit_norm: desired = 1.0; break;
      case ConstraintKind::min_max_norm:
        desired = c.rate * std::clamp(n, c.min_value, c.max_value) + (1.0 - c.rate) * n;
        break;
      case ConstraintKind::non_neg: break;
    }
    store(offset, load(offset) * (desired / (kEpsilon + n)));
  });
}

}  // namespace sepconv
