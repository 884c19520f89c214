// The passes after the pointwise GEMM (plan.epilogue): an elementwise pass that adds the bias
// and applies the activation, and a row pass for softmax / log_softmax along y's last axis. Both
// work in place on y and compute in float whatever the storage type.
#pragma once

#include <cuda_runtime_api.h>

#include "plan/steps.h"

namespace sepconv::emulator {
class CheckedMemory;
}

namespace sepconv::detail {

/// Launches the passes `plan` asks for (none, elementwise, row, or elementwise then row) on
/// `stream`. y: device memory, the first element of the launch window, laid out as the plan
/// says; source: with plan.separate_source the float32 scratch Z the GEMM wrote (its layout in
/// the plan; an elementwise pass followed by a row pass updates it in place), else ignored (the
/// passes work in place on y); bias: device memory, `filters` elements of the source's type,
/// read only when plan.add_bias. No allocation and no synchronisation, so it can be captured in
/// a CUDA graph. Throws CudaError when a launch fails. Defined only with SEPCONV_ENABLE_CUDA.
void launch_epilogue(const EpiloguePlan& plan, void* y, void* source, const void* bias,
                     cudaStream_t stream);

/// The same launches on host memory: each kernel of epilogue_kernels.cuh run on the CPU, every
/// CTA and thread, through `memory` (where the caller registered y's, the source's and the bias's
/// buffers): what the CPU tests execute. Same pointer conventions; problems land in `memory`.
void apply_epilogue_host(const EpiloguePlan& plan, void* y, void* source, const void* bias,
                         emulator::CheckedMemory& memory);

}  // namespace sepconv::detail
