// The activation-gradient pass on the host: the launches launch_activation_grad makes, each
// kernel run on the CPU through checked memory.
#include "emulator/host_exec.h"
#include "kernels/activation_grad/activation_grad.h"
#include "kernels/activation_grad/activation_grad_kernels.cuh"

namespace sepconv::detail {

void activation_grad_host(const ActivationGradPlan& plan, const void* dy, const void* z, void* dz,
                          emulator::CheckedMemory& memory) {
  activation_grad_launches(plan, dy, z, dz, [&](const auto& kernel, const LaunchShape& shape) {
    emulator::run_on_host(kernel, shape, memory);
  });
}

}  // namespace sepconv::detail
