// The depthwise backward's launch wrapper: the kernels of depthwise_grad_kernels.cuh for float32,
// float16 and bfloat16 in both formats (2 kinds x 3 x 2), instantiated and launched here.
#include "kernels/depthwise_grad/depthwise_grad.h"
#include "kernels/depthwise_grad/depthwise_grad_kernels.cuh"
#include "kernels/launch.cuh"

namespace sepconv::detail {

void launch_depthwise_grad(const DepthwiseGradPlan& plan, const float* dmid, const void* w,
                           const void* x, void* dx, float* partial, cudaStream_t stream) {
  depthwise_grad_launches(plan, dmid, w, x, dx, partial,
                          [&](const auto& kernel, const LaunchShape& shape) {
                            launch_kernel(kernel, shape, stream);
                          });
}

}  // namespace sepconv::detail
