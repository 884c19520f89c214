// NVTX v3 ranges in the `sepconv` domain (`sepconv::forward`, `depthwise`, `pointwise_gemm`,
// `epilogue`), visible in Nsight Systems around the kernels they launch. Built without NVTX
// (SEPCONV_ENABLE_NVTX=OFF) a range costs nothing.
#pragma once

#if SEPCONV_NVTX
#include <nvtx3/nvtx3.hpp>
#endif

namespace sepconv::detail {

#if SEPCONV_NVTX
struct NvtxDomain {
  static constexpr const char* name{"sepconv"};
};
using ScopedRange = nvtx3::scoped_range_in<NvtxDomain>;
#else
struct ScopedRange {
  explicit ScopedRange(const char*) noexcept {}
};
#endif

}  // namespace sepconv::detail
