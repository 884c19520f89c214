// Internal: the counter-based generator and the samplers of the initializers, written once for
// the device (kernels/random/) and the host (training/initializers.cpp), so that both produce
// the same bits for the same seed.
//
// Generator: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11;
// the Random123 known-answer vectors are checked in tests/training/test_random.cpp). Element i of
// a tensor (row-major order of its shape) draws from the counter (i mod 2^32, i / 2^32, attempt,
// 0) under the key (seed mod 2^32, seed / 2^32): its value depends on the seed and i only, never
// on how the work is split between threads.
//
// Bitwise reproducibility across host and device: every value is computed in float64 with
// operations IEEE 754 rounds correctly on both (+, -, *, /, sqrt, fma) and the logarithm below,
// built from them; every product that feeds a sum is an explicit fma, so a compiler's
// contraction (nvcc's -fmad, g++'s -ffp-contract) has nothing left to fuse. The files that
// include this header are compiled with contraction off besides (src/CMakeLists.txt).
#pragma once

#include <cstdint>
#include <cstring>

#include "detail/host_device.h"

#if defined(__CUDACC__)
#define SEPCONV_RANDOM_FMA ::fma
#define SEPCONV_RANDOM_SQRT ::sqrt
#else
#include <cmath>
#define SEPCONV_RANDOM_FMA std::fma
#define SEPCONV_RANDOM_SQRT std::sqrt
#endif

namespace sepconv::detail {

/// Four 32-bit words: a Philox counter or output.
struct Philox4 {
  std::uint32_t w[4];
};

/// Philox4x32-10 of `counter` under the key (k0, k1).
SEPCONV_HOST_DEVICE inline Philox4 philox4x32_10(Philox4 c, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t kM0 = 0xD2511F53u;
  constexpr std::uint32_t kM1 = 0xCD9E8D57u;
  constexpr std::uint32_t kW0 = 0x9E3779B9u;  // golden ratio
  constexpr std::uint32_t kW1 = 0xBB67AE85u;  // sqrt(3) - 1
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    const std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * c.w[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * c.w[2];
    const auto hi0 = static_cast<std::uint32_t>(p0 >> 32);
    const auto lo0 = static_cast<std::uint32_t>(p0);
    const auto hi1 = static_cast<std::uint32_t>(p1 >> 32);
    const auto lo1 = static_cast<std::uint32_t>(p1);
    c = Philox4{{hi1 ^ c.w[1] ^ k0, lo1, hi0 ^ c.w[3] ^ k1, lo0}};
  }
  return c;
}

/// The words of element `index`'s attempt `attempt` under `seed`.
SEPCONV_HOST_DEVICE inline Philox4 random_words(std::uint64_t seed, std::uint64_t index,
                                                std::uint32_t attempt) {
  return philox4x32_10(Philox4{{static_cast<std::uint32_t>(index),
                                static_cast<std::uint32_t>(index >> 32), attempt, 0u}},
                       static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
}

/// A uniform double in [0, 1) from two words: their top 53 bits times 2^-53.
SEPCONV_HOST_DEVICE inline double uniform53(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11;
  return static_cast<double>(bits) * 0x1p-53;
}

/// The natural logarithm of a normal, positive, finite double, from correctly rounded operations
/// only: s = m * 2^e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(t) with t = (m-1)/(m+1),
/// |t| <= 0.172, summed to t^23 (the next term is below 2^-70 of the result). Relative error a
/// few units in the last place: ample for sampling.
SEPCONV_HOST_DEVICE inline double log_positive(double s) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &s, sizeof bits);
  int e = static_cast<int>((bits >> 52) & 0x7ffu) - 1023;
  bits = (bits & 0x000fffffffffffffull) | (std::uint64_t{1023} << 52);
  double m = 0.0;
  std::memcpy(&m, &bits, sizeof m);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  const double t = (m - 1.0) / (m + 1.0);
  const double t2 = t * t;
  double p = 1.0 / 23.0;
  for (int k = 21; k >= 3; k -= 2) p = SEPCONV_RANDOM_FMA(p, t2, 1.0 / k);
  const double log_m = 2.0 * t * SEPCONV_RANDOM_FMA(p, t2, 1.0);
  return SEPCONV_RANDOM_FMA(static_cast<double>(e), 0.69314718055994530942, log_m);
}

/// What one element of an initialized tensor is drawn from (the initializer resolved for a shape
/// on the host: training/initializers.cpp).
enum class RandomKind : std::uint8_t {
  constant,          ///< a
  uniform,           ///< U[a, b)
  normal,            ///< N(a, b^2)
  truncated_normal,  ///< N(a, b^2) redrawn beyond a +- 2b
};

struct RandomSpec {
  RandomKind kind = RandomKind::constant;
  double a = 0.0;  ///< constant value, minval, or mean
  double b = 0.0;  ///< maxval or stddev
};

/// A standard normal variate of element `index` (Marsaglia's polar method: each attempt draws
/// (u, v) uniform in [-1, 1)^2 from one Philox block and is accepted when 0 < u^2 + v^2 < 1; with
/// `truncate`, also redrawn while |z| > 2). Attempts are counted in the counter, so the variate
/// is a function of (seed, index) alone.
SEPCONV_HOST_DEVICE inline double standard_normal(std::uint64_t seed, std::uint64_t index,
                                                  bool truncate) {
  for (std::uint32_t attempt = 0;; ++attempt) {
    const Philox4 r = random_words(seed, index, attempt);
    const double u = 2.0 * uniform53(r.w[0], r.w[1]) - 1.0;  // exact
    const double v = 2.0 * uniform53(r.w[2], r.w[3]) - 1.0;
    const double s = SEPCONV_RANDOM_FMA(u, u, v * v);
    if (s >= 1.0 || s == 0.0) continue;
    const double z = u * SEPCONV_RANDOM_SQRT(-2.0 * log_positive(s) / s);
    if (truncate && (z > 2.0 || z < -2.0)) continue;
    return z;
  }
}

/// Element `index` of a tensor initialized by `spec` under `seed`, in float64 (the storage type
/// rounds it: to float32 first, then to float16 / bfloat16).
SEPCONV_HOST_DEVICE inline double random_value(const RandomSpec& spec, std::uint64_t seed,
                                               std::uint64_t index) {
  switch (spec.kind) {
    case RandomKind::constant: return spec.a;
    case RandomKind::uniform: {
      const Philox4 r = random_words(seed, index, 0);
      const double x = SEPCONV_RANDOM_FMA(uniform53(r.w[0], r.w[1]), spec.b - spec.a, spec.a);
      return x < spec.a ? spec.a : (x > spec.b ? spec.b : x);  // [a, b] after rounding
    }
    case RandomKind::normal:
      return SEPCONV_RANDOM_FMA(spec.b, standard_normal(seed, index, false), spec.a);
    case RandomKind::truncated_normal: {
      const double x = SEPCONV_RANDOM_FMA(spec.b, standard_normal(seed, index, true), spec.a);
      const double lo = SEPCONV_RANDOM_FMA(-2.0, spec.b, spec.a);
      const double hi = SEPCONV_RANDOM_FMA(2.0, spec.b, spec.a);
      return x < lo ? lo : (x > hi ? hi : x);  // within 2 stddev after rounding
    }
  }
  return spec.a;
}

}  // namespace sepconv::detail

#undef SEPCONV_RANDOM_FMA
#undef SEPCONV_RANDOM_SQRT
