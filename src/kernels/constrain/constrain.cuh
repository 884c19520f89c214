// The constraints' kernel (kernels/launch.h), in place: the weights are split into fibers (the
// elements sharing their indices along the kept axes; the constraint's axes are reduced). A team
// of 2^team_log2 threads takes a fiber: it sums the squares of its elements in float64, reduces
// them by a fixed tree in shared memory, and scales each element by desired / (eps + norm).
// NonNeg has no norm: max(w, 0) per element.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/common.cuh"
#include "kernels/elementwise.cuh"
#include "kernels/launch.h"

namespace sepconv::detail {

/// The constraint as the kernel applies it.
struct ConstraintSpec {
  enum class Kind : std::uint8_t { max_norm, non_neg, unit_norm, min_max_norm };
  Kind kind = Kind::max_norm;
  double min_value = 0.0;
  double max_value = 0.0;
  double rate = 1.0;

  /// The factor w is multiplied by for a fiber of norm n (epsilon = 1e-7, keras.backend.epsilon()).
  SEPCONV_HOST_DEVICE double factor(double n) const {
    const auto clip = [](double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); };
    double desired = 1.0;  // unit_norm
    if (kind == Kind::max_norm) desired = clip(n, 0.0, max_value);
    if (kind == Kind::min_max_norm) {
      desired = rate * clip(n, min_value, max_value) + (1.0 - rate) * n;
    }
    return desired / (1e-7 + n);
  }
};

template <class S>
struct ConstraintKernel {
  struct State {};
  static constexpr int kMaxThreads = kTrainingThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv constraint";

  S* w = nullptr;
  Strided kept;     ///< the kept axes: fiber f's first element is at kept.offset(f)
  Strided reduced;  ///< the reduced axes: element j of a fiber at reduced.offset(j)
  std::int64_t fibers = 0;
  std::int64_t length = 0;  ///< elements per fiber
  int team_log2 = 0;
  ConstraintSpec spec;

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    auto* squares = reinterpret_cast<double*>(ex.smem());
    const int team = 1 << team_log2;
    const std::int64_t teams = kTrainingThreads >> team_log2;
    const bool norms = spec.kind != ConstraintSpec::Kind::non_neg;
    for (std::int64_t first = cta * teams; first < fibers; first += ex.grid() * teams) {
      if (norms) {
        ex.phase([&](int tid, State&) {
          auto& mem = ex.memory();
          const std::int64_t f = first + (tid >> team_log2);
          double s = 0.0;
          if (f < fibers) {
            for (std::int64_t j = tid & (team - 1); j < length; j += team) {
              const double v = to_float(mem.load_global(w + kept.offset(f) + reduced.offset(j)));
              s += v * v;
            }
          }
          mem.store_shared(squares + tid, s);
        });
        ex.barrier();
        for (int stride = team / 2; stride > 0; stride /= 2) {
          ex.phase([&](int tid, State&) {
            if ((tid & (team - 1)) >= stride) return;
            auto& mem = ex.memory();
            mem.store_shared(squares + tid,
                             mem.load_shared(squares + tid) + mem.load_shared(squares + tid + stride));
          });
          ex.barrier();
        }
      }
      ex.phase([&](int tid, State&) {
        auto& mem = ex.memory();
        const std::int64_t f = first + (tid >> team_log2);
        if (f >= fibers) return;
        double factor = 0.0;
        if (norms) factor = spec.factor(std::sqrt(mem.load_shared(squares + (tid & ~(team - 1)))));
        for (std::int64_t j = tid & (team - 1); j < length; j += team) {
          S* const p = w + kept.offset(f) + reduced.offset(j);
          const double v = to_float(mem.load_global(p));
          const double out = norms ? v * factor : (v > 0.0 || v != v ? v : 0.0);
          mem.store_global(p, from_float<S>(static_cast<float>(out)));
        }
      });
      ex.barrier();
    }
  }
};

}  // namespace sepconv::detail
