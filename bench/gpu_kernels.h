// sepconv_bench — the benchmark's own kernels: device-side data fills (random inputs without a
// host round trip, NaN poison), a check that every output was written, and the float32 FMA
// ceiling kernel. Plain C++ declarations; the kernels are in gpu_kernels.cu.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "sepconv/types.h"

namespace sepconv::bench {

/// Fills `count` elements of `dtype` with lo + (hi - lo) * u, u uniform in [0, 1) from a hash of
/// (seed, index), rounded to the dtype. lo == hi fills one value (NaN poisons). Asynchronous.
void fill_uniform(void* data, DType dtype, std::int64_t count, std::uint64_t seed, float lo,
                  float hi, cudaStream_t stream);

/// Non-finite elements (NaN left of the poison, or inf) of a rows x cols matrix, row r at
/// data + r * ld elements. Synchronises `stream`.
[[nodiscard]] std::int64_t count_nonfinite(const void* data, DType dtype, std::int64_t rows,
                                           std::int64_t cols, std::int64_t ld, cudaStream_t stream);

/// Keeps `stream` busy for `microseconds` (one thread spinning on the global timer): enqueued
/// before the timed runs, it lets the host enqueue them all before the first starts, so host work
/// between runs (argument checks, launches) never leaves the device idle inside a timed region.
void launch_spin(double microseconds, cudaStream_t stream);

/// One launch of the FP32 FMA kernel: every thread runs independent chains of fmaf, enough to
/// keep every FP32 lane busy; `out` takes one float per thread so nothing is optimised away.
struct FmaLaunch {
  int blocks = 0;
  int threads = 0;
  int iterations = 0;
  [[nodiscard]] double flops() const;
  [[nodiscard]] std::int64_t outputs() const { return std::int64_t{blocks} * threads; }
};
/// A launch that fills `multiprocessors` SMs with 2048 threads each and runs a few milliseconds.
[[nodiscard]] FmaLaunch fma_launch_for(int multiprocessors);
void launch_fma(const FmaLaunch& launch, float* out, cudaStream_t stream);

}  // namespace sepconv::bench
