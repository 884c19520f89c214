#include "emulator/descriptor_gemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "detail/message.h"
#include "detail/elements.h"

namespace sepconv::emulator {
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

MatrixLayout read_layout(const char* name, cublasLtMatrixLayout_t l) {
  if (l == nullptr) refuse(str(name, " has no layout"));
  MatrixLayout m;
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

bool same_layout(const MatrixLayout& x, const MatrixLayout& y) {
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

Matmul read_matmul(cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a_layout,
                   cublasLtMatrixLayout_t b_layout, cublasLtMatrixLayout_t c_layout,
                   cublasLtMatrixLayout_t d_layout) {
  Matmul mm;
  // ---- the operation ----
  const auto compute =
      read_attribute<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, "COMPUTE_TYPE");
  if (compute != CUBLAS_COMPUTE_32F && compute != CUBLAS_COMPUTE_32F_FAST_TF32) {
    refuse(str("compute type ", compute, " (only 32F and 32F_FAST_TF32)"));
  }
  mm.tf32 = compute == CUBLAS_COMPUTE_32F_FAST_TF32;
  const auto scale =
      read_attribute<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, "SCALE_TYPE");
  if (scale != CUDA_R_32F) refuse(str("scale type ", scale, " (only 32F: float alpha, beta)"));
  require_default<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, "POINTER_MODE",
                                CUBLASLT_POINTER_MODE_HOST);
  mm.trans_a = is_transposed(
      read_attribute<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_TRANSA, "TRANSA"), "TRANSA");
  mm.trans_b = is_transposed(
      read_attribute<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_TRANSB, "TRANSB"), "TRANSB");
  require_default<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_TRANSC, "TRANSC", CUBLAS_OP_N);
  require_default<std::int32_t>(desc, CUBLASLT_MATMUL_DESC_FILL_MODE, "FILL_MODE",
                                CUBLAS_FILL_MODE_FULL);
  const auto epilogue =
      read_attribute<std::uint32_t>(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, "EPILOGUE");
  switch (epilogue) {
    case CUBLASLT_EPILOGUE_DEFAULT: break;
    case CUBLASLT_EPILOGUE_RELU: mm.relu = true; break;
    case CUBLASLT_EPILOGUE_BIAS: mm.add_bias = true; break;
    case CUBLASLT_EPILOGUE_RELU_BIAS: mm.add_bias = mm.relu = true; break;
    case CUBLASLT_EPILOGUE_BGRADA: mm.bias_gradient = Matmul::BiasGradient::a; break;
    case CUBLASLT_EPILOGUE_BGRADB: mm.bias_gradient = Matmul::BiasGradient::b; break;
    default:
      refuse(str("epilogue ", epilogue, " (only DEFAULT, RELU, BIAS, RELU_BIAS, BGRADA, BGRADB)"));
  }
  mm.bias = read_attribute<const void*>(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, "BIAS_POINTER");
  mm.bias_stride = read_attribute<std::int64_t>(desc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE,
                                                "BIAS_BATCH_STRIDE");
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
  mm.a = read_layout("A", a_layout);
  mm.b = read_layout("B", b_layout);
  mm.d = read_layout("D", d_layout);
  mm.c = read_layout("C", c_layout);
  const MatrixLayout& a = mm.a;
  const MatrixLayout& b = mm.b;
  const MatrixLayout& c = mm.c;
  const MatrixLayout& d = mm.d;
  if (a.dtype != b.dtype) refuse("A and B have different types");
  if (mm.tf32 && a.dtype != DType::f32) refuse("32F_FAST_TF32 with 16-bit inputs");
  mm.m = mm.trans_a ? a.cols : a.rows;
  mm.k = mm.trans_a ? a.rows : a.cols;
  const std::int64_t kb = mm.trans_b ? b.cols : b.rows;
  mm.n = mm.trans_b ? b.rows : b.cols;
  if (kb != mm.k) refuse(str("op(A) is ", mm.m, " x ", mm.k, " but op(B) is ", kb, " x ", mm.n));
  if (c.rows != mm.m || c.cols != mm.n || d.rows != mm.m || d.cols != mm.n) {
    refuse(str("C is ", c.rows, " x ", c.cols, " and D ", d.rows, " x ", d.cols,
               " for op(A) op(B) of ", mm.m, " x ", mm.n));
  }
  mm.batch = d.batch;
  if (a.batch != mm.batch || b.batch != mm.batch || c.batch != mm.batch) {
    refuse(str("batch counts A ", a.batch, ", B ", b.batch, ", C ", c.batch, ", D ", mm.batch));
  }
  // "Bias gradient vector elements are the same type as the output elements" (cublasLt.h),
  // as the bias's are; BIAS_DATA_TYPE may say so explicitly.
  mm.bias_dtype = d.dtype;
  if (mm.bias_gradient != Matmul::BiasGradient::none) {
    if (mm.bias == nullptr) refuse("a bias gradient epilogue without BIAS_POINTER");
    if (bias_type != -1) mm.bias_dtype = storage(bias_type, "the bias gradient");
    const std::int64_t length = mm.bias_gradient == Matmul::BiasGradient::b ? mm.n : mm.m;
    if (mm.batch > 1 && mm.bias_stride < length) {
      refuse(str("a batched bias gradient of ", length, " values per batch with batch stride ",
                 mm.bias_stride, ": the batches would write over one another"));
    }
  }
  if (mm.add_bias) {
    if (mm.bias == nullptr) refuse("a bias epilogue without BIAS_POINTER");
    if (bias_type != -1) mm.bias_dtype = storage(bias_type, "the bias");
    if (mm.bias_stride < 0) refuse(str("a negative bias batch stride ", mm.bias_stride));
  }
  return mm;
}

namespace {

// An operand's element (row, col) of batch i, bounds-checked, as double.
double load(const char* name, const MatrixLayout& l, const Operand& o, std::int64_t i,
            std::int64_t row, std::int64_t col) {
  const std::int64_t at = l.offset(i, row, col);
  if (at < o.lo || at >= o.hi) {
    refuse(str(name, "(", row, ", ", col, ") of batch ", i, " is element ", at,
               ", outside the buffer's [", o.lo, ", ", o.hi, ")"));
  }
  return detail::load_element(o.data, l.dtype, at);
}

// Columns of op(B) gathered at a time.
constexpr std::int64_t kColumnBlock = 256;

}  // namespace

void execute_matmul(const Matmul& mm, float alpha, const Operand& a, const Operand& b, float beta,
                    const Operand& c, const Operand& d, const Operand& bias) {
  if (c.data == d.data && !same_layout(mm.c, mm.d)) {
    refuse("C and D are the same memory with different layouts (in place needs one layout)");
  }
  using BiasGradient = Matmul::BiasGradient;
  const bool bias_gradient = mm.bias_gradient != BiasGradient::none;
  if (mm.add_bias || bias_gradient) {
    // One past the last element read (bias) or written (bias gradient: m or n per batch).
    const std::int64_t length = mm.bias_gradient == BiasGradient::b ? mm.n : mm.m;
    const std::int64_t last = (mm.batch - 1) * mm.bias_stride + length;
    if (bias.lo > 0 || last > bias.hi) {
      refuse(str(bias_gradient ? "the bias gradient writes" : "the bias reads", " elements [0, ",
                 last, ") of a buffer of [", bias.lo, ", ", bias.hi, ")"));
    }
    if (bias_gradient && alpha != 1.0f) {
      refuse(str("a bias gradient epilogue with alpha ", alpha,
                 " (whether alpha scales it is not documented; only alpha = 1)"));
    }
  }
  const std::int64_t m = mm.m, n = mm.n, k = mm.k;
  auto input = [&](double v) { return mm.tf32 ? round_tf32(v) : v; };
  // op(A) row by row (k contiguous), op(B) column by column (k contiguous): dot products over
  // contiguous memory, every element loaded (and checked) once per batch.
  std::vector<double> op_a(static_cast<std::size_t>(m * k));
  std::vector<double> op_b(static_cast<std::size_t>(std::min(n, kColumnBlock) * k));
  std::vector<double> column(static_cast<std::size_t>(m));
  void* const out = const_cast<void*>(d.data);
  void* const bias_out = const_cast<void*>(mm.bias);
  // The sum over k of a row of op(A) or a column of op(B), into the bias gradient.
  auto store_bias_gradient = [&](std::int32_t i, std::int64_t index, const double* values) {
    double sum = 0;
    for (std::int64_t p = 0; p < k; ++p) sum += values[p];
    detail::store_element(bias_out, mm.bias_dtype, i * mm.bias_stride + index, sum);
  };
  for (std::int32_t i = 0; i < mm.batch; ++i) {
    for (std::int64_t row = 0; row < m; ++row) {
      for (std::int64_t p = 0; p < k; ++p) {
        op_a[static_cast<std::size_t>(row * k + p)] = input(
            mm.trans_a ? load("A", mm.a, a, i, p, row) : load("A", mm.a, a, i, row, p));
      }
      if (mm.bias_gradient == BiasGradient::a) store_bias_gradient(i, row, op_a.data() + row * k);
    }
    for (std::int64_t col0 = 0; col0 < n; col0 += kColumnBlock) {
      const std::int64_t cols = std::min(kColumnBlock, n - col0);
      for (std::int64_t j = 0; j < cols; ++j) {
        for (std::int64_t p = 0; p < k; ++p) {
          op_b[static_cast<std::size_t>(j * k + p)] =
              input(mm.trans_b ? load("B", mm.b, b, i, col0 + j, p)
                               : load("B", mm.b, b, i, p, col0 + j));
        }
        if (mm.bias_gradient == BiasGradient::b) {
          store_bias_gradient(i, col0 + j, op_b.data() + j * k);
        }
      }
      for (std::int64_t j = 0; j < cols; ++j) {
        const std::int64_t col = col0 + j;
        const double* const bj = op_b.data() + j * k;
        // The whole column first: D may be C (in place), read before written.
        for (std::int64_t row = 0; row < m; ++row) {
          const double* const ar = op_a.data() + row * k;
          double acc = 0;
          for (std::int64_t p = 0; p < k; ++p) acc += ar[p] * bj[p];
          double v = static_cast<double>(alpha) * acc;
          if (beta != 0.0f) v += static_cast<double>(beta) * load("C", mm.c, c, i, row, col);
          if (mm.add_bias) v += detail::load_element(mm.bias, mm.bias_dtype, i * mm.bias_stride + row);
          if (mm.relu) v = v < 0 ? 0.0 : v;
          column[static_cast<std::size_t>(row)] = v;
        }
        for (std::int64_t row = 0; row < m; ++row) {
          const std::int64_t at = mm.d.offset(i, row, col);
          if (at < d.lo || at >= d.hi) {
            refuse(str("D(", row, ", ", col, ") of batch ", i, " is element ", at,
                       ", outside the buffer's [", d.lo, ", ", d.hi, ")"));
          }
          detail::store_element(out, mm.d.dtype, at, column[static_cast<std::size_t>(row)]);
        }
      }
    }
  }
}

void descriptor_gemm(cublasLtMatmulDesc_t desc, float alpha, const HostOperand& a,
                     const HostOperand& b, float beta, const HostOperand& c, const HostOperand& d,
                     std::int64_t bias_elements) {
  const Matmul mm = read_matmul(desc, a.layout, b.layout, c.layout, d.layout);
  auto operand = [](const HostOperand& h) { return Operand{h.data, h.lo, h.hi}; };
  execute_matmul(mm, alpha, operand(a), operand(b), beta, operand(c), operand(d),
                 Operand{mm.bias, 0, bias_elements});
}

}  // namespace sepconv::emulator
