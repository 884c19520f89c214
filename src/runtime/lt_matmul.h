// The pointwise GEMM as a cuBLASLt matmul: descriptors built from a GemmPlan, an algorithm chosen
// once and pinned, and a capture-safe run().
//
// Why the bias takes three routes (BiasMode, chosen in plan.cpp `choose_bias`):
// - channels_last: Y(F x N) = Wp'(F x K) * D(K x N). The bias runs along m = F, the rows of the
//   column-major result: exactly cuBLASLt's BIAS epilogue (bias length = rows of D, packed, of
//   D's type, broadcast over the columns and, with BIAS_BATCH_STRIDE 0, over the batches).
// - channels_first: Y[b](T x F) = D[b](T x K) * Wp'(K x F). The bias runs along n = F, which no
//   epilogue takes. It is folded into the GEMM instead: D gets one more k row of ones (q' = C*M,
//   written by the depthwise kernel) and Wp' the bias as its last row, so the GEMM computes
//   sum_q D[q] Wp'[q] + 1 * bias. That costs (CM+1)/CM of the GEMM and no extra pass over y; the
//   bias is rounded to the GEMM's input type, which it already has (one dtype per layer). A
//   row-order C/D layout (m = F) was the alternative; the emulator refuses row order, and the
//   elementwise pass remains for everything else (BiasMode::elementwise, forced in tests).
// - relu (alone or after the bias) is the RELU / RELU_BIAS epilogue. cuBLASLt has nothing for the
//   other Keras activations; its GELU epilogue is the tanh approximation (PyTorch's
//   approximate='tanh'), while Keras's "gelu" is the exact erf form, so gelu is NEVER fused here:
//   it and every other activation run in the elementwise pass (epilogue.h).
//
// What cuBLASLt's documentation (cublasLt.h of cuBLAS 13.1) says and this code relies on:
// - CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET is an int64 stride in elements, default 0, with
//   no lower bound stated; a stride of 0 repeats one matrix for every batch (the shared pointwise
//   matrix), as MatX uses it (NVIDIA/MatX#473). BATCH_COUNT is int32 and is set on all four
//   layouts.
// - LD: "must be large enough so that matrix memory locations are not overlapping (e.g. >= ROWS
//   for CUBLASLT_ORDER_COL)". Creating a layout does not check it; the matmul does (the emulator
//   refuses ld < rows too). ROWS/COLS are uint64 but "usually only values that can be expressed
//   as int32_t are supported": larger GEMMs surface as Unsupported from choose_algorithm.
// - Bias: "Bias vector length must match matrix D rows", packed, elements of D's type
//   (BIAS_DATA_TYPE, default -1 = D's type; set explicitly here).
// - Alignment: MIN_ALIGNMENT_{A,B,C,D}_BYTES default 256; a smaller value admits algorithms for
//   less aligned pointers. The heuristic reads the BIAS_POINTER's value (without dereferencing
//   it) for the bias's alignment, so choose_algorithm plants a placeholder with the plan's
//   alignment. run() checks the real pointers against what the algorithm was chosen for.
// - CUBLAS_COMPUTE_32F_FAST_TF32: float32 inputs rounded to TF32 for the tensor cores, float32
//   accumulation; CUBLAS_COMPUTE_32F for exact float32 and for 16-bit inputs (float accumulate).
// - The default ORDER (CUBLASLT_ORDER_COL) is what every layout here uses; it is still set
//   explicitly so the descriptor says so.
// - Reduction schemes (split-K) are sequential ("counters in workspace guarantee the
//   sequentiality"), so a pinned algorithm gives bitwise-identical results run to run.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>

#include "plan/plan.h"
#include "sepconv/error.h"

namespace sepconv::detail {

/// cuBLASLt's data type for a storage type.
cudaDataType_t lt_data_type(DType dtype) noexcept;

/// cuBLASLt's compute type for a GEMM plan: 32F_FAST_TF32 for float32 with MathMode::tf32, 32F
/// otherwise.
cublasComputeType_t lt_compute_type(const GemmPlan& plan) noexcept;

/// Destroys cuBLASLt descriptors (for unique_ptr).
struct LtDeleter {
  void operator()(cublasLtMatmulDescOpaque_t* p) const noexcept;
  void operator()(cublasLtMatrixLayoutOpaque_t* p) const noexcept;
  void operator()(cublasLtMatmulPreferenceOpaque_t* p) const noexcept;
};
/// An owned cuBLASLt descriptor: LtOwned<cublasLtMatrixLayout_t> and so on.
template <class Handle>
using LtOwned = std::unique_ptr<std::remove_pointer_t<Handle>, LtDeleter>;

/// One planned pointwise GEMM, D = epilogue(op(A) op(B) [+ bias]) with C = D in place,
/// alpha = 1, beta = 0 (C is never read).
///
/// Thread safety: the bias pointer lives in the matmul descriptor, so it is bound once
/// (set_bias_pointer, after choose_algorithm) and run() is const: several threads may run one
/// LtMatmul at once with their own workspaces. Move-only; the descriptors are destroyed with it;
/// a moved-from LtMatmul may only be destroyed or assigned to.
class LtMatmul {
 public:
  /// Builds the matmul descriptor, the four layouts and the heuristic preference. Needs no GPU.
  /// Throws CublasError when cuBLASLt rejects an attribute.
  explicit LtMatmul(const GemmPlan& plan);

  [[nodiscard]] const GemmPlan& plan() const noexcept { return plan_; }
  [[nodiscard]] cublasLtMatmulDesc_t desc() const noexcept { return desc_.get(); }
  [[nodiscard]] cublasLtMatrixLayout_t layout_a() const noexcept { return a_.get(); }
  [[nodiscard]] cublasLtMatrixLayout_t layout_b() const noexcept { return b_.get(); }
  [[nodiscard]] cublasLtMatrixLayout_t layout_c() const noexcept { return c_.get(); }
  /// D is written in place over C and has the same layout (one descriptor for both).
  [[nodiscard]] cublasLtMatrixLayout_t layout_d() const noexcept { return c_.get(); }
  [[nodiscard]] cublasLtMatmulPreference_t preference() const noexcept { return preference_.get(); }
  /// True when the epilogue adds a bias (BIAS or RELU_BIAS).
  [[nodiscard]] bool has_bias() const noexcept;
  /// True when the epilogue writes a bias gradient (BGRADB): run() then takes its output.
  [[nodiscard]] bool has_bias_gradient() const noexcept;

  /// Asks cuBLASLt's heuristic once for the best algorithm within `max_workspace` bytes and pins
  /// it; later runs use that algorithm only, so results are bitwise identical run to run.
  /// Throws Unsupported (naming the GEMM shape) when there is none, CublasError on other errors.
  void choose_algorithm(cublasLtHandle_t handle, std::size_t max_workspace);
  [[nodiscard]] bool has_algorithm() const noexcept { return has_algorithm_; }
  /// Workspace bytes the pinned algorithm needs (0 before choose_algorithm).
  [[nodiscard]] std::size_t workspace_size() const noexcept { return workspace_size_; }

  /// Binds the bias the epilogue adds (F elements of the output type; the layer's device bias,
  /// or a host bias for the emulator) into the descriptor; nullptr clears it.
  void set_bias_pointer(const void* bias);
  /// The bound bias.
  [[nodiscard]] const void* bias_pointer() const noexcept { return bias_; }

  /// Enqueues the GEMM on `stream`: a, b, c are device pointers of the plan's A, B and C = D
  /// (a_is_weights says which of A and B is the pointwise matrix); the bias is the bound one.
  /// No allocation and no synchronisation, so it can be captured in a CUDA graph. Throws (before
  /// enqueueing anything) when no algorithm was chosen, no bias is bound although the epilogue
  /// adds one, the workspace is smaller than workspace_size(), or a pointer is less aligned than
  /// the plan promised; CublasError when cuBLASLt fails.
  void run(cublasLtHandle_t handle, const void* a, const void* b, void* c, void* workspace,
           std::size_t workspace_bytes, cudaStream_t stream) const;

  /// The same for a bias-gradient epilogue (BGRADB): `bias_gradient` is where it writes (device
  /// memory, n values of C's type per batch, n apart). Runs of one LtMatmul from several threads
  /// are serialised around the descriptor's pointer (cuBLASLt reads it when called).
  void run(cublasLtHandle_t handle, const void* a, const void* b, void* c, void* bias_gradient,
           void* workspace, std::size_t workspace_bytes, cudaStream_t stream) const;

  /// "m x n x k GEMM (batch b), dtype, math, lda/ldb/ldc, epilogue": for messages.
  [[nodiscard]] std::string shape() const;

 private:
  GemmPlan plan_;
  LtOwned<cublasLtMatmulDesc_t> desc_;
  LtOwned<cublasLtMatrixLayout_t> a_;
  LtOwned<cublasLtMatrixLayout_t> b_;
  LtOwned<cublasLtMatrixLayout_t> c_;
  LtOwned<cublasLtMatmulPreference_t> preference_;
  cublasLtMatmulAlgo_t algorithm_{};
  bool has_algorithm_ = false;
  std::size_t workspace_size_ = 0;
  const void* bias_ = nullptr;
  /// Serialises runs of a bias-gradient matmul around its descriptor's pointer (a unique_ptr:
  /// LtMatmul stays movable).
  std::unique_ptr<std::mutex> bias_gradient_mutex_ = std::make_unique<std::mutex>();

  void matmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void* a, const void* b,
              void* c, void* workspace, std::size_t workspace_bytes, cudaStream_t stream) const;
};

}  // namespace sepconv::detail
