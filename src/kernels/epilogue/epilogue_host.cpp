// The epilogue passes on the host: the launches launch_epilogue makes, each kernel run on the CPU
// through checked memory.
#include "kernels/epilogue/epilogue.h"
#include "kernels/epilogue/epilogue_kernels.cuh"
#include "emulator/host_exec.h"

namespace sepconv::detail {

void apply_epilogue_host(const EpiloguePlan& plan, void* y, void* source, const void* bias,
                         emulator::CheckedMemory& memory) {
  epilogue_launches(plan, y, source, bias, [&](const auto& kernel, const LaunchShape& shape) {
    emulator::run_on_host(kernel, shape, memory);
  });
}

}  // namespace sepconv::detail
