// The initializers' fill kernel (kernels/launch.h): element i of the row-major order of the view
// gets detail::random_value(spec, seed, i) (detail/random.h, the host's generator too), or
// source[i] when the values were computed on the host (orthogonal), rounded to float32 and then
// to the storage type.
#pragma once

#include <cstdint>

#include "detail/random.h"
#include "kernels/common.cuh"
#include "kernels/launch.h"
#include "kernels/elementwise.cuh"

namespace sepconv::detail {

template <class S>
struct RandomFillKernel {
  struct State {};
  static constexpr int kMaxThreads = kTrainingThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv initializer fill";

  S* out = nullptr;
  Strided layout;
  std::int64_t count = 0;
  RandomSpec spec;
  std::uint64_t seed = 0;
  const double* source = nullptr;  ///< device copy of host-computed values, or nullptr

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    const std::int64_t step = ex.grid() * kTrainingThreads;
    ex.phase([&](int tid, State&) {
      auto& mem = ex.memory();
      for (std::int64_t i = cta * kTrainingThreads + tid; i < count; i += step) {
        const double v = source != nullptr
                             ? mem.load_global(source + i)
                             : random_value(spec, seed, static_cast<std::uint64_t>(i));
        mem.store_global(out + layout.offset(i), from_float<S>(static_cast<float>(v)));
      }
    });
  }
};

}  // namespace sepconv::detail
