// The depthwise forward kernel's entry point (plain C++: the executor includes it).
#pragma once

#include <cuda_runtime_api.h>

#include "plan/steps.h"

namespace sepconv::detail {

/// What the kernel receives: the plan and the pointers (x already offset to the window's first
/// batch; w packed as W[m][j][c] by pack_depthwise; d the window's D).
struct DepthwiseArgs {
  DepthwisePlan plan;
  const void* x = nullptr;
  const void* w = nullptr;
  void* d = nullptr;
};

/// Launches the depthwise kernel variant the plan names on `stream`; raises the kernel's dynamic
/// shared-memory limit first when the plan needs more than 48 KB. Throws CudaError.
void launch_depthwise(const DepthwiseArgs& args, cudaStream_t stream);

}  // namespace sepconv::detail
