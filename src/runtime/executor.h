// Running a planned forward window on the GPU: depthwise kernel, cuBLASLt GEMM, epilogue passes.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>

#include "runtime/lt_matmul.h"
#include "plan/plan.h"
#include "sepconv/tensor.h"

namespace sepconv::detail {

/// A plan for one layer and window shape, with its GEMM's algorithm pinned.
struct BoundPlan {
  Plan plan;
  LtMatmul matmul;
  /// Workspace bytes: D, the float32 scratch Z (a float32 intermediate only), then cuBLASLt's
  /// workspace, each 256-byte aligned.
  [[nodiscard]] std::size_t workspace_bytes() const {
    return static_cast<std::size_t>(plan.d_bytes + plan.z_bytes) + matmul.workspace_size();
  }
};

/// Device pointers of a layer's weights in the kernels' layouts (host/pack.h).
struct DeviceWeights {
  const void* depthwise = nullptr;  ///< W[m][j][c]
  const void* pointwise = nullptr;  ///< Wp' (K, F)
  const void* bias = nullptr;       ///< (F) or null
};

/// Enqueues the window of `bound.plan` starting at batch `batch_begin`, output step
/// `time_begin` of x / y (whole-tensor views) on `stream`, with NVTX ranges around each stage.
/// The workspace must hold bound.workspace_bytes(). No allocation, no synchronisation.
void run_window(const BoundPlan& bound, std::int64_t batch_begin, std::int64_t time_begin,
                ConstTensorView x, TensorView y, const DeviceWeights& weights, void* workspace,
                std::size_t workspace_bytes, cublasLtHandle_t handle, cudaStream_t stream);

}  // namespace sepconv::detail
