#include "kernels/launch.h"

#include <cuda_runtime_api.h>

#include <map>
#include <mutex>
#include <utility>

#include "detail/cuda_check.h"

namespace sepconv::detail {

void raise_shared_limit(const void* kernel, std::size_t bytes) {
  int device = 0;
  SEPCONV_CUDA_TRY(cudaGetDevice(&device));
  static std::mutex mutex;
  static std::map<std::pair<const void*, int>, std::size_t> raised;
  std::lock_guard<std::mutex> lock(mutex);
  std::size_t& limit = raised[{kernel, device}];
  if (limit >= bytes) return;
  SEPCONV_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(bytes)));
  limit = bytes;
}

}  // namespace sepconv::detail
