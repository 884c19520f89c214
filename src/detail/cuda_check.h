// Checking CUDA runtime and cuBLAS(Lt) calls: a failure becomes CudaError / CublasError naming the
// call, the status and the source location. The two macros are the only ones the library defines
// besides NVTX.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include "sepconv/error.h"

namespace sepconv::detail {

/// (`file` may be null: no location.)
[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file,
                                     int line);

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) throw_cuda_error(status, call, file, line);
}
inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) throw_cublas_error(status, call, file, line);
}

}  // namespace sepconv::detail

/// Throws sepconv::CudaError when `call` (a cudaError_t expression) fails.
#define SEPCONV_CUDA_TRY(call) ::sepconv::detail::check_cuda((call), #call, __FILE__, __LINE__)
/// Throws sepconv::CublasError when `call` (a cublasStatus_t expression) fails.
#define SEPCONV_CUBLAS_TRY(call) ::sepconv::detail::check_cublas((call), #call, __FILE__, __LINE__)
