// The passes after the pointwise GEMM on the GPU: the elementwise bias + activation kernel and the
// softmax / log_softmax row kernel. The math is in epilogue_rows.cuh, shared with the host
// emulation the CPU tests run. Kernels are instantiated and launched in this file only (CUDA 13's
// static global template stubs): 26 activations x 5 (source, output) storage pairs of the
// elementwise kernel (in place in float32, float16, bfloat16; float32 scratch into float16 or
// bfloat16), 2 x 5 of the row kernel.
#include <algorithm>
#include <type_traits>

#include <cub/block/block_reduce.cuh>
#include <cuda/functional>
#include <cuda/std/functional>

#include "cuda/check.h"
#include "cuda/epilogue.h"
#include "cuda/epilogue_rows.cuh"

namespace sepconv::detail {
namespace {

constexpr int kElementwiseThreads = 256;
constexpr int kRowThreads = 256;
// Grid-stride loops cover the rest; this many blocks fill any current GPU several times over.
constexpr std::int64_t kMaxBlocks = std::int64_t{1} << 20;

/// 16 bytes of storage elements, loaded and stored as one vector.
template <class S>
struct alignas(16) Vec16 {
  static constexpr int kSize = 16 / sizeof(S);
  S v[kSize];
};

template <class In, class Out>
struct ElementwiseArgs {
  const In* src = nullptr;  ///< y itself (in place), or the float32 scratch Z
  RowLayout src_rows;
  Out* y = nullptr;
  RowLayout rows;
  const In* bias = nullptr;  ///< nullptr: no bias
  int lanes_log2 = 0;        ///< 2^lanes_log2 threads share a row; a block holds several rows
  bool vectorised = false;   ///< in place, and rows, strides and y allow 16-byte accesses
};

// A group of 2^lanes_log2 threads takes a row; groups stride over the rows. Vectorised rows (in
// place) are walked in 16-byte vectors (coalesced across the group), others element by element.
template <class In, class Out, class Act>
__global__ void __launch_bounds__(kElementwiseThreads)
    elementwise_kernel(ElementwiseArgs<In, Out> a) {
  const int lanes = 1 << a.lanes_log2;
  const int lane = static_cast<int>(threadIdx.x) & (lanes - 1);
  const std::int64_t groups = kElementwiseThreads >> a.lanes_log2;
  const std::int64_t count = a.rows.count();
  for (std::int64_t r = blockIdx.x * groups + (threadIdx.x >> a.lanes_log2); r < count;
       r += gridDim.x * groups) {
    const In* const from = a.src + a.src_rows.offset(r);
    Out* const to = a.y + a.rows.offset(r);
    const RowBias<In> bias(a.bias, a.rows, a.rows.row_in_batch(r));
    if constexpr (std::is_same_v<In, Out>) {
      if (a.vectorised) {
        constexpr int kVec = Vec16<Out>::kSize;
        for (std::int64_t i = std::int64_t{lane} * kVec; i < a.rows.length;
             i += std::int64_t{lanes} * kVec) {
          Vec16<Out> v = *reinterpret_cast<const Vec16<Out>*>(to + i);
#pragma unroll
          for (int j = 0; j < kVec; ++j) {
            v.v[j] = from_float<Out>(epilogue_element(Act{}, to_float(v.v[j]), bias.at(i + j)));
          }
          *reinterpret_cast<Vec16<Out>*>(to + i) = v;
        }
        continue;
      }
    }
    elementwise_row(Act{}, from, to, bias, a.rows.length, lane, lanes);
  }
}

// One block a row (grid-stride over rows): max, compensated sum of e^(x - max), outputs; the
// threads' partial results are combined by CUB block reductions. Rows of any length; reads the
// source's row (y itself or the scratch Z) and writes y's.
template <class In, class Out, bool Log>
__global__ void __launch_bounds__(kRowThreads)
    row_kernel(const In* src, RowLayout src_rows, Out* y, RowLayout rows) {
  using Reduce = cub::BlockReduce<float, kRowThreads>;
  __shared__ typename Reduce::TempStorage temp;
  __shared__ float broadcast;
  const std::int64_t t = threadIdx.x;
  for (std::int64_t r = blockIdx.x; r < rows.count(); r += gridDim.x) {
    const In* const from = src + src_rows.offset(r);
    const float local_max = row_partial_max(from, rows.length, t, kRowThreads);
    const float max_all = Reduce(temp).Reduce(local_max, cuda::maximum<>{});
    if (t == 0) broadcast = max_all;
    __syncthreads();
    const float max = broadcast;
    const float local_sum = row_partial_sum(from, rows.length, max, t, kRowThreads);
    __syncthreads();  // every thread has read `broadcast`; `temp` is free again
    const float sum = Reduce(temp).Reduce(local_sum, cuda::std::plus<>{});
    if (t == 0) broadcast = row_denominator<Log>(sum);
    __syncthreads();
    row_write<In, Out, Log>(from, y + rows.offset(r), rows.length, max, broadcast, t, kRowThreads);
    __syncthreads();  // `broadcast` and `temp` are rewritten for the next row
  }
}

int log2_ceil(std::int64_t v) {
  int l = 0;
  while ((std::int64_t{1} << l) < v) ++l;
  return l;
}

// The elementwise pass (from the source to y, or in place on the source when a row pass
// follows) and the row pass (source to y).
template <class In, class Out>
void launch_passes(const EpiloguePlan& plan, Out* y, In* src, const In* bias,
                   cudaStream_t stream) {
  const RowLayout rows = row_layout(plan);
  const RowLayout src_rows = source_row_layout(plan);
  if (rows.count() == 0 || rows.length == 0) return;
  if (plan.elementwise) {
    // Followed by a row pass, the elementwise pass updates the source in place.
    const bool to_source = plan.row_reduction && plan.separate_source;
    auto launch = [&](auto* out, const RowLayout& out_rows) {
      using O = std::remove_pointer_t<decltype(out)>;
      ElementwiseArgs<In, O> a;
      a.src = src;
      a.src_rows = src_rows;
      a.y = out;
      a.rows = out_rows;
      a.bias = bias;
      constexpr int kVec = Vec16<O>::kSize;
      a.vectorised = std::is_same_v<In, O> && static_cast<const void*>(src) == out &&
                     rows.length % kVec == 0 &&
                     (rows.rows == 1 || out_rows.row_stride % kVec == 0) &&
                     (rows.batch == 1 || out_rows.batch_stride % kVec == 0) &&
                     reinterpret_cast<std::uintptr_t>(out) % 16 == 0;
      const std::int64_t accesses = a.vectorised ? rows.length / kVec : rows.length;
      a.lanes_log2 = std::min(log2_ceil(accesses), log2_ceil(kElementwiseThreads));
      const std::int64_t groups = kElementwiseThreads >> a.lanes_log2;
      const auto blocks =
          static_cast<unsigned>(std::min((rows.count() + groups - 1) / groups, kMaxBlocks));
      dispatch_activation(elementwise_activation(plan), [&](auto act) {
        elementwise_kernel<In, O, decltype(act)><<<blocks, kElementwiseThreads, 0, stream>>>(a);
      });
      SEPCONV_CUDA_TRY(cudaGetLastError());
    };
    if (to_source) {
      launch(src, src_rows);
    } else {
      launch(y, rows);
    }
  }
  if (plan.row_reduction) {
    const auto blocks = static_cast<unsigned>(std::min(rows.count(), kMaxBlocks));
    if (plan.activation == Activation::log_softmax) {
      row_kernel<In, Out, true><<<blocks, kRowThreads, 0, stream>>>(src, src_rows, y, rows);
    } else {
      row_kernel<In, Out, false><<<blocks, kRowThreads, 0, stream>>>(src, src_rows, y, rows);
    }
    SEPCONV_CUDA_TRY(cudaGetLastError());
  }
}

}  // namespace

void launch_epilogue(const EpiloguePlan& plan, void* y, void* source, const void* bias,
                     cudaStream_t stream) {
  dispatch_pass_types(plan, [&](auto in_tag, auto out_tag) {
    using In = typename decltype(in_tag)::type;
    using Out = typename decltype(out_tag)::type;
    Out* const out = static_cast<Out*>(y);
    In* const in = plan.separate_source ? static_cast<In*>(source) : reinterpret_cast<In*>(out);
    launch_passes<In, Out>(plan, out, in, plan.add_bias ? static_cast<const In*>(bias) : nullptr,
                           stream);
  });
}

}  // namespace sepconv::detail
