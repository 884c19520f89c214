// The depthwise step's backward as kernels (kernels/launch.h), from dmid = dLoss/dD (float32, D's
// layout: multiplier-major channels q' = m*C + c) and the packed depthwise weights W[m][j][c]:
//   DepthwiseInputGradKernel   dx, the transposed depthwise convolution: one thread an element of
//                              dx (consecutive threads along its contiguous axis), summing over
//                              the taps that read it and the multipliers, in float;
//   DepthwiseWeightGradKernel  the depthwise weight gradient's per-chunk partial sums: a group of
//                              2^lanes_log2 threads takes one (m, j, c) of one chunk of (batch,
//                              step) pairs, its lanes stride over the pairs (lanes 1 for
//                              channels_last, where consecutive threads take consecutive channels;
//                              32 for channels_first, where consecutive lanes take consecutive
//                              steps) and are folded in a fixed order: no atomics, the same sums
//                              every run. A ReduceStep then sums the chunks.
// depthwise_grad.cu launches them on the GPU (or the simulated device), depthwise_grad_host.cpp
// runs the same launches on the host through checked memory.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/common.cuh"
#include "kernels/epilogue/epilogue_kernels.cuh"
#include "kernels/launch.h"
#include "plan/steps.h"

namespace sepconv::detail {

/// Threads per CTA of both kernels.
inline constexpr int kDepthwiseGradThreads = 256;

template <class T>
struct DepthwiseGradArgs {
  DepthwiseGradPlan p;
  const float* dmid = nullptr;
  const T* w = nullptr;  ///< packed W[m][j][c] (input kind)
  const T* x = nullptr;  ///< x (weights kind)
  T* dx = nullptr;       ///< dx (input kind)
  float* partial = nullptr;  ///< ddw_partial[chunk][m][j][c] (weights kind)

  /// Offset of dmid[b, t, q'].
  SEPCONV_HOST_DEVICE std::int64_t dmid_at(std::int64_t b, std::int64_t t, std::int64_t q) const {
    return p.format == DataFormat::channels_last ? b * p.dmid_batch_stride + t * p.dmid_ld + q
                                                 : b * p.dmid_batch_stride + q * p.dmid_ld + t;
  }
};

template <class T, DataFormat Format>
struct DepthwiseInputGradKernel {
  struct State {};
  static constexpr int kMaxThreads = kDepthwiseGradThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv backward (depthwise input gradient)";
  DepthwiseGradArgs<T> a;

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    const std::int64_t grid = ex.grid();
    ex.phase([&](int tid, State&) { thread(cta, grid, tid, ex.memory()); });
  }

  template <class Memory>
  SEPCONV_HOST_DEVICE void thread(std::int64_t cta, std::int64_t grid, int tid, Memory& mem) const {
    const DepthwiseGradPlan& p = a.p;
    const std::int64_t C = p.in_channels, L = p.length, k = p.kernel_size;
    const std::int64_t s = p.strides, d = p.dilation_rate;
    const std::int64_t total = p.batch * L * C;
    for (std::int64_t e = cta * kDepthwiseGradThreads + tid; e < total;
         e += grid * kDepthwiseGradThreads) {
      // channels_last: e = (b*L + l)*C + c; channels_first: e = (b*C + c)*L + l.
      std::int64_t b, l, c;
      if constexpr (Format == DataFormat::channels_last) {
        c = e % C;
        l = (e / C) % L;
        b = e / (C * L);
      } else {
        l = e % L;
        c = (e / L) % C;
        b = e / (C * L);
      }
      // Output step t reads input step l with tap j when t*s + j*d - pad_left = l, 0 <= t < Lout:
      // j from ceil((l + pad_left - (Lout-1)*s) / d) to floor((l + pad_left) / d); with s > 1
      // (then d = 1) only the j with (l + pad_left - j) divisible by s.
      const std::int64_t reach = l + p.pad_left;  // t*s + j*d
      std::int64_t j_lo = reach - (p.out_length - 1) * s;
      j_lo = j_lo <= 0 ? 0 : (j_lo + d - 1) / d;
      const std::int64_t j_hi = reach / d < k - 1 ? reach / d : k - 1;
      std::int64_t j_step = 1;
      if (s > 1) {
        j_lo += ((reach - j_lo) % s + s) % s;  // the first j >= j_lo with reach - j = 0 mod s
        j_step = s;
      }
      float acc = 0.0f;
      for (std::int64_t j = j_lo; j <= j_hi; j += j_step) {
        const std::int64_t t = (reach - j * d) / s;
        for (std::int64_t m = 0; m < p.depth_multiplier; ++m) {
          const float w = to_float(mem.load_global(a.w + (m * k + j) * C + c));
          acc += w * mem.load_global(a.dmid + a.dmid_at(b, t, m * C + c));
        }
      }
      mem.store_global(a.dx + b * p.x_batch_stride + l * p.x_time_stride + c * p.x_channel_stride,
                       from_float<T>(acc));
    }
  }
};

template <class T, DataFormat Format>
struct DepthwiseWeightGradKernel {
  struct State {};
  static constexpr int kMaxThreads = kDepthwiseGradThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv backward (depthwise weight gradient)";
  static constexpr std::size_t kSharedBytes = kDepthwiseGradThreads * sizeof(float);
  DepthwiseGradArgs<T> a;

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    const DepthwiseGradPlan& p = a.p;
    auto& mem = ex.memory();
    float* const sums = reinterpret_cast<float*>(ex.smem());
    const int lanes = 1 << p.lanes_log2;
    const std::int64_t groups = kDepthwiseGradThreads >> p.lanes_log2;
    const std::int64_t C = p.in_channels, k = p.kernel_size;
    const std::int64_t outputs = p.depth_multiplier * k * C;
    const std::int64_t pairs = p.batch * p.out_length;
    // Uniform across the CTA: every thread takes part in every phase and barrier.
    for (std::int64_t block = cta; block < p.blocks; block += ex.grid()) {
      const std::int64_t chunk = block / p.output_groups;
      const std::int64_t first = (block - chunk * p.output_groups) * groups;
      const std::int64_t r_begin = chunk * p.chunk_pairs;
      const std::int64_t r_end = r_begin + p.chunk_pairs < pairs ? r_begin + p.chunk_pairs : pairs;
      ex.phase([&](int tid, State&) {
        const std::int64_t o = first + (tid >> p.lanes_log2);  // (m*k + j)*C + c
        float sum = 0.0f;
        if (o < outputs) {
          const std::int64_t c = o % C;
          const std::int64_t j = (o / C) % k;
          const std::int64_t m = o / (C * k);
          const std::int64_t q = m * C + c;
          for (std::int64_t r = r_begin + (tid & (lanes - 1)); r < r_end; r += lanes) {
            const std::int64_t b = r / p.out_length;
            const std::int64_t t = r - b * p.out_length;
            const std::int64_t l = t * p.strides + j * p.dilation_rate - p.pad_left;
            if (l < 0 || l >= p.length) continue;  // a padded zero
            const float xv = to_float(mem.load_global(a.x + b * p.x_batch_stride +
                                                      l * p.x_time_stride + c * p.x_channel_stride));
            sum += mem.load_global(a.dmid + a.dmid_at(b, t, q)) * xv;
          }
        }
        mem.store_shared(sums + tid, sum);
      });
      ex.barrier();
      ex.phase([&](int tid, State&) {
        const std::int64_t o = first + (tid >> p.lanes_log2);
        if ((tid & (lanes - 1)) != 0 || o >= outputs) return;
        float sum = mem.load_shared(sums + tid);
        for (int l = 1; l < lanes; ++l) sum += mem.load_shared(sums + tid + l);
        mem.store_global(a.partial + chunk * outputs + o, sum);
      });
      ex.barrier();
    }
  }
};

/// Calls `launch(kernel, shape)` for the kernel `plan` names. Pointers: dmid (float32), and for
/// the input kind the packed weights and dx (the caller's, first element), for the weights kind x
/// (the caller's, first element) and the float32 partials. Host code.
template <class Launch>
void depthwise_grad_launches(const DepthwiseGradPlan& plan, const float* dmid, const void* w,
                             const void* x, void* dx, float* partial, Launch&& launch) {
  if (plan.grid == 0) return;
  dispatch_storage(plan.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const DepthwiseGradArgs<T> a{plan,
                                 dmid,
                                 static_cast<const T*>(w),
                                 static_cast<const T*>(x),
                                 static_cast<T*>(dx),
                                 partial};
    auto with_format = [&](auto format_tag) {
      constexpr DataFormat F = decltype(format_tag)::value;
      if (plan.kind == DepthwiseGradPlan::Kind::input) {
        launch(DepthwiseInputGradKernel<T, F>{a},
               LaunchShape{plan.grid, kDepthwiseGradThreads, 0, false});
      } else {
        launch(DepthwiseWeightGradKernel<T, F>{a},
               LaunchShape{plan.grid, kDepthwiseGradThreads,
                           DepthwiseWeightGradKernel<T, F>::kSharedBytes, false});
      }
    };
    if (plan.format == DataFormat::channels_last) {
      with_format(std::integral_constant<DataFormat, DataFormat::channels_last>{});
    } else {
      with_format(std::integral_constant<DataFormat, DataFormat::channels_first>{});
    }
  });
}

}  // namespace sepconv::detail
