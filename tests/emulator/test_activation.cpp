// The activation functors and the epilogue's row code (the functions the kernels run), on the
// host, against the float64 reference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "detail/activations.h"
#include "kernels/epilogue/epilogue.h"
#include "emulator/checked_memory.h"
#include "detail/elements.h"
#include "sepconv/accuracy.h"
#include "sepconv/error.h"
#include "sepconv/reference.h"

namespace sepconv::test {
namespace {

// The grid: a dense sweep of [-12, 12], every kink and jump of the activations with its float
// neighbours, and large magnitudes up to float's range.
std::vector<float> grid() {
  std::vector<float> xs;
  for (int i = -12 * 256; i <= 12 * 256; ++i) xs.push_back(static_cast<float>(i) / 256.0f);
  for (float p : {0.0f, 0.5f, 1.0f, 2.5f, 3.0f, 6.0f, 1e-30f, 1e-7f, 1e-3f}) {
    for (float s : {1.0f, -1.0f}) {
      const float x = s * p;
      xs.push_back(x);
      xs.push_back(std::nextafter(x, INFINITY));
      xs.push_back(std::nextafter(x, -INFINITY));
    }
  }
  for (float big : {15.0f, 20.0f, 30.0f, 50.0f, 87.0f, 88.5f, 89.0f, 100.0f, 1e4f, 1e10f, 1e19f,
                    1e20f, 1e30f, 3e38f}) {
    xs.push_back(big);
    xs.push_back(-big);
  }
  return xs;
}

// |f(x) - f_ref(x)| within the slack accuracy::compare allows an output (with e = 0): one float32
// rounding of the value and 8 float32 units of the evaluation scale, plus the smallest normal.
double allowed(Activation a, double x, double ref) {
  return std::ldexp(1.0, -24) * std::fabs(ref) +
         8 * std::ldexp(1.0, -24) * accuracy::evaluation_scale(a, x) + std::ldexp(1.0, -126);
}

TEST(ActivationFunctors, FloatMatchesTheReferenceEverywhere) {
  const std::vector<float> xs = grid();
  for (int i = 0; i < kActivationCount; ++i) {
    const auto a = static_cast<Activation>(i);
    if (is_row_reduction(a)) continue;
    int failures = 0;
    detail::dispatch_activation(a, [&](auto f) {
      for (float x : xs) {
        const double got = f(x);
        const double ref = reference::activation(a, x);
        const accuracy::Interval range = accuracy::activation_range(a, x, x);
        ASSERT_EQ(range.lo, range.hi);
        if (std::fabs(ref) > std::numeric_limits<float>::max()) {  // overflows float: inf
          EXPECT_EQ(got, ref > 0 ? INFINITY : -INFINITY) << to_string(a) << "(" << x << ")";
          continue;
        }
        const double err = std::fabs(got - ref);
        if (!(err <= allowed(a, x, ref)) && ++failures <= 5) {
          ADD_FAILURE() << to_string(a) << "(" << x << ") = " << got << ", reference " << ref
                        << ", error " << err << " > " << allowed(a, x, ref);
        }
      }
    });
    EXPECT_EQ(failures, 0) << to_string(a);
  }
}

TEST(ActivationFunctors, DoubleInstantiationMatchesTheReference) {
  const std::vector<float> xs = grid();
  for (int i = 0; i < kActivationCount; ++i) {
    const auto a = static_cast<Activation>(i);
    if (is_row_reduction(a)) continue;
    detail::dispatch_activation(a, [&](auto f) {
      for (float xf : xs) {
        const double x = xf;
        const double got = f(x);
        const double ref = reference::activation(a, x);
        if (std::isinf(ref)) {
          EXPECT_EQ(got, ref) << to_string(a) << "(" << x << ")";
          continue;
        }
        // A few float64 units of the evaluation scale (the formulas differ in form, not value),
        // and of |x| where the reference itself cancels (z/6 + 0.5 near -3).
        const double bound =
            16 * std::ldexp(1.0, -53) * (accuracy::evaluation_scale(a, x) + std::fabs(x) + 1) +
            1e-300;
        EXPECT_LE(std::fabs(got - ref), bound) << to_string(a) << "(" << x << ")";
      }
    });
  }
}

TEST(ActivationFunctors, DispatcherRejectsRowReductions) {
  auto f = [](auto) { return 0; };
  EXPECT_THROW(detail::dispatch_activation(Activation::softmax, f), InvalidArgument);
  EXPECT_THROW(detail::dispatch_activation(Activation::log_softmax, f), InvalidArgument);
}

TEST(ActivationFunctors, NeverTheTanhGelu) {
  // The exact erf form and the tanh approximation differ by ~2e-4 around |x| = 2: far more than
  // the float rounding of the exact form.
  const float x = 2.0f;
  const double exact = 0.5 * x * std::erfc(-x / std::sqrt(2.0));
  const double tanh_form =
      0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  const double got = detail::ActivationFn<Activation::gelu>{}(x);
  EXPECT_LT(std::fabs(got - exact), 1e-6);
  EXPECT_GT(std::fabs(got - tanh_form), 1e-5);
}

// ---- the row pass on long rows ----------------------------------------------------------------

// softmax / log_softmax along the rows of a channels_first y (2 filters x n steps), through the
// host version of the row kernel, checked with accuracy::compare as if each z were a single
// product (k = 1, C*M = 1: e = 4 float32 units of |z|).
void check_long_rows(Activation a, std::int64_t n) {
  detail::EpiloguePlan p;
  p.dtype = DType::f32;
  p.row_reduction = true;
  p.row_activation = a;
  p.format = DataFormat::channels_first;
  p.batch = 1;
  p.filters = 2;
  p.steps = n;
  p.y_batch_stride = 2 * n;
  p.y_row_stride = n;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> dist(-8.0f, 8.0f);
  std::vector<float> y(static_cast<std::size_t>(2 * n));
  for (float& v : y) v = dist(rng);

  reference::Detail ref;
  ref.window = {0, 1, 0, n};
  ref.filters = 2;
  ref.data_format = DataFormat::channels_first;
  ref.preactivation.assign(y.begin(), y.end());
  ref.magnitude.resize(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) ref.magnitude[i] = std::fabs(ref.preactivation[i]);
  ref.output = ref.preactivation;
  for (std::int64_t row = 0; row < 2; ++row) {
    double* z = ref.output.data() + row * n;
    double top = -INFINITY;
    for (std::int64_t i = 0; i < n; ++i) top = std::max(top, z[i]);
    double sum = 0;
    for (std::int64_t i = 0; i < n; ++i) sum += std::exp(z[i] - top);
    for (std::int64_t i = 0; i < n; ++i) {
      z[i] = a == Activation::softmax ? std::exp(z[i] - top) / sum : (z[i] - top) - std::log(sum);
    }
  }

  emulator::CheckedMemory memory;
  memory.add_global("y", y.data(), y.size() * sizeof(float), true);
  detail::apply_epilogue_host(p, y.data(), nullptr, nullptr, memory);
  EXPECT_EQ(memory.error_count(), 0) << memory.errors().front();
  LayerConfig config;
  config.filters = 2;
  config.kernel_size = 1;
  config.data_format = DataFormat::channels_first;
  config.activation = a;
  const accuracy::Report report = accuracy::compare(config, 1, DType::f32, MathMode::exact, ref,
                                                    contiguous_view(y.data(), {1, 2, n}));
  EXPECT_TRUE(report.ok()) << to_string(a) << " over " << n << " steps: " << report.summary();
}

TEST(EpilogueRows, SoftmaxOfLongRowsKeepsFloatAccuracy) {
  // The compensated sum keeps the denominator at about one float rounding whatever n is.
  check_long_rows(Activation::softmax, 70000);
  check_long_rows(Activation::log_softmax, 70000);
  check_long_rows(Activation::softmax, 1);
}

TEST(EpilogueRows, BiasThenSoftmaxAlongFilters) {
  // channels_last rows: the elementwise pass adds bias[f], then the row pass normalises.
  detail::EpiloguePlan p;
  p.dtype = DType::bf16;
  p.elementwise = true;
  p.add_bias = true;
  p.row_reduction = true;
  p.row_activation = Activation::softmax;
  p.format = DataFormat::channels_last;
  p.batch = 2;
  p.steps = 3;
  p.filters = 4;
  p.y_row_stride = 5;     // sliced rows
  p.y_batch_stride = 16;  // and batches
  std::vector<unsigned char> y(32 * 2);
  std::vector<unsigned char> bias(4 * 2);
  for (int f = 0; f < 4; ++f) detail::store_element(bias.data(), DType::bf16, f, 0.25 * f);
  for (int i = 0; i < 32; ++i) detail::store_element(y.data(), DType::bf16, i, 0.5 * (i % 7));
  const std::vector<unsigned char> before = y;
  emulator::CheckedMemory memory;
  memory.add_global("y", y.data(), y.size(), true);
  memory.add_global("bias", bias.data(), bias.size(), false);
  detail::apply_epilogue_host(p, y.data(), nullptr, bias.data(), memory);
  ASSERT_EQ(memory.error_count(), 0) << memory.errors().front();
  for (int b = 0; b < 2; ++b) {
    for (int t = 0; t < 3; ++t) {
      double z[4];
      double sum = 0;
      for (int f = 0; f < 4; ++f) {
        z[f] = detail::load_element(before.data(), DType::bf16, b * 16 + t * 5 + f) + 0.25 * f;
        sum += std::exp(z[f]);
      }
      for (int f = 0; f < 4; ++f) {
        const double got = detail::load_element(y.data(), DType::bf16, b * 16 + t * 5 + f);
        EXPECT_NEAR(got, std::exp(z[f]) / sum, 2 * std::ldexp(1.0, -8) * std::exp(z[f]) / sum);
      }
      // The gap after each row is untouched.
      EXPECT_EQ(detail::load_element(y.data(), DType::bf16, b * 16 + t * 5 + 4),
                detail::load_element(before.data(), DType::bf16, b * 16 + t * 5 + 4));
    }
  }
}

}  // namespace
}  // namespace sepconv::test
