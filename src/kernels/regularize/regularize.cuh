// The regularizers' kernels (kernels/launch.h): the penalty as a deterministic two-pass float64
// reduction (fixed partition and tree order, no atomics), and the gradient added into a buffer.
#pragma once

#include <cstdint>

#include "kernels/common.cuh"
#include "kernels/elementwise.cuh"
#include "kernels/launch.h"

namespace sepconv::detail {

/// A partial penalty: sum |w| and sum w^2.
struct PenaltySums {
  double abs_sum = 0.0;
  double square_sum = 0.0;
};

/// Blocks of the first pass for `count` elements: a function of the count alone (never of the
/// device), so the reduction order, hence the result, is the same everywhere.
inline std::int64_t penalty_blocks(std::int64_t count) {
  const std::int64_t per_block = std::int64_t{kTrainingThreads} * 16;
  return std::clamp<std::int64_t>((count + per_block - 1) / per_block, 1, 1024);
}

/// Sums the block's per-thread PenaltySums (already in shared memory, one per thread) into
/// element 0 by a fixed tree; ends on a barrier.
template <class Exec>
SEPCONV_HOST_DEVICE void reduce_block(PenaltySums* sums, Exec& ex) {
  for (int stride = kTrainingThreads / 2; stride > 0; stride /= 2) {
    ex.phase([&](int tid, auto&) {
      if (tid >= stride) return;
      auto& mem = ex.memory();
      PenaltySums a = mem.load_shared(sums + tid);
      const PenaltySums b = mem.load_shared(sums + tid + stride);
      a.abs_sum += b.abs_sum;
      a.square_sum += b.square_sum;
      mem.store_shared(sums + tid, a);
    });
    ex.barrier();
  }
}

/// Pass 1: block c sums the elements c*T + t + k*grid*T of w (t its thread) into partials[c].
template <class S>
struct PenaltyPartialKernel {
  struct State {};
  static constexpr int kMaxThreads = kTrainingThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv regularizer penalty (partial sums)";

  const S* w = nullptr;
  Strided layout;
  std::int64_t count = 0;
  PenaltySums* partials = nullptr;

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    auto* sums = reinterpret_cast<PenaltySums*>(ex.smem());
    const std::int64_t step = ex.grid() * kTrainingThreads;
    ex.phase([&](int tid, State&) {
      auto& mem = ex.memory();
      PenaltySums s;
      for (std::int64_t i = cta * kTrainingThreads + tid; i < count; i += step) {
        const double v = to_float(mem.load_global(w + layout.offset(i)));
        s.abs_sum += v < 0.0 ? -v : v;
        s.square_sum += v * v;
      }
      mem.store_shared(sums + tid, s);
    });
    ex.barrier();
    reduce_block(sums, ex);
    ex.phase([&](int tid, State&) {
      if (tid == 0) ex.memory().store_global(partials + cta, ex.memory().load_shared(sums));
    });
  }
};

/// Pass 2 (one block): *penalty += scale * (l1 * sum |w| + l2 * sum w^2), a term with a zero
/// factor left out.
struct PenaltyFinishKernel {
  struct State {};
  static constexpr int kMaxThreads = kTrainingThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv regularizer penalty (final sum)";

  const PenaltySums* partials = nullptr;
  std::int64_t count = 0;  ///< partials
  double l1 = 0.0;
  double l2 = 0.0;
  double scale = 1.0;
  double* penalty = nullptr;

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t, Exec& ex) const {
    auto* sums = reinterpret_cast<PenaltySums*>(ex.smem());
    ex.phase([&](int tid, State&) {
      auto& mem = ex.memory();
      PenaltySums s;
      for (std::int64_t i = tid; i < count; i += kTrainingThreads) {
        const PenaltySums p = mem.load_global(partials + i);
        s.abs_sum += p.abs_sum;
        s.square_sum += p.square_sum;
      }
      mem.store_shared(sums + tid, s);
    });
    ex.barrier();
    reduce_block(sums, ex);
    ex.phase([&](int tid, State&) {
      if (tid != 0) return;
      auto& mem = ex.memory();
      const PenaltySums total = mem.load_shared(sums);
      double value = 0.0;
      if (l1 != 0.0) value += l1 * total.abs_sum;
      if (l2 != 0.0) value += l2 * total.square_sum;
      mem.store_global(penalty, mem.load_global(penalty) + scale * value);
    });
  }
};

/// grad += scale * (l1 * sign(w) + 2 * l2 * w) elementwise, in float64, rounded once into G
/// (sign(0) = 0, NaN propagated; a term with a zero factor left out).
template <class W, class G>
struct RegularizerGradientKernel {
  struct State {};
  static constexpr int kMaxThreads = kTrainingThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv regularizer gradient";

  const W* w = nullptr;
  Strided w_layout;
  G* grad = nullptr;
  Strided grad_layout;
  std::int64_t count = 0;
  double l1 = 0.0;
  double l2 = 0.0;
  double scale = 1.0;

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    const std::int64_t step = ex.grid() * kTrainingThreads;
    ex.phase([&](int tid, State&) {
      auto& mem = ex.memory();
      for (std::int64_t i = cta * kTrainingThreads + tid; i < count; i += step) {
        const double v = to_float(mem.load_global(w + w_layout.offset(i)));
        const double sign = v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : (v == 0.0 ? 0.0 : v));
        double d = 0.0;
        if (l1 != 0.0) d += l1 * sign;
        if (l2 != 0.0) d += 2.0 * l2 * v;
        G* const g = grad + grad_layout.offset(i);
        const double updated = static_cast<double>(to_float(mem.load_global(g))) + scale * d;
        mem.store_global(g, from_float<G>(static_cast<float>(updated)));
      }
    });
  }
};

}  // namespace sepconv::detail
