// The backward's deterministic reductions (ReduceStep): partial sums into the caller's gradients.
#pragma once

#include <cuda_runtime_api.h>

#include "plan/steps.h"

namespace sepconv::emulator {
class CheckedMemory;
}

namespace sepconv::detail {

/// Launches the reduction `plan` describes on `stream`: `in` its source (device memory, of
/// plan.in_dtype), `out` the float32 target (its first element). No allocation, no
/// synchronisation. Throws CudaError when the launch fails.
void launch_reduce(const ReducePlan& plan, const void* in, float* out, cudaStream_t stream);

/// The same launch on host memory through `memory` (the emulator tests).
void reduce_host(const ReducePlan& plan, const void* in, float* out,
                 emulator::CheckedMemory& memory);

}  // namespace sepconv::detail
