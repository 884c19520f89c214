#include "detail/elements.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace sepconv::detail {

double load_element(const void* base, DType dtype, std::int64_t offset) {
  switch (dtype) {
    case DType::f32:
      return static_cast<const float*>(base)[offset];
    case DType::f16:
      return static_cast<double>(__half2float(static_cast<const __half*>(base)[offset]));
    case DType::bf16:
      return static_cast<double>(
          __bfloat162float(static_cast<const __nv_bfloat16*>(base)[offset]));
  }
  return 0;
}

void store_element(void* base, DType dtype, std::int64_t offset, double value) {
  switch (dtype) {
    case DType::f32:
      static_cast<float*>(base)[offset] = static_cast<float>(value);
      return;
    case DType::f16:
      static_cast<__half*>(base)[offset] = __double2half(value);
      return;
    case DType::bf16:
      static_cast<__nv_bfloat16*>(base)[offset] = __double2bfloat16(value);
      return;
  }
}

double round_to(DType dtype, double value) {
  unsigned char buffer[8];
  store_element(buffer, dtype, 0, value);
  return load_element(buffer, dtype, 0);
}

}  // namespace sepconv::detail
