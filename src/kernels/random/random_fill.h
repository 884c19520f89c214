// The initializers' fill on the device (random_fill.cuh), launched on a stream.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "detail/random.h"
#include "sepconv/tensor.h"

namespace sepconv::detail {

/// Fills `out` (a checked device view of f32, f16 or bf16) with spec's values under `seed`, or,
/// with `source` (device memory, out.numel() doubles in row-major order), with those values.
/// Enqueued on `stream`; throws CudaError when the launch fails. Defined only with a GPU API.
void launch_random_fill(const TensorView& out, const RandomSpec& spec, std::uint64_t seed,
                        const double* source, cudaStream_t stream);

}  // namespace sepconv::detail
