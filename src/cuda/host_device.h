// Functions the CUDA kernels and their host emulation share are marked SEPCONV_HOST_DEVICE:
// __host__ __device__ under nvcc, nothing under a plain C++ compiler, so the same headers build in
// the host-only (sanitizer) build, where no .cu file is compiled.
#pragma once

#if defined(__CUDACC__)
#define SEPCONV_HOST_DEVICE __host__ __device__
#else
#define SEPCONV_HOST_DEVICE
#endif
