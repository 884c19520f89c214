// The streaming copy's entry points (plain C++: the executor includes it).
#pragma once

#include <cuda_runtime_api.h>

#include "plan/steps.h"

namespace sepconv::emulator {
class CheckedMemory;
}

namespace sepconv::detail {

/// Launches the copy `plan` describes on `stream`: dst's step t < plan.split from src0, the others
/// from src1 (device memory, strides in the plan). No allocation, no synchronisation. Throws
/// CudaError when the launch fails.
void launch_stream_copy(const StreamCopyPlan& plan, const void* src0, const void* src1, void* dst,
                        cudaStream_t stream);

/// The same launch on host memory, every CTA and thread through `memory` (where the caller
/// registered the buffers): what the CPU tests execute.
void stream_copy_host(const StreamCopyPlan& plan, const void* src0, const void* src1, void* dst,
                      emulator::CheckedMemory& memory);

}  // namespace sepconv::detail
