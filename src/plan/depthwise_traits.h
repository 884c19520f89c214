// Compile-time shape of each depthwise kernel variant, shared by the host planner (plain C++) and
// the tile code, so the plan and the kernel cannot disagree.
#pragma once

#include "sepconv/types.h"

namespace sepconv::detail {

/// Threads per depthwise block.
inline constexpr int kDepthwiseThreads = 256;

/// Vector widths (channels per access) a channels_last variant exists for, widest first: 16 bytes,
/// 4 bytes, one element.
constexpr int channels_last_vec(DType dtype, int option) {
  if (dtype == DType::f32) return option == 0 ? 4 : 1;
  return option == 0 ? 8 : option == 1 ? 2 : 1;
}
inline constexpr int kChannelsLastVecOptions = 3;

/// Elements in a 16-byte vector.
constexpr int vec16(DType dtype) { return dtype == DType::f32 ? 4 : 8; }

/// Outputs a thread accumulates at once: about 32 float accumulators per thread.
constexpr int steps_per_thread(DataFormat format, int vec) {
  if (format == DataFormat::channels_first) return 8;
  return vec >= 8 ? 4 : 8;
}

}  // namespace sepconv::detail
