// The epilogue passes' launch wrapper: the kernels of epilogue_kernels.cuh, instantiated and
// launched here (CUDA 13's static global template stubs): 26 activations x 5 (source, output)
// storage pairs of the elementwise kernel (in place in float32, float16, bfloat16; float32
// scratch into float16 or bfloat16), 2 x 5 of the row kernel.
#include "kernels/epilogue/epilogue.h"
#include "kernels/epilogue/epilogue_kernels.cuh"
#include "kernels/launch.cuh"

namespace sepconv::detail {

void launch_epilogue(const EpiloguePlan& plan, void* y, void* source, const void* bias,
                     cudaStream_t stream) {
  epilogue_launches(plan, y, source, bias, [&](const auto& kernel, const LaunchShape& shape) {
    launch_kernel(kernel, shape, stream);
  });
}

}  // namespace sepconv::detail
