// The depthwise backward on the host: the launches launch_depthwise_grad makes, run on the CPU
// through checked memory.
#include "emulator/host_exec.h"
#include "kernels/depthwise_grad/depthwise_grad.h"
#include "kernels/depthwise_grad/depthwise_grad_kernels.cuh"

namespace sepconv::detail {

void depthwise_grad_host(const DepthwiseGradPlan& plan, const float* dmid, const void* w,
                         const void* x, void* dx, float* partial,
                         emulator::CheckedMemory& memory) {
  depthwise_grad_launches(plan, dmid, w, x, dx, partial,
                          [&](const auto& kernel, const LaunchShape& shape) {
                            emulator::run_on_host(kernel, shape, memory);
                          });
}

}  // namespace sepconv::detail
