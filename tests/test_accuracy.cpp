// The condition-aware bound (sepconv/accuracy.h): it accepts rounding and rejects real errors.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "sepconv/accuracy.h"
#include "support/host_tensor.h"

namespace sepconv::test {
namespace {

struct Fixture {
  LayerConfig config;
  HostTensor x;
  HostWeights w;
  reference::Detail ref;
  HostTensor y;
};

Fixture make_fixture(Activation a, DataFormat format, DType dtype) {
  Fixture fx;
  fx.config.filters = 6;
  fx.config.kernel_size = 5;
  fx.config.padding = Padding::same;
  fx.config.depth_multiplier = 2;
  fx.config.data_format = format;
  fx.config.activation = a;
  std::mt19937_64 rng(21);
  fx.x = random_input(fx.config, 2, 9, 4, dtype, rng);
  fx.w = random_weights(fx.config, 4, dtype, rng);
  fx.ref = reference::forward_detail(fx.config, fx.x.view(), fx.w.view());
  fx.y = poisoned_output(fx.config, 2, 9, dtype);
  reference::forward(fx.config, fx.x.view(), fx.w.view(), fx.y.view());
  return fx;
}

accuracy::Report compare(const Fixture& fx, DType dtype) {
  return accuracy::compare(fx.config, 4, dtype, MathMode::exact, fx.ref, fx.y.view());
}

TEST(Accuracy, ToleranceModel) {
  EXPECT_EQ(accuracy::unit_roundoff(DType::f32), std::ldexp(1.0, -24));
  EXPECT_EQ(accuracy::unit_roundoff(DType::f32, MathMode::tf32), std::ldexp(1.0, -11));
  EXPECT_EQ(accuracy::unit_roundoff(DType::f16), std::ldexp(1.0, -11));
  EXPECT_EQ(accuracy::unit_roundoff(DType::bf16), std::ldexp(1.0, -8));
  LayerConfig c;
  c.kernel_size = 33;
  c.depth_multiplier = 2;
  EXPECT_EQ(accuracy::reduction_length(c, 256), 33 + 512);
  EXPECT_EQ(accuracy::tolerance(DType::f32, MathMode::exact, 545),
            accuracy::kToleranceFactor * 545 * std::ldexp(1.0, -24));
}

TEST(Accuracy, RoundedReferencePassesForEveryActivationAndDtype) {
  for (DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    for (int i = 0; i < kActivationCount; ++i) {
      for (auto format : {DataFormat::channels_last, DataFormat::channels_first}) {
        const auto a = static_cast<Activation>(i);
        const Fixture fx = make_fixture(a, format, dtype);
        const auto report = compare(fx, dtype);
        EXPECT_TRUE(report.ok()) << to_string(a) << " " << to_string(dtype) << ": "
                                 << report.summary();
        EXPECT_EQ(report.checked, 2 * 9 * 6);
      }
    }
  }
}

TEST(Accuracy, AnErrorOfTenBoundsFails) {
  for (int i = 0; i < kActivationCount; ++i) {
    const auto a = static_cast<Activation>(i);
    Fixture fx = make_fixture(a, DataFormat::channels_last, DType::f32);
    const double tol = accuracy::tolerance(DType::f32, MathMode::exact,
                                           accuracy::reduction_length(fx.config, 4));
    // Plant an error ten times the bound in one element where f is not flat.
    bool planted = false;
    for (std::int64_t t = 0; t < 9 && !planted; ++t) {
      double row_max_e = 0;
      for (std::int64_t f = 0; f < 6; ++f)
        row_max_e = std::max(row_max_e, tol * fx.ref.magnitude[fx.ref.index(1, t, f)]);
      for (std::int64_t f = 0; f < 6 && !planted; ++f) {
        const auto k = fx.ref.index(1, t, f);
        const double z = fx.ref.preactivation[k];
        const double e = tol * fx.ref.magnitude[k];
        const double want = fx.ref.output[k];
        if (a == Activation::softmax) {
          fx.y.set(1, t, f, want * (1 + 10 * std::expm1(e + row_max_e)) + 1e-6 * want);
          planted = true;
        } else if (a == Activation::log_softmax) {
          fx.y.set(1, t, f, want + 10 * (e + row_max_e) + 1e-6 * std::fabs(want));
          planted = true;
        } else {
          const double moved = reference::activation(a, z + 10 * e);
          const double step = std::fabs(reference::activation(a, z + e) - want);
          const double scale = accuracy::evaluation_scale(a, z) + std::fabs(want);
          // Moved by more than the bound's interval and twice its rounding slack.
          if (std::fabs(moved - want) > 5 * step + 2 * 8 * std::ldexp(1.0, -24) * scale) {
            fx.y.set(1, t, f, moved);
            planted = true;
          }
        }
      }
    }
    ASSERT_TRUE(planted) << to_string(a) << ": no element where the activation is not flat";
    const auto report = compare(fx, DType::f32);
    EXPECT_FALSE(report.ok()) << to_string(a) << ": " << report.summary();
    EXPECT_EQ(report.failures, 1) << to_string(a);
  }
}

TEST(Accuracy, NaNNeverPasses) {
  Fixture fx = make_fixture(Activation::relu, DataFormat::channels_first, DType::f32);
  fx.y.set(0, 3, 4, std::nan(""));
  const auto report = compare(fx, DType::f32);
  EXPECT_EQ(report.nan_count, 1);
  EXPECT_EQ(report.failures, 1);
}

TEST(Accuracy, InfinityOnlyWhereTheReferenceOverflows) {
  Fixture fx = make_fixture(Activation::linear, DataFormat::channels_last, DType::f16);
  fx.y.set(0, 0, 0, INFINITY);
  EXPECT_FALSE(compare(fx, DType::f16).ok());
}

TEST(Accuracy, IntervalsAtKinksAndJumps) {
  using accuracy::activation_range;
  // relu at its kink: any value in [0, e].
  auto r = activation_range(Activation::relu, -0.1, 0.1);
  EXPECT_EQ(r.lo, 0);
  EXPECT_EQ(r.hi, 0.1);
  // hard_shrink straddling its jump at 0.5: both 0 and values just above 0.5 are in range.
  r = activation_range(Activation::hard_shrink, 0.49, 0.51);
  EXPECT_LE(r.lo, 0);
  EXPECT_GE(r.hi, 0.5);
  // gelu around its minimum: the interior minimum is included.
  r = activation_range(Activation::gelu, -1, -0.5);
  EXPECT_NEAR(r.lo, -0.16997120747990369, 1e-12);
  r = activation_range(Activation::silu, -2, 0);
  EXPECT_NEAR(r.lo, -0.2784645427610738, 1e-12);
  r = activation_range(Activation::mish, -2, 0);
  EXPECT_NEAR(r.lo, -0.30884341301725027, 1e-12);
  r = activation_range(Activation::hard_silu, -2, 0);
  EXPECT_NEAR(r.lo, -0.375, 1e-15);
}

TEST(Accuracy, EvaluationScaleCoversCancellation) {
  // x - tanh(x) near 0 is tiny, but float32 evaluation errs relative to |x|.
  EXPECT_GT(accuracy::evaluation_scale(Activation::tanh_shrink, 1e-3), 1e-3);
  EXPECT_GT(accuracy::evaluation_scale(Activation::gelu, -6), 5);
  EXPECT_GT(accuracy::evaluation_scale(Activation::squareplus, -100), 100);
}

}  // namespace
}  // namespace sepconv::test
