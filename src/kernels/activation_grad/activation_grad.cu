// The activation-gradient pass's launch wrapper: the kernels of activation_grad_kernels.cuh,
// instantiated and launched here: 5 (dy, dz) storage pairs (float32; float16 and bfloat16 with
// dz in their own type or in float32) of the elementwise kernel (the activation is chosen at run
// time) and 2 x 5 of the row kernel.
#include "kernels/activation_grad/activation_grad.h"
#include "kernels/activation_grad/activation_grad_kernels.cuh"
#include "kernels/launch.cuh"

namespace sepconv::detail {

void launch_activation_grad(const ActivationGradPlan& plan, const void* dy, const void* z,
                            void* dz, cudaStream_t stream) {
  activation_grad_launches(plan, dy, z, dz, [&](const auto& kernel, const LaunchShape& shape) {
    launch_kernel(kernel, shape, stream);
  });
}

}  // namespace sepconv::detail
