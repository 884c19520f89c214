// Running a plan's steps on the GPU for one window: the executor knows the kinds of step (a
// kernel family's launch, a cuBLASLt GEMM, the passes after it) and where each buffer lives, not
// which strategy made the plan.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <optional>
#include <vector>

#include "plan/plan.h"
#include "runtime/lt_matmul.h"
#include "sepconv/tensor.h"

namespace sepconv::detail {

/// A plan with what its steps need at run time: the GEMM steps' cuBLASLt matmuls, their
/// algorithms chosen and pinned.
struct BoundPlan {
  Plan plan;
  std::vector<std::optional<LtMatmul>> matmuls;  ///< one per step; set for GEMM steps

  /// Binds a plan: an LtMatmul for each GEMM step (descriptors only; the caller chooses the
  /// algorithms).
  explicit BoundPlan(Plan p);
  /// cuBLASLt's workspace: the most any GEMM step's algorithm needs.
  [[nodiscard]] std::size_t gemm_workspace_bytes() const;
  /// The whole workspace: the plan's slices, then cuBLASLt's (every slice 256-byte aligned).
  [[nodiscard]] std::size_t workspace_bytes() const {
    return static_cast<std::size_t>(plan.workspace_bytes()) + gemm_workspace_bytes();
  }
};

/// Device pointers of a layer's weights in the kernels' layouts (plan/pack.h).
struct DeviceWeights {
  const void* depthwise = nullptr;  ///< W[m][j][c]
  const void* pointwise = nullptr;  ///< Wp' (K, F)
  const void* bias = nullptr;       ///< (F) or null
};

/// Enqueues the steps of `bound.plan` for the window starting at batch `batch_begin`, output step
/// `time_begin` of x / y (whole-tensor views) on `stream`, with an NVTX range around each step.
/// The workspace must hold bound.workspace_bytes(); `history` is a stream state's device history
/// (Buffer::history; streaming plans only). No allocation, no synchronisation.
void run_window(const BoundPlan& bound, std::int64_t batch_begin, std::int64_t time_begin,
                ConstTensorView x, TensorView y, const DeviceWeights& weights, void* workspace,
                std::size_t workspace_bytes, cublasLtHandle_t handle, cudaStream_t stream,
                void* history = nullptr);

/// The caller's tensors a plan binds (device views; empty where the plan names none): x and y, dy
/// and the gradients, the training state, a stream state's history.
struct Bindings {
  ConstTensorView x;
  TensorView y;
  ConstTensorView dy;
  TensorView dx;
  TensorView grad_depthwise;
  TensorView grad_pointwise;
  TensorView grad_bias;
  void* state = nullptr;    ///< the training state (bound.plan.state_bytes())
  void* history = nullptr;  ///< a stream state's device history (Buffer::history)
};

/// Enqueues the steps of a whole-problem plan (the training forward, the backward) on `stream`,
/// with an NVTX range around each step. The workspace must hold bound.workspace_bytes(). No
/// allocation, no synchronisation.
void run_plan(const BoundPlan& bound, const Bindings& tensors, const DeviceWeights& weights,
              void* workspace, std::size_t workspace_bytes, cublasLtHandle_t handle,
              cudaStream_t stream);

}  // namespace sepconv::detail
