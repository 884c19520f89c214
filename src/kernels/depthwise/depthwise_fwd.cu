// The depthwise forward kernel's launch wrapper: the variant the plan names (depthwise_dispatch.h)
// as a DepthwiseKernel (depthwise_tile.cuh), instantiated and launched here.
#include "kernels/depthwise/depthwise_dispatch.h"
#include "kernels/depthwise/depthwise_fwd.h"
#include "kernels/depthwise/depthwise_tile.cuh"
#include "kernels/launch.cuh"

namespace sepconv::detail {

void launch_depthwise(const DepthwiseArgs& args, cudaStream_t stream) {
  if (args.plan.blocks == 0) return;
  dispatch_depthwise(args.plan, [&](auto traits) {
    launch_kernel(DepthwiseKernel<decltype(traits)>{args}, depthwise_launch_shape(args.plan),
                  stream);
  });
}

}  // namespace sepconv::detail
