// The streaming copy on the host: the launch launch_stream_copy makes, run on the CPU through
// checked memory.
#include "emulator/host_exec.h"
#include "kernels/stream/stream_copy.cuh"
#include "kernels/stream/stream_copy.h"

namespace sepconv::detail {

void stream_copy_host(const StreamCopyPlan& plan, const void* src0, const void* src1, void* dst,
                      emulator::CheckedMemory& memory) {
  stream_copy_launch({plan, src0, src1, dst}, [&](const auto& kernel, const LaunchShape& shape) {
    emulator::run_on_host(kernel, shape, memory);
  });
}

}  // namespace sepconv::detail
