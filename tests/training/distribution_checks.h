// Test support: checks of a sample against a distribution with stated false-alarm probabilities.
//
// Each check is a two-sided test that a correct generator fails with probability at most
// kFalseAlarm (seeds are fixed, so a pass is reproducible; the bound says how unlikely a
// correct generator with another seed would be to fail):
//   * range: every value inside the support (exact, no false alarm);
//   * mean: |mean - mu| <= z * sqrt(m2 / N);
//   * variance about the true mean: |s2 - m2| <= z * sqrt((m4 - m2^2) / N), with m2, m4 the
//     distribution's central moments (the variance of s2 is (m4 - m2^2) / N);
//   * shape: the Kolmogorov-Smirnov statistic D <= sqrt(ln(2 / alpha) / (2N)) (the DKW bound).
// z = 5.0 (two-sided normal tail 5.7e-7), alpha = 1e-6: kFalseAlarm = 1e-6 per check.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace sepconv::test {

inline constexpr double kFalseAlarm = 1e-6;
inline constexpr double kZ = 5.0;

struct Distribution {
  std::string name;
  double lo = -INFINITY, hi = INFINITY;  ///< support
  double mean = 0.0;
  double m2 = 0.0;  ///< central second moment (variance)
  double m4 = 0.0;  ///< central fourth moment
  std::function<double(double)> cdf;
};

inline double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
inline double normal_pdf(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI); }

inline Distribution uniform_distribution(double a, double b) {
  const double w = b - a;
  return {"U(" + std::to_string(a) + ", " + std::to_string(b) + ")", a, b, (a + b) / 2,
          w * w / 12, w * w * w * w / 80, [a, w](double x) { return std::clamp((x - a) / w, 0.0, 1.0); }};
}

inline Distribution normal_distribution(double mu, double sigma) {
  return {"N(" + std::to_string(mu) + ", " + std::to_string(sigma) + "^2)", -INFINITY, INFINITY,
          mu, sigma * sigma, 3 * std::pow(sigma, 4),
          [mu, sigma](double x) { return normal_cdf((x - mu) / sigma); }};
}

/// N(mu, sigma^2) restricted to mu +- c sigma: with Z = 2 Phi(c) - 1, m2 = sigma^2 (1 - 2c phi(c)
/// / Z), m4 = sigma^4 (3 (1 - 2c phi(c) / Z) - 2c^3 phi(c) / Z).
inline Distribution truncated_distribution(double mu, double sigma, double c = 2.0) {
  const double z = 2 * normal_cdf(c) - 1;
  const double p = normal_pdf(c);
  const double m2 = 1 - 2 * c * p / z;
  const double m4 = 3 * m2 - 2 * c * c * c * p / z;
  return {"TN(" + std::to_string(mu) + ", " + std::to_string(sigma) + "^2)", mu - c * sigma,
          mu + c * sigma, mu, sigma * sigma * m2, std::pow(sigma, 4) * m4,
          [mu, sigma, c, z](double x) {
            return std::clamp((normal_cdf((x - mu) / sigma) - normal_cdf(-c)) / z, 0.0, 1.0);
          }};
}

/// Range, mean, variance and Kolmogorov-Smirnov checks (see the file comment).
inline void expect_distribution(const std::vector<double>& values, const Distribution& d,
                                const std::string& what) {
  SCOPED_TRACE(what + " against " + d.name);
  const auto n = static_cast<double>(values.size());
  ASSERT_GT(values.size(), 1000u);
  double sum = 0.0;
  double squares = 0.0;
  for (const double v : values) {
    ASSERT_GE(v, d.lo);
    ASSERT_LE(v, d.hi);
    sum += v;
    squares += (v - d.mean) * (v - d.mean);
  }
  EXPECT_LE(std::abs(sum / n - d.mean), kZ * std::sqrt(d.m2 / n)) << "mean " << sum / n;
  EXPECT_LE(std::abs(squares / n - d.m2), kZ * std::sqrt((d.m4 - d.m2 * d.m2) / n))
      << "variance " << squares / n << ", expected " << d.m2;
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  double ks = 0.0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const double f = d.cdf(sorted[i]);
    ks = std::max({ks, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  EXPECT_LE(ks, std::sqrt(std::log(2 / kFalseAlarm) / (2 * n))) << "Kolmogorov-Smirnov D";
}

}  // namespace sepconv::test
