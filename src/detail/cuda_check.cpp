#include "detail/cuda_check.h"

#include <string>

namespace sepconv::detail {

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  throw CudaError(std::string("sepconv: CUDA call failed: ") + call + " returned " +
                      cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")" +
                      (file != nullptr ? std::string(" at ") + file + ":" + std::to_string(line)
                                       : std::string()),
                  static_cast<int>(status));
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  throw CublasError(std::string("sepconv: cuBLAS call failed: ") + call + " returned " +
                        cublasLtGetStatusName(status) + " (" + cublasLtGetStatusString(status) +
                        ") at " + file + ":" + std::to_string(line),
                    static_cast<int>(status));
}

}  // namespace sepconv::detail
