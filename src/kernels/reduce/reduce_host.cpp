// The reduction on the host: the launch launch_reduce makes, run on the CPU through checked memory.
#include "emulator/host_exec.h"
#include "kernels/reduce/reduce.h"
#include "kernels/reduce/reduce_kernels.cuh"

namespace sepconv::detail {

void reduce_host(const ReducePlan& plan, const void* in, float* out,
                 emulator::CheckedMemory& memory) {
  reduce_launches(plan, in, out, [&](const auto& kernel, const LaunchShape& shape) {
    emulator::run_on_host(kernel, shape, memory);
  });
}

}  // namespace sepconv::detail
