// What the kernels of the training families (random/, regularize/, constrain/) share: a view of
// rank 1-3 with any strides walked by its row-major element index, their block size and grid,
// and the storage type of a dtype.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>

#include "detail/host_device.h"
#include "kernels/launch.h"
#include "sepconv/tensor.h"

namespace sepconv::detail {

/// The shape and strides of a view, padded to rank 3 with leading extents of 1.
struct Strided {
  std::int64_t shape[3] = {1, 1, 1};
  std::int64_t strides[3] = {0, 0, 0};

  /// The element offset of row-major element i.
  SEPCONV_HOST_DEVICE std::int64_t offset(std::int64_t i) const {
    const std::int64_t i2 = i % shape[2];
    const std::int64_t rest = i / shape[2];
    return i2 * strides[2] + (rest % shape[1]) * strides[1] + (rest / shape[1]) * strides[0];
  }
};

/// A view's Strided (host).
inline Strided strided_of(const ConstTensorView& view) {
  Strided s;
  for (int d = 0; d < view.rank; ++d) {
    s.shape[3 - view.rank + d] = view.shape[d];
    s.strides[3 - view.rank + d] = view.strides[d];
  }
  return s;
}

/// Threads per block of every training kernel.
inline constexpr int kTrainingThreads = 256;

/// A grid-stride launch over `count` elements: a thread per element up to 2^12 blocks (about
/// four waves of an H100/H200).
inline LaunchShape elementwise_launch(std::int64_t count) {
  const std::int64_t blocks = (count + kTrainingThreads - 1) / kTrainingThreads;
  return {std::clamp<std::int64_t>(blocks, 1, std::int64_t{1} << 12), kTrainingThreads, 0, false};
}

/// f(TypeTag<S>{}) with S the storage type of `dtype`: float, __half or __nv_bfloat16.
template <class S>
struct TypeTag {
  using type = S;
};
template <class F>
void dispatch_storage_type(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f16: f(TypeTag<__half>{}); return;
    case DType::bf16: f(TypeTag<__nv_bfloat16>{}); return;
    case DType::f32: f(TypeTag<float>{}); return;
  }
}

}  // namespace sepconv::detail
