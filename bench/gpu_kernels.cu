#include <algorithm>

#include "detail/cuda_check.h"
#include "kernels/common.cuh"
#include "runtime/device.h"
#include "gpu_kernels.h"

namespace sepconv::bench {
namespace {

using detail::from_float;
using detail::to_float;

constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = 65536;  // grid-stride loops cover the rest

unsigned blocks_for(std::int64_t count) {
  return static_cast<unsigned>(
      std::clamp<std::int64_t>((count + kThreads - 1) / kThreads, 1, kMaxBlocks));
}

// splitmix64 of (seed, index), top 24 bits as a float in [0, 1).
__device__ float uniform01(std::uint64_t seed, std::int64_t index) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (static_cast<std::uint64_t>(index) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    fill_kernel(T* data, std::int64_t count, std::uint64_t seed, float lo, float hi) {
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * kThreads;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < count;
       i += step) {
    data[i] = from_float<T>(lo + (hi - lo) * uniform01(seed, i));
  }
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    nonfinite_kernel(const T* data, std::int64_t rows, std::int64_t cols, std::int64_t ld,
                     unsigned long long* count) {
  const std::int64_t n = rows * cols;
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * kThreads;
  unsigned long long local = 0;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < n;
       i += step) {
    const std::int64_t r = i / cols;
    const std::int64_t c = i - r * cols;
    if (!isfinite(to_float(data[r * ld + c]))) ++local;
  }
  if (local != 0) atomicAdd(count, local);
}

__device__ std::uint64_t global_ns() {
  std::uint64_t t = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__global__ void spin_kernel(std::uint64_t nanoseconds) {
  const std::uint64_t start = global_ns();
  while (global_ns() - start < nanoseconds) {
  }
}

constexpr int kFmaThreads = 256;
constexpr int kFmaChains = 8;   // independent dependency chains per thread
constexpr int kFmaUnroll = 16;  // FMAs per chain per loop iteration

__global__ void __launch_bounds__(kFmaThreads)
    fma_kernel(float* out, float a, float b, int iterations) {
  float v[kFmaChains];
#pragma unroll
  for (int c = 0; c < kFmaChains; ++c) {
    v[c] = static_cast<float>(threadIdx.x) * 1e-3f + static_cast<float>(c);
  }
  for (int i = 0; i < iterations; ++i) {
#pragma unroll
    for (int u = 0; u < kFmaUnroll; ++u) {
#pragma unroll
      for (int c = 0; c < kFmaChains; ++c) v[c] = fmaf(v[c], a, b);
    }
  }
  float sum = 0.0f;
#pragma unroll
  for (int c = 0; c < kFmaChains; ++c) sum += v[c];
  out[static_cast<std::int64_t>(blockIdx.x) * kFmaThreads + threadIdx.x] = sum;
}

// Calls fn(T{}) with the storage type of `dtype`.
template <class Fn>
void with_type(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::f32: return fn(float{});
    case DType::f16: return fn(__half{});
    case DType::bf16: return fn(__nv_bfloat16{});
  }
}

}  // namespace

void fill_uniform(void* data, DType dtype, std::int64_t count, std::uint64_t seed, float lo,
                  float hi, cudaStream_t stream) {
  if (count <= 0) return;
  with_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    fill_kernel<T>
        <<<blocks_for(count), kThreads, 0, stream>>>(static_cast<T*>(data), count, seed, lo, hi);
  });
  SEPCONV_CUDA_TRY(cudaGetLastError());
}

std::int64_t count_nonfinite(const void* data, DType dtype, std::int64_t rows, std::int64_t cols,
                             std::int64_t ld, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return 0;
  DeviceBuffer counter(sizeof(unsigned long long));
  auto* count = static_cast<unsigned long long*>(counter.data());
  SEPCONV_CUDA_TRY(cudaMemsetAsync(count, 0, sizeof(unsigned long long), stream));
  with_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    nonfinite_kernel<T><<<blocks_for(rows * cols), kThreads, 0, stream>>>(
        static_cast<const T*>(data), rows, cols, ld, count);
  });
  SEPCONV_CUDA_TRY(cudaGetLastError());
  unsigned long long host = 0;
  SEPCONV_CUDA_TRY(cudaMemcpyAsync(&host, count, sizeof host, cudaMemcpyDeviceToHost, stream));
  SEPCONV_CUDA_TRY(cudaStreamSynchronize(stream));
  return static_cast<std::int64_t>(host);
}

void launch_spin(double microseconds, cudaStream_t stream) {
  spin_kernel<<<1, 1, 0, stream>>>(static_cast<std::uint64_t>(std::max(0.0, microseconds) * 1e3));
  SEPCONV_CUDA_TRY(cudaGetLastError());
}

double FmaLaunch::flops() const {
  return 2.0 * kFmaChains * kFmaUnroll * static_cast<double>(iterations) *
         static_cast<double>(outputs());
}

FmaLaunch fma_launch_for(int multiprocessors) {
  // 8 blocks of 256 threads = 2048 threads per SM (Hopper's maximum); 4096 iterations are about
  // 2.8e11 FLOPs on 132 SMs, ~5 ms at 60 TFLOP/s.
  return {std::max(1, multiprocessors) * 8, kFmaThreads, 4096};
}

void launch_fma(const FmaLaunch& launch, float* out, cudaStream_t stream) {
  fma_kernel<<<static_cast<unsigned>(launch.blocks), kFmaThreads, 0, stream>>>(out, 0.9999f, 1e-4f,
                                                                               launch.iterations);
  SEPCONV_CUDA_TRY(cudaGetLastError());
}

}  // namespace sepconv::bench
