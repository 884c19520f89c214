// The Keras initializers on the host (sepconv/training.h): fans, the distribution each one draws
// from (range, mean, variance, Kolmogorov-Smirnov: distribution_checks.h), Orthogonal's
// orthogonality, rounding into host views, reproducibility, identifiers and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "distribution_checks.h"
#include "sepconv/training.h"
#include "training_test_support.h"

namespace sepconv::test {
namespace {

using Shape = std::vector<std::int64_t>;

// The kernels' shapes the tests draw from: depthwise (k, C, M) and pointwise (1, C*M, F).
const Shape kDepthwise = {7, 256, 4};     // fan_in 1792, fan_out 28, 7168 values
const Shape kPointwise = {1, 1024, 64};   // fan_in 1024, fan_out 64, 65536 values

TEST(Fans, AreKerasComputeFansForTheLayersShapes) {
  const Fans dw = compute_fans({5, 12, 3});  // depthwise (k, C, M): (k*C, k*M)
  EXPECT_EQ(dw.fan_in, 60);
  EXPECT_EQ(dw.fan_out, 15);
  const Fans pw = compute_fans({1, 36, 24});  // pointwise (1, C*M, F): (C*M, F)
  EXPECT_EQ(pw.fan_in, 36);
  EXPECT_EQ(pw.fan_out, 24);
  const Fans bias = compute_fans({24});  // rank 1: (n, n)
  EXPECT_EQ(bias.fan_in, 24);
  EXPECT_EQ(bias.fan_out, 24);
  const Fans matrix = compute_fans({6, 9});  // rank 2: (s0, s1)
  EXPECT_EQ(matrix.fan_in, 6);
  EXPECT_EQ(matrix.fan_out, 9);
}

// The named members of the VarianceScaling family: the distribution each draws from for a shape.
struct Family {
  Initializer init;
  double scale;
  FanMode mode;
  bool uniform;
};

double fan(const Shape& shape, FanMode mode) {
  const Fans f = compute_fans(shape);
  switch (mode) {
    case FanMode::fan_in: return static_cast<double>(f.fan_in);
    case FanMode::fan_out: return static_cast<double>(f.fan_out);
    case FanMode::fan_avg: break;
  }
  return static_cast<double>(f.fan_in + f.fan_out) / 2;
}

// Keras's formulas: variance = scale / max(1, n); uniform on +-sqrt(3 variance); truncated normal
// with stddev sqrt(variance) / 0.87962566103423978 cut at 2 of its stddevs; untruncated N(0, var).
Distribution expected_distribution(double scale, FanMode mode, VarianceDistribution d,
                                   const Shape& shape) {
  const double variance = scale / std::max(1.0, fan(shape, mode));
  switch (d) {
    case VarianceDistribution::uniform: {
      const double limit = std::sqrt(3 * variance);
      return uniform_distribution(-limit, limit);
    }
    case VarianceDistribution::untruncated_normal: return normal_distribution(0, std::sqrt(variance));
    case VarianceDistribution::truncated_normal: break;
  }
  return truncated_distribution(0, std::sqrt(variance) / 0.87962566103423978);
}

TEST(Initializers, TheVarianceScalingFamilyDrawsFromKerasDistributions) {
  using VD = VarianceDistribution;
  const Family family[] = {
      {initializers::glorot_uniform(), 1, FanMode::fan_avg, true},
      {initializers::glorot_normal(), 1, FanMode::fan_avg, false},
      {initializers::he_uniform(), 2, FanMode::fan_in, true},
      {initializers::he_normal(), 2, FanMode::fan_in, false},
      {initializers::lecun_uniform(), 1, FanMode::fan_in, true},
      {initializers::lecun_normal(), 1, FanMode::fan_in, false},
      {Initializer{}, 1, FanMode::fan_avg, true},  // the default: glorot_uniform
  };
  std::uint64_t seed = 100;
  for (const Family& f : family) {
    for (const Shape& shape : {kDepthwise, kPointwise}) {
      const Distribution d = expected_distribution(
          f.scale, f.mode, f.uniform ? VD::uniform : VD::truncated_normal, shape);
      expect_distribution(initial_values(f.init, ++seed, shape), d,
                          to_string(f.init.kind) + " " + std::to_string(shape[1]));
    }
  }
}

TEST(Initializers, VarianceScalingHasEveryModeAndDistribution) {
  std::uint64_t seed = 200;
  for (const FanMode mode : {FanMode::fan_in, FanMode::fan_out, FanMode::fan_avg}) {
    for (const VarianceDistribution d :
         {VarianceDistribution::truncated_normal, VarianceDistribution::untruncated_normal,
          VarianceDistribution::uniform}) {
      const Initializer init = initializers::variance_scaling(0.7, mode, d);
      expect_distribution(initial_values(init, ++seed, kPointwise),
                          expected_distribution(0.7, mode, d, kPointwise),
                          "variance_scaling mode " + std::to_string(static_cast<int>(mode)) +
                              " distribution " + std::to_string(static_cast<int>(d)));
    }
  }
  // A depthwise kernel with k = 1 and M = 1 has fan_out 1: variance = scale / 1.
  const Initializer init = initializers::variance_scaling(3.0, FanMode::fan_out,
                                                          VarianceDistribution::uniform);
  expect_distribution(initial_values(init, 7, {1, 4096, 1}), uniform_distribution(-3, 3),
                      "variance_scaling fan_out 1");
}

TEST(Initializers, RandomUniformNormalAndTruncatedNormalUseTheirParameters) {
  expect_distribution(initial_values(initializers::random_uniform(), 1, kPointwise),
                      uniform_distribution(-0.05, 0.05), "random_uniform defaults");
  expect_distribution(initial_values(initializers::random_uniform(-1.5, 4), 2, kPointwise),
                      uniform_distribution(-1.5, 4), "random_uniform(-1.5, 4)");
  expect_distribution(initial_values(initializers::random_normal(), 3, kPointwise),
                      normal_distribution(0, 0.05), "random_normal defaults");
  expect_distribution(initial_values(initializers::random_normal(2, 3), 4, kPointwise),
                      normal_distribution(2, 3), "random_normal(2, 3)");
  expect_distribution(initial_values(initializers::truncated_normal(), 5, kPointwise),
                      truncated_distribution(0, 0.05), "truncated_normal defaults");
  expect_distribution(initial_values(initializers::truncated_normal(-1, 0.5), 6, kPointwise),
                      truncated_distribution(-1, 0.5), "truncated_normal(-1, 0.5)");
}

TEST(Initializers, ConstantsAreExact) {
  for (const double v : initial_values(initializers::zeros(), 1, {3, 4, 2})) EXPECT_EQ(v, 0.0);
  for (const double v : initial_values(initializers::ones(), 1, {5})) EXPECT_EQ(v, 1.0);
  for (const double v : initial_values(initializers::constant(-2.25), 1, {1, 6, 2})) {
    EXPECT_EQ(v, -2.25);
  }
  EXPECT_EQ(initializers::constant().value, 0.0);  // Keras's Constant(value=0.0)
}

TEST(Initializers, AreReproducibleAndDependOnTheSeed) {
  const Initializer init = initializers::he_normal();
  const std::vector<double> a = initial_values(init, 42, kDepthwise);
  EXPECT_EQ(a, initial_values(init, 42, kDepthwise));
  const std::vector<double> b = initial_values(init, 43, kDepthwise);
  std::size_t equal = 0;
  for (std::size_t i = 0; i < a.size(); ++i) equal += a[i] == b[i];
  EXPECT_EQ(equal, 0u);
  // Element i depends on (seed, i) only: a prefix of a longer tensor is the shorter one, scaled.
  const std::vector<double> n1 = initial_values(initializers::random_normal(0, 1), 9, {100});
  const std::vector<double> n2 = initial_values(initializers::random_normal(0, 2), 9, {10, 20});
  for (std::size_t i = 0; i < n1.size(); ++i) EXPECT_EQ(2 * n1[i], n2[i]);
}

// Max |(Q^T Q - gain^2 I)_ij| over the columns (rows when `rows`) of a rows x cols matrix.
double orthogonality_error(const std::vector<double>& q, std::int64_t rows, std::int64_t cols,
                           bool by_rows, double gain) {
  const std::int64_t n = by_rows ? rows : cols;
  const std::int64_t len = by_rows ? cols : rows;
  double worst = 0.0;
  for (std::int64_t a = 0; a < n; ++a) {
    for (std::int64_t b = 0; b < n; ++b) {
      double dot = 0.0;
      for (std::int64_t k = 0; k < len; ++k) {
        dot += by_rows ? q[a * cols + k] * q[b * cols + k] : q[k * cols + a] * q[k * cols + b];
      }
      worst = std::max(worst, std::abs(dot - (a == b ? gain * gain : 0.0)));
    }
  }
  return worst;
}

TEST(Orthogonal, IsOrthogonalTimesGainAndIsTheSignFixedQrOfANormalMatrix) {
  struct Case {
    Shape shape;
    double gain;
  };
  // rows = prod(shape[:-1]) vs cols = shape[-1]: tall (orthonormal columns), wide (orthonormal
  // rows, the transposed Q), square, and a depthwise kernel of rank 3.
  const Case cases[] = {{{1, 96, 16}, 1.0}, {{1, 8, 40}, 0.5}, {{24, 24}, 2.0}, {{3, 5, 2}, 1.0}};
  std::uint64_t seed = 300;
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.shape));
    std::int64_t rows = 1;
    for (std::size_t i = 0; i + 1 < c.shape.size(); ++i) rows *= c.shape[i];
    const std::int64_t cols = c.shape.back();
    const std::vector<double> q = initial_values(initializers::orthogonal(c.gain), ++seed, c.shape);
    // float64 QR of matrices this small: 1e-12 is 4500 units of 2^-53 per entry.
    EXPECT_LE(orthogonality_error(q, rows, cols, rows < cols, c.gain), 1e-12);
    // The documented construction: A (max, min) = random_normal(0, 1) under the same seed, Q its
    // QR with sign(diag R) folded in, so R = Q^T A is upper triangular with a positive diagonal.
    const std::int64_t m = std::max(rows, cols), n = std::min(rows, cols);
    const std::vector<double> a = initial_values(initializers::random_normal(0, 1), seed, {m, n});
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double r = 0.0;  // (Q^T A)_ij with Q (m x n) = q / gain, transposed back when wide
        for (std::int64_t k = 0; k < m; ++k) {
          const double qki = rows < cols ? q[i * cols + k] : q[k * cols + i];
          r += qki / c.gain * a[k * n + j];
        }
        if (i > j) {
          EXPECT_NEAR(r, 0.0, 1e-10) << i << "," << j;
        } else if (i == j) {
          EXPECT_GT(r, 0.0) << i;
        }
      }
    }
  }
}

TEST(Orthogonal, InAFloat32ViewIsOrthogonalWithinItsRounding) {
  // Each entry rounds with relative error <= u = 2^-24, so |(Q~^T Q~ - Q^T Q)_ij| <= (2u + u^2)
  // sum_k |q_ki q_kj| <= (2u + u^2) g^2 (Cauchy-Schwarz, unit columns times g).
  HostTensor w(DType::f32, {1, 200, 32});
  initialize(initializers::orthogonal(1.5), 77, w.view());
  const double u = 0x1p-24;
  EXPECT_LE(orthogonality_error(w.values(), 200, 32, false, 1.5), (2 * u + u * u) * 2.25 + 1e-12);
}

TEST(Initializers, HostViewsGetTheValuesRoundedToFloat32ThenToTheirDtype) {
  const Shape shape = {3, 10, 2};
  for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    for (const Initializer& init :
         {initializers::glorot_uniform(), initializers::he_normal(),
          initializers::random_normal(1, 2), initializers::orthogonal(0.7),
          initializers::constant(0.1)}) {
      SCOPED_TRACE(to_string(init.kind) + " " + std::string(to_string(dtype)));
      const std::vector<double> exact = initial_values(init, 5, shape);
      HostTensor t(dtype, shape, {1, 3, 2});  // a strided slice of a poisoned buffer
      t.poison();
      HostTensor expected = t;
      initialize(init, 5, t.view());
      std::vector<double> rounded(exact.size());
      for (std::size_t i = 0; i < exact.size(); ++i) {
        rounded[i] = detail::round_to(dtype, static_cast<float>(exact[i]));
      }
      EXPECT_EQ(t.values(), rounded);
      // Every byte, the poisoned slack around the view included, is what writing exactly the
      // rounded values into the view gives.
      expected.assign(rounded);
      EXPECT_EQ(t.bytes(), expected.bytes());
    }
  }
}

TEST(Initializers, IdentifiersParseToKerasDefaults) {
  const std::pair<const char*, InitializerKind> names[] = {
      {"glorot_uniform", InitializerKind::glorot_uniform},
      {"GlorotUniform", InitializerKind::glorot_uniform},
      {"glorot_normal", InitializerKind::glorot_normal},
      {"he_uniform", InitializerKind::he_uniform},
      {"HeNormal", InitializerKind::he_normal},
      {"lecun_uniform", InitializerKind::lecun_uniform},
      {"LecunNormal", InitializerKind::lecun_normal},
      {"random_uniform", InitializerKind::random_uniform},
      {"uniform", InitializerKind::random_uniform},
      {"RandomNormal", InitializerKind::random_normal},
      {"normal", InitializerKind::random_normal},
      {"truncated_normal", InitializerKind::truncated_normal},
      {"variance_scaling", InitializerKind::variance_scaling},
      {"orthogonal", InitializerKind::orthogonal},
      {"OrthogonalInitializer", InitializerKind::orthogonal},
      {"zeros", InitializerKind::zeros},
      {"zero", InitializerKind::zeros},
      {"Ones", InitializerKind::ones},
      {"one", InitializerKind::ones},
      {"constant", InitializerKind::constant},
  };
  for (const auto& [name, kind] : names) EXPECT_EQ(parse_initializer(name).kind, kind) << name;
  const Initializer vs = parse_initializer("VarianceScaling");
  EXPECT_EQ(vs.scale, 1.0);
  EXPECT_EQ(vs.mode, FanMode::fan_in);
  EXPECT_EQ(vs.distribution, VarianceDistribution::truncated_normal);
  EXPECT_EQ(parse_initializer("random_uniform").minval, -0.05);
  EXPECT_EQ(parse_initializer("truncated_normal").stddev, 0.05);
  EXPECT_EQ(parse_initializer("orthogonal").gain, 1.0);
  for (const char* bad : {"identity", "stft", "Glorot_Uniform", ""}) {
    try {
      static_cast<void>(parse_initializer(bad));
      ADD_FAILURE() << bad;
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(e.argument(), "initializer") << e.what();
    }
  }
}

TEST(InitializerErrors, BadParametersAndViewsAreRejectedBeforeWriting) {
  HostTensor w(DType::f32, {2, 3, 4});
  w.poison();
  const std::vector<unsigned char> before = w.bytes();
  expect_invalid([&] { initialize(initializers::random_uniform(1, -1), 1, w.view()); },
                 "initializer", "minval <= maxval");
  expect_invalid([&] { initialize(initializers::random_normal(0, -1), 1, w.view()); },
                 "initializer", "stddev >= 0");
  expect_invalid([&] { initialize(initializers::truncated_normal(NAN, 1), 1, w.view()); },
                 "initializer", "finite mean");
  expect_invalid(
      [&] {
        initialize(initializers::variance_scaling(0.0, FanMode::fan_in,
                                                  VarianceDistribution::uniform),
                   1, w.view());
      },
      "initializer", "scale > 0");
  expect_invalid([&] { initialize(initializers::orthogonal(INFINITY), 1, w.view()); },
                 "initializer", "finite gain");
  HostTensor bias(DType::f32, {4});
  expect_invalid([&] { initialize(initializers::orthogonal(), 1, bias.view()); }, "initializer",
                 "rank >= 2");
  TensorView aliased = w.view();
  aliased.strides = {0, 4, 1};
  expect_invalid([&] { initialize(initializers::ones(), 1, aliased); }, "out", "distinct");
  TensorView negative = w.view();
  negative.shape[0] = -1;
  expect_invalid([&] { initialize(initializers::ones(), 1, negative); }, "out", "non-negative");
  expect_invalid([&] { static_cast<void>(initial_values(initializers::ones(), 1, {1, 2, 3, 4})); },
                 "shape", "rank 1 to 3");
  EXPECT_EQ(before, w.bytes());
}

}  // namespace
}  // namespace sepconv::test
