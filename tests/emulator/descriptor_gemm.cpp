#include "emulator/descriptor_gemm.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "host/checks.h"

namespace sepconv::test {
namespace {

using detail::str;

[[noreturn]] void refuse(const std::string& what) {
  throw Refused("descriptor GEMM refuses: " + what);
}

DType storage(std::int64_t type, const char* what) {
  switch (type) {
    case CUDA_R_32F: return DType::f32;
    case CUDA_R_16F: return DType::f16;
    case CUDA_R_16BF: return DType::bf16;
    default: refuse(str(what, " has data type ", type, " (only 32F, 16F, 16BF)"));
  }
}

// A matrix as the layout descriptor says, with bounds-checked element access.
struct Matrix {
  const char* name = "";
  DType dtype = DType::f32;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t ld = 0;
  std::int32_t batch = 1;
  std::int64_t stride = 0;
  HostOperand memory;

  std::int64_t offset(std::int64_t i, std::int64_t r, std::int64_t c) const {
    const std::int64_t o = i * stride + c * ld + r;
    if (o < memory.lo || o >= memory.hi) {
      refuse(str(name, "(", r, ", ", c, ") of batch ", i, " is element ", o,
                 ", outside the buffer's [", memory.lo, ", ", memory.hi, ")"));
    }
    return o;
  }
  double load(std::int64_t i, std::int64_t r, std::int64_t c) const {
    return detail::load_element(memory.data, dtype, offset(i, r, c));
  }
};

Matrix read_layout(const char* name, const HostOperand& operand) {
  if (operand.layout == nullptr) refuse(str(name, " has no layout"));
  const cublasLtMatrixLayout_t l = operand.layout;
  Matrix m;
  m.name = name;
  m.memory = operand;
  m.dtype = storage(read_attribute<std::uint32_t>(l, CUBLASLT_MATRIX_LAYOUT_TYPE, "TYPE"), name);
  const auto order = read_attribute<std::int32_t>(l, CUBLASLT_MATRIX_LAYOUT_ORDER, "ORDER");
  if (order != CUBLASLT_ORDER_COL) refuse(str(name, " has order ", order, " (only ORDER_COL)"));
  const auto rows = read_attribute<std::uint64_t>(l, CUBLASLT_MATRIX_LAYOUT_ROWS, "ROWS");
  const auto cols = read_attribute<std::uint64_t>(l, CUBLASLT_MATRIX_LAYOUT_COLS, "COLS");
  m.ld = read_attribute<std::int64_t>(l, CUBLASLT_MATRIX_LAYOUT_LD, "LD");
  m.batch = read_attribute<std::int32_t>(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, "BATCH_COUNT");
  m.stride = read_attribute<std::int64_t>(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                          "STRIDED_BATCH_OFFSET");
  if (read_attribute<std::int64_t>(l, CUBLASLT_MATRIX_LAYOUT_PLANE_OFFSET, "PLANE_OFFSET") != 0) {
    refuse(str(name, " is planar complex"));
  }
  if (read_attribute<std::uint32_t>(l, CUBLASLT_MATRIX_LAYOUT_BATCH_MODE, "BATCH_MODE") != 0) {
    refuse(str(name, " has a batch mode other than strided"));
  }
  if (rows > INT32_MAX || cols > INT32_MAX) refuse(str(name, " is ", rows, " x ", cols));
  m.rows = static_cast<std::int64_t>(rows);
  m.cols = static_cast<std::int64_t>(cols);
  if (m.rows < 1 || m.cols < 1) refuse(str(name, " is empty (", rows, " x ", cols, ")"));
  if (m.ld < m.rows) refuse(str(name, " has ld ", m.ld, " < rows ", m.rows));
  if (m.batch < 1) refuse(str(name, " has batch count ", m.batch));
  if (m.stride < 0) refuse(str(name, " has a negative batch stride ", m.stride));
  return m;
}

bool same_layout(const Matrix& x, const Matrix& y) {
  return x.dtype == y.dtype && x.rows == y.rows && x.cols == y.cols && x.ld == y.ld &&
         x.batch == y.batch && x.stride == y.stride;
}

// Nearest TF32 value (10-bit mantissa, ties to even): what the tensor cores multiply.
double round_tf32(double v) {
  auto f = static_cast<float>(v);
  if (!std::isfinite(f)) return f;
  std::uint32_t bits = 0;
  std::memcpy(&bits, &f, sizeof bits);
  const std::uint32_t dropped = 13;
  const std::uint32_t half = 1u << (dropped - 1);
  const std::uint32_t odd = (bits >> dropped) & 1u;
  bits = (bits + half - 1 + odd) & ~((1u << dropped) - 1);
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

bool is_transposed(std::int32_t op, const char* name) {
  if (op == CUBLAS_OP_N) return false;
  if (op == CUBLAS_OP_T) return true;
  refuse(str(name, " = ", op, " (only OP_N and OP_T)"));
}

template <class T>
void require_default(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attribute,
                     const char* name, T expected) {
  if (read_attribute<T>(desc, attribute, name) != expected) refuse(str(name, " is set"));
}

}  // namespace

void descriptor_gemm(cublasLtMatmulDesc_t desc, float alpha, const HostOperand& a_operand,
                     const HostOperand& b_operand, float beta, const HostOperand& c_operand,
                     const HostOperand& d_operand, std::int64_t bias_elements) {
  // ---- the operation ----
  const auto compute =
      read_attribute<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, "COMPUTE_TYPE");
  if (compute != CUBLAS_COMPUTE_32F && compute != CUBLAS_COMPUTE_32F_FAST_TF32) {
    refuse(str("compute type ", compute, " (only 32F and 32F_FAST_TF32)"));
  }
  const auto scale =
      read_attribute<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, "SCALE_TYPE");
  if (scale != CUDA_R_32F) refuse(str("scale type ", scale, " (only 32F: float alpha, beta)"));
  require_default<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, "POINTER_MODE",
                                CUBLASLT_POINTER_MODE_HOST);
  const bool trans_a = is_transposed(
      read_attribute<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_TRANSA, "TRANSA"), "TRANSA");
  const bool trans_b = is_transposed(
      read_attribute<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_TRANSB, "TRANSB"), "TRANSB");
  require_default<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_TRANSC, "TRANSC", CUBLAS_OP_N);
  require_default<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_FILL_MODE, "FILL_MODE",
                                CUBLAS_FILL_MODE_FULL);
  const auto epilogue =
      read_attribute<std::uint32_t>(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, "EPILOGUE");
  bool add_bias = false;
  bool relu = false;
  switch (epilogue) {
    case CUBLASLT_EPILOGUE_DEFAULT: break;
    case CUBLASLT_EPILOGUE_RELU: relu = true; break;
    case CUBLASLT_EPILOGUE_BIAS: add_bias = true; break;
    case CUBLASLT_EPILOGUE_RELU_BIAS: add_bias = relu = true; break;
    default: refuse(str("epilogue ", epilogue, " (only DEFAULT, RELU, BIAS, RELU_BIAS)"));
  }
  const auto* bias =
      read_attribute<const void*>(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, "BIAS_POINTER");
  const auto bias_stride = read_attribute<std::int64_t>(
      desc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, "BIAS_BATCH_STRIDE");
  const auto bias_type =
      read_attribute<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, "BIAS_DATA_TYPE");
  // Attributes that would change the result and that this GEMM does not implement.
  for (auto [attribute, name] :
       {std::pair{CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, "EPILOGUE_AUX_POINTER"},
        std::pair{CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, "A_SCALE_POINTER"},
        std::pair{CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, "B_SCALE_POINTER"},
        std::pair{CUBLASLT_MATMUL_DESC_C_SCALE_POINTER, "C_SCALE_POINTER"},
        std::pair{CUBLASLT_MATMUL_DESC_D_SCALE_POINTER, "D_SCALE_POINTER"},
        std::pair{CUBLASLT_MATMUL_DESC_AMAX_D_POINTER, "AMAX_D_POINTER"},
        std::pair{CUBLASLT_MATMUL_DESC_D_OUT_SCALE_POINTER, "D_OUT_SCALE_POINTER"},
        std::pair{CUBLASLT_MATMUL_DESC_EMULATION_DESCRIPTOR, "EMULATION_DESCRIPTOR"}}) {
    require_default<const void*>(desc, attribute, name, nullptr);
  }
  for (auto [attribute, name] : {std::pair{CUBLASLT_MATMUL_DESC_A_SCALE_MODE, "A_SCALE_MODE"},
                                 std::pair{CUBLASLT_MATMUL_DESC_B_SCALE_MODE, "B_SCALE_MODE"},
                                 std::pair{CUBLASLT_MATMUL_DESC_C_SCALE_MODE, "C_SCALE_MODE"},
                                 std::pair{CUBLASLT_MATMUL_DESC_D_SCALE_MODE, "D_SCALE_MODE"}}) {
    require_default<std::int32_t>(desc, attribute, name, 0);
  }
  require_default<std::int8_t>(desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM, "FAST_ACCUM", 0);
  require_default<std::int64_t>(desc, CUBLASLT_MATMUL_DESC_ALPHA_VECTOR_BATCH_STRIDE,
                                "ALPHA_VECTOR_BATCH_STRIDE", 0);
  // CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET only changes the schedule, never the result.

  // ---- the matrices ----
  const Matrix a = read_layout("A", a_operand);
  const Matrix b = read_layout("B", b_operand);
  const Matrix d = read_layout("D", d_operand);
  const Matrix c = read_layout("C", c_operand);
  if (a.dtype != b.dtype) refuse("A and B have different types");
  if (compute == CUBLAS_COMPUTE_32F_FAST_TF32 && a.dtype != DType::f32) {
    refuse("32F_FAST_TF32 with 16-bit inputs");
  }
  const std::int64_t m = trans_a ? a.cols : a.rows;
  const std::int64_t k = trans_a ? a.rows : a.cols;
  const std::int64_t kb = trans_b ? b.cols : b.rows;
  const std::int64_t n = trans_b ? b.rows : b.cols;
  if (kb != k) refuse(str("op(A) is ", m, " x ", k, " but op(B) is ", kb, " x ", n));
  if (c.rows != m || c.cols != n || d.rows != m || d.cols != n) {
    refuse(str("C is ", c.rows, " x ", c.cols, " and D ", d.rows, " x ", d.cols,
               " for op(A) op(B) of ", m, " x ", n));
  }
  const std::int32_t batch = d.batch;
  if (a.batch != batch || b.batch != batch || c.batch != batch) {
    refuse(str("batch counts A ", a.batch, ", B ", b.batch, ", C ", c.batch, ", D ", batch));
  }
  if (c_operand.data == d_operand.data && !same_layout(c, d)) {
    refuse("C and D are the same memory with different layouts (in place needs one layout)");
  }
  DType bias_dtype = d.dtype;
  if (add_bias) {
    if (bias == nullptr) refuse("a bias epilogue without BIAS_POINTER");
    if (bias_type != -1) bias_dtype = storage(bias_type, "the bias");
    const std::int64_t last = (batch - 1) * bias_stride + m;  // one past the last bias read
    if (bias_stride < 0 || last > bias_elements) {
      refuse(str("the bias reads ", last, " elements of a buffer of ", bias_elements));
    }
  }

  // ---- the arithmetic ----
  const bool tf32 = compute == CUBLAS_COMPUTE_32F_FAST_TF32;
  auto input = [&](const Matrix& x, std::int64_t i, std::int64_t r, std::int64_t col) {
    const double v = x.load(i, r, col);
    return tf32 ? round_tf32(v) : v;
  };
  std::vector<double> column(static_cast<std::size_t>(m));
  void* const out = const_cast<void*>(d_operand.data);
  for (std::int32_t i = 0; i < batch; ++i) {
    for (std::int64_t col = 0; col < n; ++col) {
      // The whole column first: D may be C (in place), read before written.
      for (std::int64_t row = 0; row < m; ++row) {
        double acc = 0;
        for (std::int64_t p = 0; p < k; ++p) {
          acc += input(a, i, trans_a ? p : row, trans_a ? row : p) *
                 input(b, i, trans_b ? col : p, trans_b ? p : col);
        }
        double v = static_cast<double>(alpha) * acc;
        if (beta != 0.0f) v += static_cast<double>(beta) * c.load(i, row, col);
        if (add_bias) v += detail::load_element(bias, bias_dtype, i * bias_stride + row);
        if (relu) v = v < 0 ? 0.0 : v;
        column[static_cast<std::size_t>(row)] = v;
      }
      for (std::int64_t row = 0; row < m; ++row) {
        detail::store_element(out, d.dtype, d.offset(i, row, col),
                              column[static_cast<std::size_t>(row)]);
      }
    }
  }
}

}  // namespace sepconv::test
