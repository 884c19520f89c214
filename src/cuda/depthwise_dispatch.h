// From the plan's runtime choices (dtype, data format, vector width, sliding window) to the
// compile-time kernel variant: one list of variants for the launcher and the host emulator.
#pragma once

#include <string>

#include "cuda/depthwise_tile.cuh"
#include "host/plan.h"
#include "sepconv/error.h"

namespace sepconv::detail {

template <class T, DataFormat F, bool Sliding, class Fn>
void dispatch_vec(const DepthwisePlan& p, Fn&& fn) {
  if constexpr (F == DataFormat::channels_first) {
    fn(DepthwiseTraits<T, F, 1, Sliding>{});
  } else if constexpr (sizeof(T) == 4) {
    if (p.vec == 4) return fn(DepthwiseTraits<T, F, 4, Sliding>{});
    if (p.vec == 1) return fn(DepthwiseTraits<T, F, 1, Sliding>{});
    throw Unsupported("sepconv: no float32 depthwise variant with vector width " +
                      std::to_string(p.vec));
  } else {
    if (p.vec == 8) return fn(DepthwiseTraits<T, F, 8, Sliding>{});
    if (p.vec == 2) return fn(DepthwiseTraits<T, F, 2, Sliding>{});
    if (p.vec == 1) return fn(DepthwiseTraits<T, F, 1, Sliding>{});
    throw Unsupported("sepconv: no 16-bit depthwise variant with vector width " +
                      std::to_string(p.vec));
  }
}

template <class T, class Fn>
void dispatch_layout(const DepthwisePlan& p, Fn&& fn) {
  if (p.format == DataFormat::channels_last) {
    if (p.sliding) return dispatch_vec<T, DataFormat::channels_last, true>(p, fn);
    return dispatch_vec<T, DataFormat::channels_last, false>(p, fn);
  }
  if (p.sliding) return dispatch_vec<T, DataFormat::channels_first, true>(p, fn);
  return dispatch_vec<T, DataFormat::channels_first, false>(p, fn);
}

/// Calls fn(DepthwiseTraits<...>{}) for the plan's variant.
template <class Fn>
void dispatch_depthwise(const DepthwisePlan& p, Fn&& fn) {
  switch (p.dtype) {
    case DType::f32: return dispatch_layout<float>(p, fn);
    case DType::f16: return dispatch_layout<__half>(p, fn);
    case DType::bf16: return dispatch_layout<__nv_bfloat16>(p, fn);
  }
}

}  // namespace sepconv::detail
