// The initializers' generator (detail/random.h): Philox4x32-10 against the Random123 known-answer
// vectors, the logarithm it is built on, and the independence of its streams.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>

#include "detail/random.h"

namespace sepconv::detail {
namespace {

// Random123's kat_vectors, "philox4x32 10" lines: counter (4 words), key (2 words), output.
TEST(Philox, MatchesTheRandom123KnownAnswers) {
  struct Case {
    Philox4 counter;
    std::uint32_t k0, k1;
    Philox4 expected;
  };
  const Case cases[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, 0xffffffff, 0xffffffff,
       {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, 0xa4093822, 0x299f31d0,
       {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  for (const Case& c : cases) {
    const Philox4 out = philox4x32_10(c.counter, c.k0, c.k1);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(out.w[i], c.expected.w[i]) << "word " << i;
  }
}

TEST(Philox, TheCounterAndSeedLayoutIsTheDocumentedOne) {
  // Element i, attempt a under seed s is Philox((i lo, i hi, a, 0), (s lo, s hi)).
  const std::uint64_t seed = 0x299f31d0a4093822ull;
  const std::uint64_t index = 0x85a308d3243f6a88ull;
  const Philox4 out = random_words(seed, index, 0x13198a2eu);
  const Philox4 expected =
      philox4x32_10({{0x243f6a88, 0x85a308d3, 0x13198a2e, 0}}, 0xa4093822, 0x299f31d0);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out.w[i], expected.w[i]);
}

TEST(RandomLog, IsWithinFourUlpOfTheLibraryLogarithm) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  double worst = 0.0;
  for (int i = 0; i < 200000; ++i) {
    // Values over the whole range the polar method gives: (0, 1), down to 2^-104.
    const double s = std::ldexp(0.5 + 0.5 * unit(rng), -static_cast<int>(rng() % 105));
    const double expected = std::log(s);
    const double ulp = std::nextafter(std::abs(expected), INFINITY) - std::abs(expected);
    worst = std::max(worst, std::abs(log_positive(s) - expected) / ulp);
  }
  EXPECT_LE(worst, 4.0);
  EXPECT_EQ(log_positive(1.0), 0.0);
  EXPECT_NEAR(log_positive(0.5), -0.69314718055994530942, 1e-16);
}

TEST(RandomUniform, Uniform53CoversZeroToOneExclusive) {
  EXPECT_EQ(uniform53(0, 0), 0.0);
  EXPECT_EQ(uniform53(0xffffffffu, 0xffffffffu), 1.0 - 0x1p-53);
  EXPECT_EQ(uniform53(0x80000000u, 0), 0.5);
}

TEST(RandomStreams, NeighboursAndSeedsAreUncorrelated) {
  // Pearson correlation of N(0,1) pairs; for independent variates its standard error is
  // 1/sqrt(n): |r| <= 5/sqrt(n) has a false-alarm probability of 5.7e-7.
  constexpr int n = 100000;
  const RandomSpec normal{RandomKind::normal, 0.0, 1.0};
  double neighbours = 0.0, seeds = 0.0, squares = 0.0;
  for (int i = 0; i < n; ++i) {
    const double a = random_value(normal, 11, static_cast<std::uint64_t>(i));
    neighbours += a * random_value(normal, 11, static_cast<std::uint64_t>(i) + 1);
    seeds += a * random_value(normal, 12, static_cast<std::uint64_t>(i));
    squares += a * a;
  }
  EXPECT_LE(std::abs(neighbours / squares), 5.0 / std::sqrt(n));
  EXPECT_LE(std::abs(seeds / squares), 5.0 / std::sqrt(n));
}

}  // namespace
}  // namespace sepconv::detail
