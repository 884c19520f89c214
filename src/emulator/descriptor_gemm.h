// A plain host GEMM that executes a whole cuBLASLt matmul descriptor: cuBLASLt's descriptor
// objects can be created and read back without a GPU, so the very descriptors the library builds
// are read with the Get functions and executed here in float64. The CPU tests call it directly;
// the simulated device's cublasLtMatmul runs it on device memory.
//
// Everything that changes the result is read back: compute and scale types, pointer mode,
// transposes, epilogue, bias pointer, type and batch stride, and for each matrix its type, order,
// rows, columns, leading dimension, batch count and batch stride. Anything this GEMM does not
// implement (row or tiled orders, other epilogues, scale pointers, device pointer modes, alpha
// other than 1 with a bias gradient, ...) or
// that cuBLASLt would reject (ld < rows, shapes that do not chain, mismatched batch counts) is
// refused with an exception, so nothing is silently ignored. Every element access is checked
// against the bounds of the buffer it belongs to.
#pragma once

#include <cublasLt.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "sepconv/types.h"

namespace sepconv::emulator {

/// Thrown when a descriptor asks for something the emulator does not implement, something
/// cuBLASLt would reject, or an access outside a buffer.
class Refused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// cuBLASLt's getters under one name: the matmul descriptor, a matrix layout, a preference.
inline cublasStatus_t lt_get(cublasLtMatmulDesc_t h, cublasLtMatmulDescAttributes_t a, void* buf,
                             std::size_t size, std::size_t* written) {
  return cublasLtMatmulDescGetAttribute(h, a, buf, size, written);
}
inline cublasStatus_t lt_get(cublasLtMatrixLayout_t h, cublasLtMatrixLayoutAttribute_t a, void* buf,
                             std::size_t size, std::size_t* written) {
  return cublasLtMatrixLayoutGetAttribute(h, a, buf, size, written);
}
inline cublasStatus_t lt_get(cublasLtMatmulPreference_t h, cublasLtMatmulPreferenceAttributes_t a,
                             void* buf, std::size_t size, std::size_t* written) {
  return cublasLtMatmulPreferenceGetAttribute(h, a, buf, size, written);
}

/// Reads one attribute of a cuBLASLt descriptor, checking that cuBLASLt stores exactly
/// sizeof(T) bytes for it; throws Refused otherwise.
template <class T, class Handle, class Attribute>
T read_attribute(Handle handle, Attribute attribute, const char* name) {
  T value{};
  std::size_t written = 0;
  const cublasStatus_t status = lt_get(handle, attribute, &value, sizeof value, &written);
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw Refused(std::string("reading ") + name + " failed: " + cublasLtGetStatusName(status));
  }
  if (written != sizeof value) {
    throw Refused(std::string(name) + " has " + std::to_string(written) + " bytes, expected " +
                  std::to_string(sizeof value));
  }
  return value;
}

/// One matrix as its layout descriptor says (column-major, strided batches).
struct MatrixLayout {
  DType dtype = DType::f32;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t ld = 0;
  std::int32_t batch = 1;
  std::int64_t stride = 0;
  /// Element offset of (row, col) of batch i.
  [[nodiscard]] std::int64_t offset(std::int64_t i, std::int64_t row, std::int64_t col) const {
    return i * stride + col * ld + row;
  }
};

/// Everything a matmul's descriptors say that changes its result, read back once (as cuBLASLt
/// reads them when cublasLtMatmul is called): D = epilogue(alpha op(A) op(B) + beta C [+ bias]).
struct Matmul {
  bool tf32 = false;  ///< CUBLAS_COMPUTE_32F_FAST_TF32: inputs rounded to TF32
  bool trans_a = false;
  bool trans_b = false;
  bool add_bias = false;
  bool relu = false;
  /// BGRADA / BGRADB: the bias pointer is an output, the sums of op(A)'s rows (m values) or of
  /// op(B)'s columns (n values) over k, per batch at bias + i * bias_stride.
  enum class BiasGradient : std::uint8_t { none, a, b } bias_gradient = BiasGradient::none;
  const void* bias = nullptr;
  std::int64_t bias_stride = 0;
  DType bias_dtype = DType::f32;
  MatrixLayout a, b, c, d;
  std::int64_t m = 0, n = 0, k = 0;
  std::int32_t batch = 1;
};

/// Reads and checks a matmul's descriptors. Throws Refused (see the file comment).
Matmul read_matmul(cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                   cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d);

/// Memory of one operand: `data` is what cuBLASLt would receive as the pointer; elements
/// [lo, hi) relative to it (in elements of the operand's type; lo <= 0) lie inside its
/// allocation and may be accessed.
struct Operand {
  const void* data = nullptr;
  std::int64_t lo = 0;
  std::int64_t hi = 0;
};

/// Executes a matmul from host memory: accumulates in float64 (inputs rounded to TF32 first for
/// CUBLAS_COMPUTE_32F_FAST_TF32) and rounds each result once to D's type. C is not read when
/// beta == 0, as in cuBLAS; D may be C (in place, with C's layout). `bias` bounds the bias the
/// epilogue reads, or the bias gradient BGRADA / BGRADB writes (mm.bias is the pointer): the sum
/// over k of the op(A) or op(B) elements the products use (TF32-rounded with 32F_FAST_TF32),
/// accumulated in float64 and rounded once. Throws Refused for an access outside an operand.
void execute_matmul(const Matmul& mm, float alpha, const Operand& a, const Operand& b, float beta,
                    const Operand& c, const Operand& d, const Operand& bias);

/// One matrix of the matmul for descriptor_gemm: its layout descriptor and host memory.
struct HostOperand {
  cublasLtMatrixLayout_t layout = nullptr;
  const void* data = nullptr;
  std::int64_t lo = 0;
  std::int64_t hi = 0;
};

/// read_matmul then execute_matmul, from host memory (the bias pointer in `desc` must be host
/// memory too, with `bias_elements` elements).
void descriptor_gemm(cublasLtMatmulDesc_t desc, float alpha, const HostOperand& a,
                     const HostOperand& b, float beta, const HostOperand& c, const HostOperand& d,
                     std::int64_t bias_elements);

}  // namespace sepconv::emulator
