// Kernel launches on the simulated device (cuda/launch.cuh calls this in a
// SEPCONV_SIMULATED_DEVICE build).
#pragma once

#include <cuda_runtime_api.h>

#include <functional>

#include "kernels/launch.h"
#include "emulator/checked_memory.h"

namespace sepconv::sim {

/// What the launch is checked against besides the device: the kernel's identity (for its
/// cudaFuncSetAttribute limits), name and __launch_bounds__.
struct KernelInfo {
  const void* handle = nullptr;
  const char* name = "";
  int max_threads = 0;
  int min_blocks = 0;
};

/// Runs every CTA of the launch through the checked memory it is given.
using KernelBody = std::function<void(emulator::CheckedMemory&)>;

/// Checks the launch as the device would (grid and block limits, the kernel's launch bounds,
/// dynamic shared memory against the 48 KB default, the kernel's cudaFuncSetAttribute limit and
/// the opt-in cap, the stream's device) and enqueues it; when it runs, every live allocation of
/// the device is a region of the checked memory, and any problem the memory finds is a fault
/// (cudaErrorIllegalAddress, cudaErrorMisalignedAddress or cudaErrorLaunchFailure at the next
/// synchronisation). A refused launch sets the calling thread's last error, as <<<...>>> does.
void launch(const KernelInfo& kernel, const detail::LaunchShape& shape, cudaStream_t stream,
            KernelBody body);

}  // namespace sepconv::sim
