// Functions the CUDA kernels and their host emulation share are marked SEPCONV_HOST_DEVICE:
// __host__ __device__ under nvcc, nothing under a plain C++ compiler, so the same headers build in
// the host-only (sanitizer) build, where no .cu file is compiled.
#pragma once

#if defined(__CUDACC__)
#define SEPCONV_HOST_DEVICE __host__ __device__
#define SEPCONV_INLINE __forceinline__
#else
#define SEPCONV_HOST_DEVICE
#define SEPCONV_INLINE inline
#endif

// Full unrolling of loops with compile-time trip counts, in the device pass only (host compilers
// do not know the pragma).
#if defined(__CUDA_ARCH__)
#define SEPCONV_UNROLL _Pragma("unroll")
#else
#define SEPCONV_UNROLL
#endif
