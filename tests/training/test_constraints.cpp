// The Keras constraints on the host (sepconv/training.h): hand-computed results on the layer's
// kernels and Keras's axes (the pointwise axis-0 quirk included), NaN and -0, axis lists,
// identifiers and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "sepconv/training.h"
#include "training_test_support.h"

namespace sepconv::test {
namespace {

constexpr double kEps = 1e-7;  // keras.backend.epsilon()

TEST(Constraints, HaveKerasDefaults) {
  const Constraint max_norm = parse_constraint("max_norm");
  EXPECT_EQ(max_norm.kind, ConstraintKind::max_norm);
  EXPECT_EQ(max_norm.max_value, 2.0);
  EXPECT_EQ(max_norm.axis, std::vector<int>{0});
  const Constraint mm = parse_constraint("MinMaxNorm");
  EXPECT_EQ(mm.min_value, 0.0);
  EXPECT_EQ(mm.max_value, 1.0);
  EXPECT_EQ(mm.rate, 1.0);
  EXPECT_EQ(mm.axis, std::vector<int>{0});
  EXPECT_EQ(parse_constraint("UnitNorm").kind, ConstraintKind::unit_norm);
  EXPECT_EQ(parse_constraint("non_neg").kind, ConstraintKind::non_neg);
  expect_invalid([] { static_cast<void>(parse_constraint("radial_constraint")); }, "constraint",
                 "max_norm");
}

TEST(Constraints, MaxNormOnADepthwiseKernelHasOneNormPerChannelOverTheTaps) {
  // (k=2, C=2, M=1): channel 0 has taps (3, 4), norm 5 > 2: scaled by 2 / (eps + 5); channel 1
  // has taps (0.6, 0.8), norm 1 <= 2: scaled by 1 / (eps + 1).
  HostTensor w = tensor(DType::f32, {2, 2, 1}, {3, 0.6, 4, 0.8}, {1, 1, 0});
  const std::vector<double> in = w.values();  // (tap, channel) row-major: 3, 0.6f, 4, 0.8f
  apply_constraint(constraints::MaxNorm(), w.view());
  const double n0 = 5.0, n1 = std::sqrt(in[1] * in[1] + in[3] * in[3]);  // n1 ~ 1 <= 2
  const double f0 = 2.0 / (kEps + n0), f1 = n1 / (kEps + n1);
  EXPECT_EQ(w.values(), (std::vector<double>{detail::round_to(DType::f32, 3 * f0),
                                             detail::round_to(DType::f32, in[1] * f1),
                                             detail::round_to(DType::f32, 4 * f0),
                                             detail::round_to(DType::f32, in[3] * f1)}));
}

TEST(Constraints, PointwiseAxisZeroIsOneElementPerNormAndAxisZeroOneIsPerFilter) {
  // Pointwise (1, C*M=2, F=2) = [[3, -0.5], [4, 1]]: with Keras's axis 0 (size 1) every element is
  // its own fiber, |w| clipped to 2; with axis {0, 1} each filter f has one norm over C*M.
  const std::vector<double> values = {3, -0.5, 4, 1};
  HostTensor quirk = tensor(DType::f32, {1, 2, 2}, values);
  apply_constraint(constraints::MaxNorm(2.0), quirk.view());
  for (std::size_t i = 0; i < 4; ++i) {
    const double n = std::abs(values[i]);
    EXPECT_FLOAT_EQ(static_cast<float>(quirk.values()[i]),
                    static_cast<float>(values[i] * std::min(n, 2.0) / (kEps + n)));
  }
  HostTensor filters = tensor(DType::f32, {1, 2, 2}, values);
  apply_constraint(constraints::MaxNorm(2.0, {0, 1}), filters.view());
  const double n0 = 5.0, n1 = std::sqrt(1.25);  // filter 0: (3, 4); filter 1: (-0.5, 1)
  EXPECT_FLOAT_EQ(static_cast<float>(filters.get(0, 0, 0)), static_cast<float>(3 * 2 / (kEps + n0)));
  EXPECT_FLOAT_EQ(static_cast<float>(filters.get(0, 1, 0)), static_cast<float>(4 * 2 / (kEps + n0)));
  EXPECT_FLOAT_EQ(static_cast<float>(filters.get(0, 0, 1)), static_cast<float>(-0.5 * n1 / (kEps + n1)));
  EXPECT_FLOAT_EQ(static_cast<float>(filters.get(0, 1, 1)), static_cast<float>(1 * n1 / (kEps + n1)));
  // Negative axes count from the end: {-3, -2} is {0, 1}.
  HostTensor negative = tensor(DType::f32, {1, 2, 2}, values);
  apply_constraint(constraints::MaxNorm(2.0, {-2, -3}), negative.view());
  EXPECT_EQ(negative.values(), filters.values());
}

TEST(Constraints, UnitNormMinMaxNormAndNonNeg) {
  // One fiber (axis {0}) of a (2,) tensor: (3, 4), norm 5.
  HostTensor unit = tensor(DType::f32, {2}, {3, 4});
  apply_constraint(constraints::UnitNorm(), unit.view());
  EXPECT_FLOAT_EQ(static_cast<float>(unit.get(0)), static_cast<float>(3 / (kEps + 5)));
  EXPECT_FLOAT_EQ(static_cast<float>(unit.get(1)), static_cast<float>(4 / (kEps + 5)));
  // MinMaxNorm(1, 2, rate 0.5): desired = 0.5 * clip(5, 1, 2) + 0.5 * 5 = 3.5.
  HostTensor mm = tensor(DType::f32, {2}, {3, 4});
  apply_constraint(constraints::MinMaxNorm(1.0, 2.0, 0.5), mm.view());
  EXPECT_FLOAT_EQ(static_cast<float>(mm.get(0)), static_cast<float>(3 * 3.5 / (kEps + 5)));
  // A norm below min_value is raised: (0.3, 0.4), norm 0.5 -> 1 with rate 1.
  HostTensor raise = tensor(DType::f32, {2}, {0.3, 0.4});
  apply_constraint(constraints::MinMaxNorm(1.0, 2.0), raise.view());
  EXPECT_FLOAT_EQ(static_cast<float>(raise.get(1)), static_cast<float>(0.4 / (kEps + 0.5)));
  // NonNeg: max(w, 0); -0 becomes +0, NaN stays NaN.
  HostTensor nn = tensor(DType::f32, {2, 3}, {-1, 2, -0.0, 0.5, NAN, -INFINITY});
  apply_constraint(constraints::NonNeg(), nn.view());
  EXPECT_EQ(nn.get(0, 0), 0.0);
  EXPECT_EQ(nn.get(0, 1), 2.0);
  EXPECT_FALSE(std::signbit(nn.get(0, 2)));
  EXPECT_EQ(nn.get(1, 0), 0.5);
  EXPECT_TRUE(std::isnan(nn.get(1, 1)));
  EXPECT_EQ(nn.get(1, 2), 0.0);
  // A zero fiber stays zero (0 / (eps + 0)).
  HostTensor zero = tensor(DType::bf16, {3}, {0, 0, 0});
  apply_constraint(constraints::UnitNorm(), zero.view());
  EXPECT_EQ(zero.values(), (std::vector<double>{0, 0, 0}));
  // An empty axis list is Keras's axis=None: one norm over the whole tensor.
  HostTensor all = tensor(DType::f32, {1, 2, 1}, {3, 4});
  apply_constraint(constraints::UnitNorm({}), all.view());
  EXPECT_FLOAT_EQ(static_cast<float>(all.get(0, 1, 0)), static_cast<float>(4 / (kEps + 5)));
}

TEST(ConstraintErrors, AreRejectedBeforeWriting) {
  HostTensor w = tensor(DType::f32, {2, 3, 1}, {1, 2, 3, 4, 5, 6});
  expect_invalid([&] { apply_constraint(constraints::MaxNorm(-1.0), w.view()); }, "constraint",
                 "max_value >= 0");
  expect_invalid([&] { apply_constraint(constraints::MaxNorm(NAN), w.view()); }, "constraint",
                 "max_value >= 0");
  expect_invalid([&] { apply_constraint(constraints::MinMaxNorm(2.0, 1.0), w.view()); },
                 "constraint", "min_value <= max_value");
  expect_invalid([&] { apply_constraint(constraints::MinMaxNorm(0.0, 1.0, 1.5), w.view()); },
                 "constraint", "rate in [0, 1]");
  expect_invalid([&] { apply_constraint(constraints::UnitNorm({3}), w.view()); }, "constraint",
                 "an axis in [-3, 3)");
  expect_invalid([&] { apply_constraint(constraints::UnitNorm({1, -2}), w.view()); },
                 "constraint", "distinct axes");
  TensorView aliased = w.view();
  aliased.strides = {1, 1, 1};
  expect_invalid([&] { apply_constraint(constraints::NonNeg(), aliased); }, "weights", "distinct");
  EXPECT_EQ(w.values(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

}  // namespace
}  // namespace sepconv::test
