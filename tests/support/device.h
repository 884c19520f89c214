// Test support: whether this build and machine can run the GPU path.
#pragma once

#include "sepconv/version.h"
#if SEPCONV_WITH_CUDA
#include "sepconv/layer.h"
#endif

namespace sepconv::test {

/// True when the build has its CUDA kernels and a CUDA device is usable.
inline bool gpu_available() {
#if SEPCONV_WITH_CUDA
  return cuda_device_available();
#else
  return false;
#endif
}

}  // namespace sepconv::test
