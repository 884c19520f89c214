// The backward's activation-gradient pass (ActivationGradStep): dz from dy and the kept
// pre-activation z.
#pragma once

#include <cuda_runtime_api.h>

#include "plan/steps.h"

namespace sepconv::emulator {
class CheckedMemory;
}

namespace sepconv::detail {

/// Launches the pass `plan` asks for on `stream`: dy the first element of the caller's dy (device
/// memory, the plan's strides), z the kept pre-activation (ignored when !plan.has_z), dz the
/// workspace's. No allocation, no synchronisation. Throws CudaError when the launch fails.
void launch_activation_grad(const ActivationGradPlan& plan, const void* dy, const void* z,
                            void* dz, cudaStream_t stream);

/// The same launches on host memory through `memory` (the emulator tests).
void activation_grad_host(const ActivationGradPlan& plan, const void* dy, const void* z, void* dz,
                          emulator::CheckedMemory& memory);

}  // namespace sepconv::detail
