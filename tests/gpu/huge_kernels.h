// ParityHuge's device-side helpers (GPU builds only): filling a tensor of billions of elements and
// scanning it for NaN where it lives, instead of moving ~9 GB through the host.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sepconv::test::parity {

/// x[i] = hashed_uniform(seed, i) for i < count, in float32 (exact: 24 random bits), on `stream`.
void fill_hashed_on_device(float* x, std::int64_t count, std::uint64_t seed, cudaStream_t stream);

/// The NaN elements of x[0, count), counted on the device; synchronises `stream`.
std::int64_t count_nan_on_device(const float* x, std::int64_t count, cudaStream_t stream);

}  // namespace sepconv::test::parity
