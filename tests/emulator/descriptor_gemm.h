// A plain host GEMM that executes a whole cuBLASLt matmul descriptor: CI has no GPU, but
// cuBLASLt's descriptor objects can be created and read back without one, so the very
// descriptors the library builds are read with the Get functions and executed here in float64.
//
// Everything that changes the result is read back: compute and scale types, pointer mode,
// transposes, epilogue, bias pointer, type and batch stride, and for each matrix its type, order,
// rows, columns, leading dimension, batch count and batch stride. Anything this GEMM does not
// implement (row or tiled orders, other epilogues, scale pointers, device pointer modes, ...) or
// that cuBLASLt would reject (ld < rows, shapes that do not chain, mismatched batch counts) is
// refused with an exception, so nothing is silently ignored. Every element access is checked
// against the bounds of the buffer it belongs to.
#pragma once

#include <cublasLt.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace sepconv::test {

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

/// One matrix of the matmul: its layout descriptor and host memory. `data` is what cuBLASLt
/// would receive as the pointer; elements [lo, hi) relative to it (in elements of the layout's
/// type; lo <= 0) are inside the allocation and may be accessed.
struct HostOperand {
  cublasLtMatrixLayout_t layout = nullptr;
  const void* data = nullptr;
  std::int64_t lo = 0;
  std::int64_t hi = 0;
};

/// Executes D = epilogue(alpha * op(A) op(B) + beta * C [+ bias]) as the descriptors say, from
/// host memory (the bias pointer in `desc` must be host memory too, with `bias_elements`
/// elements). Accumulates in float64 (inputs rounded to TF32 first for
/// CUBLAS_COMPUTE_32F_FAST_TF32) and rounds each result once to D's type. C is not read when
/// beta == 0, as in cuBLAS. D's data is written (it is HostOperand for symmetry; it must point to
/// writable memory).
void descriptor_gemm(cublasLtMatmulDesc_t desc, float alpha, const HostOperand& a,
                     const HostOperand& b, float beta, const HostOperand& c, const HostOperand& d,
                     std::int64_t bias_elements);

}  // namespace sepconv::test
