// The passes after the pointwise GEMM on the GPU: the elementwise bias + activation kernel and the
// softmax / log_softmax row kernel. The math is in epilogue_rows.cuh, shared with the host
// emulation the CPU tests run. Kernels are instantiated and launched in this file only (CUDA 13's
// static global template stubs): 26 activations x 3 storage types of the elementwise kernel, 2 x 3
// of the row kernel.
#include <algorithm>

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

template <class S>
struct ElementwiseArgs {
  S* y = nullptr;
  const S* bias = nullptr;  ///< nullptr: no bias
  RowLayout rows;
  int lanes_log2 = 0;       ///< 2^lanes_log2 threads share a row; a block holds several rows
  bool vectorised = false;  ///< rows, strides and y allow 16-byte accesses
};

// A group of 2^lanes_log2 threads takes a row; groups stride over the rows. Vectorised rows are
// walked in 16-byte vectors (coalesced across the group), others element by element.
template <class S, class Act>
__global__ void __launch_bounds__(kElementwiseThreads) elementwise_kernel(ElementwiseArgs<S> a) {
  constexpr int kVec = Vec16<S>::kSize;
  const int lanes = 1 << a.lanes_log2;
  const int lane = static_cast<int>(threadIdx.x) & (lanes - 1);
  const std::int64_t groups = kElementwiseThreads >> a.lanes_log2;
  const std::int64_t count = a.rows.count();
  for (std::int64_t r = blockIdx.x * groups + (threadIdx.x >> a.lanes_log2); r < count;
       r += gridDim.x * groups) {
    S* const row = a.y + a.rows.offset(r);
    const RowBias<S> bias(a.bias, a.rows, a.rows.row_in_batch(r));
    if (a.vectorised) {
      for (std::int64_t i = std::int64_t{lane} * kVec; i < a.rows.length;
           i += std::int64_t{lanes} * kVec) {
        Vec16<S> v = *reinterpret_cast<const Vec16<S>*>(row + i);
#pragma unroll
        for (int j = 0; j < kVec; ++j) {
          v.v[j] = from_float<S>(epilogue_element(Act{}, to_float(v.v[j]), bias.at(i + j)));
        }
        *reinterpret_cast<Vec16<S>*>(row + i) = v;
      }
    } else {
      elementwise_row(Act{}, row, bias, a.rows.length, lane, lanes);
    }
  }
}

// One block a row (grid-stride over rows): max, compensated sum of e^(x - max), outputs; the
// threads' partial results are combined by CUB block reductions. Rows of any length.
template <class S, bool Log>
__global__ void __launch_bounds__(kRowThreads) row_kernel(S* y, RowLayout rows) {
  using Reduce = cub::BlockReduce<float, kRowThreads>;
  __shared__ typename Reduce::TempStorage temp;
  __shared__ float broadcast;
  const std::int64_t t = threadIdx.x;
  for (std::int64_t r = blockIdx.x; r < rows.count(); r += gridDim.x) {
    S* const row = y + rows.offset(r);
    const float local_max = row_partial_max(row, rows.length, t, kRowThreads);
    const float max_all = Reduce(temp).Reduce(local_max, cuda::maximum<>{});
    if (t == 0) broadcast = max_all;
    __syncthreads();
    const float max = broadcast;
    const float local_sum = row_partial_sum(row, rows.length, max, t, kRowThreads);
    __syncthreads();  // every thread has read `broadcast`; `temp` is free again
    const float sum = Reduce(temp).Reduce(local_sum, cuda::std::plus<>{});
    if (t == 0) broadcast = row_denominator<Log>(sum);
    __syncthreads();
    row_write<S, Log>(row, rows.length, max, broadcast, t, kRowThreads);
    __syncthreads();  // `broadcast` and `temp` are rewritten for the next row
  }
}

int log2_ceil(std::int64_t v) {
  int l = 0;
  while ((std::int64_t{1} << l) < v) ++l;
  return l;
}

template <class S>
void launch_passes(const EpiloguePlan& plan, S* y, const S* bias, cudaStream_t stream) {
  const RowLayout rows = row_layout(plan);
  if (rows.count() == 0 || rows.length == 0) return;
  if (plan.elementwise) {
    constexpr int kVec = Vec16<S>::kSize;
    ElementwiseArgs<S> a;
    a.y = y;
    a.bias = bias;
    a.rows = rows;
    a.vectorised = rows.length % kVec == 0 && (rows.rows == 1 || rows.row_stride % kVec == 0) &&
                   (rows.batch == 1 || rows.batch_stride % kVec == 0) &&
                   reinterpret_cast<std::uintptr_t>(y) % 16 == 0;
    const std::int64_t accesses = a.vectorised ? rows.length / kVec : rows.length;
    a.lanes_log2 = std::min(log2_ceil(accesses), log2_ceil(kElementwiseThreads));
    const std::int64_t groups = kElementwiseThreads >> a.lanes_log2;
    const auto blocks =
        static_cast<unsigned>(std::min((rows.count() + groups - 1) / groups, kMaxBlocks));
    dispatch_activation(elementwise_activation(plan), [&](auto act) {
      elementwise_kernel<S, decltype(act)><<<blocks, kElementwiseThreads, 0, stream>>>(a);
    });
    SEPCONV_CUDA_TRY(cudaGetLastError());
  }
  if (plan.row_reduction) {
    const auto blocks = static_cast<unsigned>(std::min(rows.count(), kMaxBlocks));
    if (plan.activation == Activation::log_softmax) {
      row_kernel<S, true><<<blocks, kRowThreads, 0, stream>>>(y, rows);
    } else {
      row_kernel<S, false><<<blocks, kRowThreads, 0, stream>>>(y, rows);
    }
    SEPCONV_CUDA_TRY(cudaGetLastError());
  }
}

}  // namespace

void launch_epilogue(const EpiloguePlan& plan, void* y, const void* bias, cudaStream_t stream) {
  dispatch_storage(plan.dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    launch_passes(plan, static_cast<S*>(y), plan.add_bias ? static_cast<const S*>(bias) : nullptr,
                  stream);
  });
}

}  // namespace sepconv::detail
