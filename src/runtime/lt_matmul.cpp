// cuBLASLt descriptors from a GemmPlan (host code: works without a GPU except for the handle
// that choose_algorithm and run take).
#include "runtime/lt_matmul.h"

#include <cstdint>

#include "detail/cuda_check.h"
#include "detail/message.h"

namespace sepconv::detail {
namespace {

template <class T>
void set(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attribute, const T& value) {
  SEPCONV_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(desc, attribute, &value, sizeof value));
}
template <class T>
void set(cublasLtMatrixLayout_t layout, cublasLtMatrixLayoutAttribute_t attribute, const T& value) {
  SEPCONV_CUBLAS_TRY(cublasLtMatrixLayoutSetAttribute(layout, attribute, &value, sizeof value));
}
template <class T>
void set(cublasLtMatmulPreference_t preference, cublasLtMatmulPreferenceAttributes_t attribute,
         const T& value) {
  SEPCONV_CUBLAS_TRY(
      cublasLtMatmulPreferenceSetAttribute(preference, attribute, &value, sizeof value));
}

cublasLtEpilogue_t lt_epilogue(GemmEpilogue e) {
  switch (e) {
    case GemmEpilogue::bias: return CUBLASLT_EPILOGUE_BIAS;
    case GemmEpilogue::relu: return CUBLASLT_EPILOGUE_RELU;
    case GemmEpilogue::relu_bias: return CUBLASLT_EPILOGUE_RELU_BIAS;
    case GemmEpilogue::bias_gradient_b: return CUBLASLT_EPILOGUE_BGRADB;
    case GemmEpilogue::none: break;
  }
  return CUBLASLT_EPILOGUE_DEFAULT;
}

// A column-major layout of a stored rows x cols matrix, batched when batch_count > 1.
LtOwned<cublasLtMatrixLayout_t> make_layout(DType dtype, std::int64_t rows, std::int64_t cols,
                                            std::int64_t ld, std::int64_t batch_count,
                                            std::int64_t batch_stride) {
  cublasLtMatrixLayout_t raw = nullptr;
  SEPCONV_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&raw, lt_data_type(dtype),
                                                static_cast<std::uint64_t>(rows),
                                                static_cast<std::uint64_t>(cols), ld));
  LtOwned<cublasLtMatrixLayout_t> layout(raw);
  set(raw, CUBLASLT_MATRIX_LAYOUT_ORDER, static_cast<std::int32_t>(CUBLASLT_ORDER_COL));
  if (batch_count > 1) {
    set(raw, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, static_cast<std::int32_t>(batch_count));
    set(raw, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, batch_stride);
  }
  return layout;
}

void check_aligned(const char* operand, const void* pointer, int alignment) {
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);
  if (address % static_cast<std::uintptr_t>(alignment) != 0) {
    fail(operand, str("a pointer aligned to ", alignment_of(address), " bytes"),
         str("the ", alignment, "-byte alignment the GEMM's algorithm was chosen for"));
  }
}

}  // namespace

cudaDataType_t lt_data_type(DType dtype) noexcept {
  switch (dtype) {
    case DType::f16: return CUDA_R_16F;
    case DType::bf16: return CUDA_R_16BF;
    case DType::f32: break;
  }
  return CUDA_R_32F;
}

cublasComputeType_t lt_compute_type(const GemmPlan& plan) noexcept {
  return plan.dtype == DType::f32 && plan.math == MathMode::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                 : CUBLAS_COMPUTE_32F;
}

void LtDeleter::operator()(cublasLtMatmulDescOpaque_t* p) const noexcept {
  cublasLtMatmulDescDestroy(p);
}
void LtDeleter::operator()(cublasLtMatrixLayoutOpaque_t* p) const noexcept {
  cublasLtMatrixLayoutDestroy(p);
}
void LtDeleter::operator()(cublasLtMatmulPreferenceOpaque_t* p) const noexcept {
  cublasLtMatmulPreferenceDestroy(p);
}

LtMatmul::LtMatmul(const GemmPlan& plan) : plan_(plan) {
  const GemmPlan& g = plan_;
  cublasLtMatmulDesc_t desc = nullptr;
  SEPCONV_CUBLAS_TRY(cublasLtMatmulDescCreate(&desc, lt_compute_type(g), CUDA_R_32F));
  desc_.reset(desc);
  set(desc, CUBLASLT_MATMUL_DESC_TRANSA,
      static_cast<std::int32_t>(g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N));
  set(desc, CUBLASLT_MATMUL_DESC_TRANSB,
      static_cast<std::int32_t>(g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N));
  set(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, static_cast<std::uint32_t>(lt_epilogue(g.epilogue)));
  if (has_bias()) {
    set(desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
        static_cast<std::int32_t>(lt_data_type(g.dtype)));
    set(desc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, std::int64_t{0});  // one bias, every batch
  }
  if (has_bias_gradient()) {
    // The bias gradient has the output's type; batches write their own vectors, n apart.
    set(desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
        static_cast<std::int32_t>(lt_data_type(g.c_dtype())));
    set(desc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, g.batch_count > 1 ? g.n : std::int64_t{0});
  }

  // Stored shapes: op(A) is m x k, op(B) is k x n, C = D is m x n.
  a_ = make_layout(g.dtype, g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k, g.lda, g.batch_count,
                   g.stride_a);
  b_ = make_layout(g.dtype, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n, g.ldb, g.batch_count,
                   g.stride_b);
  c_ = make_layout(g.c_dtype(), g.m, g.n, g.ldc, g.batch_count, g.stride_c);

  cublasLtMatmulPreference_t preference = nullptr;
  SEPCONV_CUBLAS_TRY(cublasLtMatmulPreferenceCreate(&preference));
  preference_.reset(preference);
  set(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
      static_cast<std::uint32_t>(g.align_a));
  set(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
      static_cast<std::uint32_t>(g.align_b));
  set(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
      static_cast<std::uint32_t>(g.align_c));
  set(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
      static_cast<std::uint32_t>(g.align_c));
}

bool LtMatmul::has_bias() const noexcept {
  return plan_.epilogue == GemmEpilogue::bias || plan_.epilogue == GemmEpilogue::relu_bias;
}

bool LtMatmul::has_bias_gradient() const noexcept {
  return plan_.epilogue == GemmEpilogue::bias_gradient_b;
}

void LtMatmul::set_bias_pointer(const void* bias) {
  set(desc_.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias);
  bias_ = bias;
}

std::string LtMatmul::shape() const {
  const GemmPlan& g = plan_;
  return str(g.m, " x ", g.n, " x ", g.k, " GEMM (m x n x k, batch ", g.batch_count, "), ",
             to_string(g.dtype), g.float32_output ? " -> float32" : "", ", math ", to_string(g.math), ", op(A) ", g.trans_a ? "T" : "N",
             " lda ", g.lda, ", op(B) ", g.trans_b ? "T" : "N", " ldb ", g.ldb, ", ldc ", g.ldc,
             ", epilogue ", gemm_epilogue_name(g.epilogue), ", alignment A/B/C ", g.align_a, "/",
             g.align_b, "/", g.align_c, " bytes");
}

void LtMatmul::choose_algorithm(cublasLtHandle_t handle, std::size_t max_workspace) {
  set(preference_.get(), CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
      static_cast<std::uint64_t>(max_workspace));
  // The heuristic takes the bias's alignment from the pointer's value and never dereferences it:
  // a placeholder address with exactly the plan's alignment stands in for the real bias.
  if (has_bias() || has_bias_gradient()) {
    set_bias_pointer(reinterpret_cast<const void*>(static_cast<std::uintptr_t>(plan_.align_bias)));
  }
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t status =
      cublasLtMatmulAlgoGetHeuristic(handle, desc_.get(), a_.get(), b_.get(), c_.get(), c_.get(),
                                     preference_.get(), 1, &result, &found);
  set_bias_pointer(nullptr);
  if (status == CUBLAS_STATUS_NOT_SUPPORTED ||
      (status == CUBLAS_STATUS_SUCCESS && (found < 1 || result.state != CUBLAS_STATUS_SUCCESS))) {
    throw Unsupported(str("sepconv: cuBLASLt has no algorithm for the pointwise ", shape(),
                          " within a workspace of ", max_workspace, " bytes"));
  }
  SEPCONV_CUBLAS_TRY(status);
  algorithm_ = result.algo;
  workspace_size_ = result.workspaceSize;
  has_algorithm_ = true;
}

void LtMatmul::run(cublasLtHandle_t handle, const void* a, const void* b, void* c,
                   void* workspace, std::size_t workspace_bytes, cudaStream_t stream) const {
  if (!has_algorithm_) {
    throw Error("sepconv: internal error: LtMatmul::run before choose_algorithm for the " +
                shape());
  }
  if (workspace_bytes < workspace_size_) {
    fail("workspace", str(workspace_bytes, " bytes"),
         str("at least the ", workspace_size_, " bytes the pointwise GEMM's algorithm needs"));
  }
  check_aligned("A", a, plan_.align_a);
  check_aligned("B", b, plan_.align_b);
  check_aligned("y", c, plan_.align_c);
  if (has_bias()) {
    if (bias_ == nullptr) fail("bias", "no bound bias", "the bias the GEMM's epilogue adds");
    check_aligned("bias", bias_, plan_.align_bias);
  }
  if (has_bias_gradient()) {
    throw Error("sepconv: internal error: a bias-gradient GEMM run without its output (" +
                shape() + ")");
  }
  matmul(handle, desc_.get(), a, b, c, workspace, workspace_bytes, stream);
}

void LtMatmul::run(cublasLtHandle_t handle, const void* a, const void* b, void* c,
                   void* bias_gradient, void* workspace, std::size_t workspace_bytes,
                   cudaStream_t stream) const {
  if (!has_algorithm_) {
    throw Error("sepconv: internal error: LtMatmul::run before choose_algorithm for the " +
                shape());
  }
  if (!has_bias_gradient()) return run(handle, a, b, c, workspace, workspace_bytes, stream);
  if (workspace_bytes < workspace_size_) {
    fail("workspace", str(workspace_bytes, " bytes"),
         str("at least the ", workspace_size_, " bytes the GEMM's algorithm needs"));
  }
  check_aligned("A", a, plan_.align_a);
  check_aligned("B", b, plan_.align_b);
  check_aligned("C", c, plan_.align_c);
  check_aligned("bias gradient", bias_gradient, plan_.align_bias);
  // The output pointer lives in the descriptor, which cuBLASLt reads when cublasLtMatmul is
  // called: set and call under the lock, so concurrent runs of this matmul (distinct
  // workspaces) cannot see each other's pointer.
  std::lock_guard<std::mutex> lock(*bias_gradient_mutex_);
  set(desc_.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, static_cast<const void*>(bias_gradient));
  matmul(handle, desc_.get(), a, b, c, workspace, workspace_bytes, stream);
}

void LtMatmul::matmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void* a,
                      const void* b, void* c, void* workspace, std::size_t workspace_bytes,
                      cudaStream_t stream) const {
  const float alpha = 1.0f;
  const float beta = 0.0f;
  SEPCONV_CUBLAS_TRY(cublasLtMatmul(handle, desc, &alpha, a, a_.get(), b, b_.get(), &beta, c,
                                    c_.get(), c, c_.get(), &algorithm_, workspace, workspace_bytes,
                                    stream));
}

}  // namespace sepconv::detail
