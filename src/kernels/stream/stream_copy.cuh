// The streaming copy as a kernel (kernels/launch.h): a 3-D block of raw elements from one or two
// sources into a destination (plan/steps.h, StreamCopyPlan). One thread per element, grid-stride;
// no shared memory, one phase. Elements move as their bits (2 or 4 bytes), so every dtype copies
// exactly.
#pragma once

#include <cstdint>

#include "kernels/common.cuh"
#include "kernels/launch.h"
#include "plan/steps.h"

namespace sepconv::detail {

/// What the kernel receives: the plan and the pointers (src0 is read only for steps < split).
struct StreamCopyArgs {
  StreamCopyPlan plan;
  const void* src0 = nullptr;
  const void* src1 = nullptr;
  void* dst = nullptr;
};

/// Element type E: std::uint16_t or std::uint32_t (the element's bits).
template <class E>
struct StreamCopyKernel {
  struct State {};
  static constexpr int kMaxThreads = 256;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv stream copy";
  StreamCopyArgs args;

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    ex.phase([&](int tid, State&) {
      const StreamCopyPlan& p = args.plan;
      const std::int64_t total = p.extent[0] * p.extent[1] * p.extent[2];
      const std::int64_t step = ex.grid() * p.threads;
      for (std::int64_t i = cta * p.threads + tid; i < total; i += step) {
        std::int64_t at[3];
        at[2] = i % p.extent[2];
        const std::int64_t rest = i / p.extent[2];
        at[1] = rest % p.extent[1];
        at[0] = rest / p.extent[1];
        const std::int64_t t = at[p.time_axis];
        const bool first = t < p.split;
        const std::int64_t* strides = first ? p.src0_strides : p.src1_strides;
        at[p.time_axis] = first ? t : t - p.split + p.src1_first;
        const E* src = static_cast<const E*>(first ? args.src0 : args.src1);
        const E v = ex.memory().load_global(src + at[0] * strides[0] + at[1] * strides[1] +
                                            at[2] * strides[2]);
        at[p.time_axis] = t;
        ex.memory().store_global(static_cast<E*>(args.dst) + at[0] * p.dst_strides[0] +
                                     at[1] * p.dst_strides[1] + at[2] * p.dst_strides[2],
                                 v);
      }
    });
  }
};

/// Calls fn(kernel, shape) for the copy the plan asks for.
template <class Fn>
void stream_copy_launch(const StreamCopyArgs& args, Fn&& fn) {
  if (args.plan.blocks == 0) return;
  const LaunchShape shape{args.plan.grid, args.plan.threads, 0, false};
  if (args.plan.element_bytes == 2) {
    fn(StreamCopyKernel<std::uint16_t>{args}, shape);
  } else {
    fn(StreamCopyKernel<std::uint32_t>{args}, shape);
  }
}

}  // namespace sepconv::detail
