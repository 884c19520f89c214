// The depthwise step's backward (DepthwiseGradStep): dx, and the depthwise weight gradient's
// per-chunk partial sums.
#pragma once

#include <cuda_runtime_api.h>

#include "plan/steps.h"

namespace sepconv::emulator {
class CheckedMemory;
}

namespace sepconv::detail {

/// Launches the kernel `plan` names on `stream` (pointers as depthwise_grad_launches takes them,
/// device memory). No allocation, no synchronisation. Throws CudaError when the launch fails.
void launch_depthwise_grad(const DepthwiseGradPlan& plan, const float* dmid, const void* w,
                           const void* x, void* dx, float* partial, cudaStream_t stream);

/// The same launch on host memory through `memory` (the emulator tests).
void depthwise_grad_host(const DepthwiseGradPlan& plan, const float* dmid, const void* w,
                         const void* x, void* dx, float* partial,
                         emulator::CheckedMemory& memory);

}  // namespace sepconv::detail
