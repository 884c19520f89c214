// From the plan's runtime choices (dtypes of x and D, data format, vector width, sliding window)
// to the compile-time kernel variant: one list of variants for the launcher and the host
// emulator.
#pragma once

#include <string>

#include "kernels/depthwise/depthwise_tile.cuh"
#include "sepconv/error.h"

namespace sepconv::detail {

template <class T, class TD, DataFormat F, bool Sliding, class Fn>
void dispatch_vec(const DepthwisePlan& p, Fn&& fn) {
  if constexpr (F == DataFormat::channels_first) {
    fn(DepthwiseTraits<T, TD, F, 1, Sliding>{});
  } else if constexpr (sizeof(T) == 4) {
    if (p.vec == 4) return fn(DepthwiseTraits<T, TD, F, 4, Sliding>{});
    if (p.vec == 1) return fn(DepthwiseTraits<T, TD, F, 1, Sliding>{});
    throw Unsupported("sepconv: no float32 depthwise variant with vector width " +
                      std::to_string(p.vec));
  } else {
    if (p.vec == 8) return fn(DepthwiseTraits<T, TD, F, 8, Sliding>{});
    if (p.vec == 2) return fn(DepthwiseTraits<T, TD, F, 2, Sliding>{});
    if (p.vec == 1) return fn(DepthwiseTraits<T, TD, F, 1, Sliding>{});
    throw Unsupported("sepconv: no 16-bit depthwise variant with vector width " +
                      std::to_string(p.vec));
  }
}

template <class T, class TD, class Fn>
void dispatch_layout(const DepthwisePlan& p, Fn&& fn) {
  if (p.format == DataFormat::channels_last) {
    if (p.sliding) return dispatch_vec<T, TD, DataFormat::channels_last, true>(p, fn);
    return dispatch_vec<T, TD, DataFormat::channels_last, false>(p, fn);
  }
  if (p.sliding) return dispatch_vec<T, TD, DataFormat::channels_first, true>(p, fn);
  return dispatch_vec<T, TD, DataFormat::channels_first, false>(p, fn);
}

// D in the layer's dtype, or in float32 (a float32 intermediate).
template <class T, class Fn>
void dispatch_output(const DepthwisePlan& p, Fn&& fn) {
  if constexpr (sizeof(T) == 4) {
    return dispatch_layout<T, T>(p, fn);
  } else {
    if (p.d_dtype == DType::f32) return dispatch_layout<T, float>(p, fn);
    return dispatch_layout<T, T>(p, fn);
  }
}

/// Calls fn(DepthwiseTraits<...>{}) for the plan's variant.
template <class Fn>
void dispatch_depthwise(const DepthwisePlan& p, Fn&& fn) {
  switch (p.dtype) {
    case DType::f32: return dispatch_output<float>(p, fn);
    case DType::f16: return dispatch_output<__half>(p, fn);
    case DType::bf16: return dispatch_output<__nv_bfloat16>(p, fn);
  }
}

}  // namespace sepconv::detail
