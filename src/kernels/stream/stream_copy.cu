// The streaming copy's launch wrapper: StreamCopyKernel (stream_copy.cuh) for 2- and 4-byte
// elements, instantiated and launched here.
#include "kernels/launch.cuh"
#include "kernels/stream/stream_copy.cuh"
#include "kernels/stream/stream_copy.h"

namespace sepconv::detail {

void launch_stream_copy(const StreamCopyPlan& plan, const void* src0, const void* src1, void* dst,
                        cudaStream_t stream) {
  stream_copy_launch({plan, src0, src1, dst}, [&](const auto& kernel, const LaunchShape& shape) {
    launch_kernel(kernel, shape, stream);
  });
}

}  // namespace sepconv::detail
