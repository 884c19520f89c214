// The reduction's launch wrapper: ReduceKernel (reduce_kernels.cuh) for float32, float16 and
// bfloat16 sources, instantiated and launched here.
#include "kernels/launch.cuh"
#include "kernels/reduce/reduce.h"
#include "kernels/reduce/reduce_kernels.cuh"

namespace sepconv::detail {

void launch_reduce(const ReducePlan& plan, const void* in, float* out, cudaStream_t stream) {
  reduce_launches(plan, in, out, [&](const auto& kernel, const LaunchShape& shape) {
    launch_kernel(kernel, shape, stream);
  });
}

}  // namespace sepconv::detail
