// The Keras regularizers on the host (sepconv/training.h): hand-computed penalties and gradients,
// sign(0) = 0, NaN, zero factors, activity regularization divided by the batch, identifiers and
// errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "sepconv/training.h"
#include "training_test_support.h"

namespace sepconv::test {
namespace {

TEST(Regularizers, HaveKeras3ClassDefaults) {
  EXPECT_EQ(regularizers::L1().l1, 0.01);
  EXPECT_EQ(regularizers::L1().l2, 0.0);
  EXPECT_EQ(regularizers::L2().l2, 0.01);
  EXPECT_EQ(regularizers::L2().l1, 0.0);
  EXPECT_EQ(regularizers::L1L2().l1, 0.0);
  EXPECT_EQ(regularizers::L1L2().l2, 0.0);
  EXPECT_EQ(parse_regularizer("l1").l1, 0.01);
  EXPECT_EQ(parse_regularizer("L2").l2, 0.01);
  EXPECT_EQ(parse_regularizer("l1l2").l1, 0.0);  // Keras 3's "l1l2": L1L2() = (0, 0)
  EXPECT_EQ(parse_regularizer("L1L2").l2, 0.0);
  const Regularizer tf = parse_regularizer("l1_l2");  // tf.keras's l1_l2(): (0.01, 0.01)
  EXPECT_EQ(tf.l1, 0.01);
  EXPECT_EQ(tf.l2, 0.01);
  expect_invalid([] { static_cast<void>(parse_regularizer("orthogonal_regularizer")); },
                 "regularizer", "l1l2");
}

TEST(Regularizers, PenaltyIsL1SumAbsPlusL2SumSquares) {
  // w = (3, -4, 0, 0.5, -1.5, 2): sum |w| = 11, sum w^2 = 9 + 16 + 0.25 + 2.25 + 4 = 31.5.
  for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    const HostTensor w = tensor(dtype, {3, 2, 1}, {3, -4, 0, 0.5, -1.5, 2}, {1, 1, 2});
    EXPECT_DOUBLE_EQ(penalty(regularizers::L1(0.5), w.view()), 5.5);
    EXPECT_DOUBLE_EQ(penalty(regularizers::L2(0.1), w.view()), 3.15);  // no 1/2
    EXPECT_DOUBLE_EQ(penalty(regularizers::L1L2(0.5, 0.1), w.view()), 8.65);
    EXPECT_EQ(penalty(regularizers::L1L2(), w.view()), 0.0);
  }
}

TEST(Regularizers, GradientIsAddedWithSignOfZeroZero) {
  const HostTensor w = tensor(DType::f32, {6}, {3, -4, 0, 0.5, -1.5, 2});
  HostTensor grad = tensor(DType::f32, {6}, {1, 1, 1, 1, 1, 1}, {2, 0, 0});
  add_gradient(regularizers::L1L2(0.5, 0.25), w.view(), grad.view());
  // 1 + 0.5 sign(w) + 0.5 w
  EXPECT_EQ(grad.values(), (std::vector<double>{3.0, -1.5, 1.0, 1.75, -0.25, 2.5}));
  add_gradient(regularizers::L1(1.0), w.view(), grad.view(), /*scale=*/-2.0);
  EXPECT_EQ(grad.values(), (std::vector<double>{1.0, 0.5, 1.0, -0.25, 1.75, 0.5}));
  // A 16-bit gradient buffer: the sum is rounded once to its dtype.
  HostTensor half = tensor(DType::f16, {6}, {0, 0, 0, 0, 0, 0});
  add_gradient(regularizers::L2(1.0 / 3.0), w.view(), half.view());
  for (std::int64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(half.get(i), detail::round_to(DType::f16, 2.0 / 3.0 * w.get(i)));
  }
}

TEST(Regularizers, NanPropagatesAndZeroFactorsAreLeftOut) {
  const HostTensor w = tensor(DType::f32, {3}, {NAN, INFINITY, 1});
  EXPECT_TRUE(std::isnan(penalty(regularizers::L1(0.1), w.view())));
  // Keras's L1L2 skips a term whose factor is 0: no 0 * inf.
  const HostTensor big = tensor(DType::f32, {2}, {INFINITY, 1});
  EXPECT_EQ(penalty(regularizers::L1L2(0.0, 0.0), big.view()), 0.0);
  HostTensor grad = tensor(DType::f32, {3}, {0, 0, 0});
  add_gradient(regularizers::L1(0.1), w.view(), grad.view());
  EXPECT_TRUE(std::isnan(grad.get(0)));  // sign(NaN) = NaN, as Keras/TF's sign
  EXPECT_FLOAT_EQ(static_cast<float>(grad.get(1)), 0.1f);
  HostTensor untouched = tensor(DType::f32, {2}, {5, 6});
  add_gradient(regularizers::L1L2(0.0, 0.0), big.view(), untouched.view());
  EXPECT_EQ(untouched.values(), (std::vector<double>{5, 6}));
}

TEST(Regularizers, ActivityPenaltyAndGradientAreDividedByTheBatch) {
  // y (B=2, L=1, F=3), as Keras 3 and tf.keras add activity_regularizer(y) / batch to the loss.
  const HostTensor y = tensor(DType::f32, {2, 1, 3}, {1, -2, 0, 0.5, 3, -1});
  const Regularizer reg = regularizers::L1L2(0.2, 0.1);
  // sum |y| = 7.5, sum y^2 = 15.25: (0.2 * 7.5 + 0.1 * 15.25) / 2
  EXPECT_DOUBLE_EQ(activity_penalty(reg, y.view()), (1.5 + 1.525) / 2);
  HostTensor dy = tensor(DType::f32, {2, 1, 3}, {0, 0, 0, 0, 0, 0});
  add_activity_gradient(reg, y.view(), dy.view());
  for (std::int64_t i = 0; i < 6; ++i) {
    const double v = y.get(i / 3, 0, i % 3);
    const double sign = v > 0 ? 1 : (v < 0 ? -1 : 0);
    EXPECT_EQ(dy.get(i / 3, 0, i % 3), detail::round_to(DType::f32, (0.2 * sign + 0.2 * v) / 2));
  }
  const HostTensor empty = tensor(DType::f32, {0, 4, 3}, {});
  EXPECT_EQ(activity_penalty(reg, empty.view()), 0.0);
}

TEST(RegularizerErrors, FactorsMustBeFiniteAndNonNegative) {
  const HostTensor w = tensor(DType::f32, {2}, {1, 2});
  HostTensor grad = tensor(DType::f32, {2}, {7, 8});
  for (const Regularizer bad : {Regularizer{-0.1, 0}, Regularizer{0, NAN}, Regularizer{INFINITY, 0}}) {
    expect_invalid([&] { static_cast<void>(penalty(bad, w.view())); }, "regularizer", ">= 0");
    expect_invalid([&] { add_gradient(bad, w.view(), grad.view()); }, "regularizer", ">= 0");
    expect_invalid([&] { static_cast<void>(activity_penalty(bad, w.view())); }, "regularizer",
                   ">= 0");
  }
  HostTensor wrong = tensor(DType::f32, {3}, {0, 0, 0});
  expect_invalid([&] { add_gradient(regularizers::L2(), w.view(), wrong.view()); }, "grad",
                 "the shape of `weights`");
  expect_invalid([&] { add_gradient(regularizers::L2(), w.view(), grad.view(), NAN); }, "scale",
                 "finite");
  // The gradient may not overlap the weights.
  expect_invalid([&] { add_gradient(regularizers::L2(), grad.view(), grad.view()); }, "grad",
                 "overlaps");
  EXPECT_EQ(grad.values(), (std::vector<double>{7, 8}));
  expect_invalid([&] { add_activity_gradient(regularizers::L2(), w.view(), wrong.view()); }, "dy",
                 "the shape of `y`");
}

}  // namespace
}  // namespace sepconv::test
