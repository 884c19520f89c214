// Shared by device code and by the host emulator of the tile code: qualifiers that vanish under a
// host compiler, fixed-size vectors, and conversions between storage types and float.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "detail/host_device.h"

namespace sepconv::detail {

/// N elements of T moved together: 16-byte vectors compile to LDG/STG/LDS/STS.128; longer ones
/// (8 floats of a float32 intermediate) to several 16-byte accesses, so 16 bytes is the most
/// alignment any of them needs.
template <class T, int N>
struct alignas(sizeof(T) * N < 16 ? sizeof(T) * N : 16) Vec {
  T v[N];
};

SEPCONV_HOST_DEVICE SEPCONV_INLINE float to_float(float x) { return x; }
SEPCONV_HOST_DEVICE SEPCONV_INLINE float to_float(__half x) { return __half2float(x); }
SEPCONV_HOST_DEVICE SEPCONV_INLINE float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <class T>
SEPCONV_HOST_DEVICE SEPCONV_INLINE T from_float(float x);
template <>
SEPCONV_HOST_DEVICE SEPCONV_INLINE float from_float<float>(float x) {
  return x;
}
template <>
SEPCONV_HOST_DEVICE SEPCONV_INLINE __half from_float<__half>(float x) {
  return __float2half_rn(x);
}
template <>
SEPCONV_HOST_DEVICE SEPCONV_INLINE __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

template <class T>
SEPCONV_HOST_DEVICE SEPCONV_INLINE T zero_value() {
  return from_float<T>(0.0f);
}

/// Memory access on the device: plain loads and stores, which the compiler turns into vector
/// instructions for aligned Vec types. The host emulator has a checked twin with the same
/// interface (tests/emulator/emulator.h).
struct DeviceMemory {
  template <class V>
  SEPCONV_HOST_DEVICE SEPCONV_INLINE V load_global(const V* p) const {
    return *p;
  }
  template <class V>
  SEPCONV_HOST_DEVICE SEPCONV_INLINE void store_global(V* p, const V& v) const {
    *p = v;
  }
  template <class V>
  SEPCONV_HOST_DEVICE SEPCONV_INLINE V load_shared(const V* p) const {
    return *p;
  }
  template <class V>
  SEPCONV_HOST_DEVICE SEPCONV_INLINE void store_shared(V* p, const V& v) const {
    *p = v;
  }
};

}  // namespace sepconv::detail
