// The backward's deterministic float32 reductions as a kernel (kernels/launch.h): for every element
// e of the plan's extent, out[e . out_stride] = sum over (r, u) of in[in_offset + e . in_stride +
// r r_stride + u u_stride]. A group of 2^lanes_log2 threads takes one element; each lane sums the
// pairs lane, lane + lanes, ... in order, and the group's first lane folds the lanes' sums in
// order: the same float result every run (no atomics). It sums per-chunk and per-batch partials
// and writes the caller's gradients in Keras layouts. reduce.cu launches it, reduce_host.cpp runs
// it on the host through checked memory.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/common.cuh"
#include "kernels/epilogue/epilogue_kernels.cuh"
#include "kernels/launch.h"
#include "plan/steps.h"

namespace sepconv::detail {

/// Threads per CTA of the reduction.
inline constexpr int kReduceThreads = 256;

template <class In>
struct ReduceKernel {
  struct State {
    float sum;
  };
  static constexpr int kMaxThreads = kReduceThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv backward (gradient reduction)";
  static constexpr std::size_t kSharedBytes = kReduceThreads * sizeof(float);
  ReducePlan p;
  const In* in = nullptr;
  float* out = nullptr;

  /// Offset of element e (row-major over the extent) under `stride`.
  SEPCONV_HOST_DEVICE std::int64_t at(std::int64_t e, const std::int64_t* stride) const {
    const std::int64_t e2 = e % p.extent[2];
    const std::int64_t rest = e / p.extent[2];
    const std::int64_t e1 = rest % p.extent[1];
    const std::int64_t e0 = rest / p.extent[1];
    return e0 * stride[0] + e1 * stride[1] + e2 * stride[2];
  }

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    auto& mem = ex.memory();
    float* const partial = reinterpret_cast<float*>(ex.smem());
    const int lanes = 1 << p.lanes_log2;
    const std::int64_t groups = kReduceThreads >> p.lanes_log2;
    const std::int64_t count = p.extent[0] * p.extent[1] * p.extent[2];
    const std::int64_t pairs = p.r_count * p.u_count;
    // Uniform across the CTA: every thread takes part in every phase and barrier.
    for (std::int64_t first = cta * groups; first < count; first += ex.grid() * groups) {
      ex.phase([&](int tid, State&) {
        const std::int64_t e = first + (tid >> p.lanes_log2);
        float sum = 0.0f;
        if (e < count) {
          const In* const base = in + p.in_offset + at(e, p.in_stride);
          for (std::int64_t i = tid & (lanes - 1); i < pairs; i += lanes) {
            const std::int64_t r = i / p.u_count;
            const std::int64_t u = i - r * p.u_count;
            sum += to_float(mem.load_global(base + r * p.r_stride + u * p.u_stride));
          }
        }
        mem.store_shared(partial + tid, sum);
      });
      ex.barrier();
      ex.phase([&](int tid, State&) {
        const std::int64_t e = first + (tid >> p.lanes_log2);
        if ((tid & (lanes - 1)) != 0 || e >= count) return;
        float sum = mem.load_shared(partial + tid);
        for (int l = 1; l < lanes; ++l) sum += mem.load_shared(partial + tid + l);
        mem.store_global(out + at(e, p.out_stride), sum);
      });
      ex.barrier();
    }
  }
};

/// Calls `launch(kernel, shape)` for a reduction (nothing for no elements). Host code.
template <class Launch>
void reduce_launches(const ReducePlan& plan, const void* in, float* out, Launch&& launch) {
  if (plan.elements() == 0 || plan.grid == 0) return;
  dispatch_storage(plan.in_dtype, [&](auto tag) {
    using In = typename decltype(tag)::type;
    launch(ReduceKernel<In>{plan, static_cast<const In*>(in), out},
           LaunchShape{plan.grid, kReduceThreads, ReduceKernel<In>::kSharedBytes, false});
  });
}

}  // namespace sepconv::detail
