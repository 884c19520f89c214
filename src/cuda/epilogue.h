// The passes after the pointwise GEMM (plan.epilogue): an elementwise pass that adds the bias
// and applies the activation, and a row pass for softmax / log_softmax along y's last axis. Both
// work in place on y and compute in float whatever the storage type.
#pragma once

#include <cuda_runtime_api.h>

#include "host/plan.h"

namespace sepconv::detail {

/// Launches the passes `plan` asks for (none, elementwise, row, or elementwise then row) on
/// `stream`. y: device memory, the first element of the launch window, laid out as the plan
/// says; bias: device memory, `filters` elements of the plan's dtype, read only when
/// plan.add_bias. No allocation and no synchronisation, so it can be captured in a CUDA graph.
/// Throws CudaError when a launch fails. Defined only in builds with SEPCONV_ENABLE_CUDA.
void launch_epilogue(const EpiloguePlan& plan, void* y, const void* bias, cudaStream_t stream);

/// The same passes on host memory, running the kernels' per-element and per-row code
/// (epilogue_rows.cuh) on the CPU: what the CPU tests execute. Same pointer conventions.
void apply_epilogue_host(const EpiloguePlan& plan, void* y, const void* bias);

}  // namespace sepconv::detail
