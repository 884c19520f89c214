// The one place a kernel (cuda/launch.h) is launched, for every kernel family: on the GPU through
// a __global__ entry point templated on the kernel, or, in a SEPCONV_SIMULATED_DEVICE build, on
// the simulated device, which runs the same kernel code on the host through CheckedMemory when
// its stream is synchronised. Include it only from the .cu file of a kernel family (its launch
// wrapper): CUDA 13 instantiates and launches __global__ templates in the same translation unit.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "detail/cuda_check.h"
#include "kernels/common.cuh"
#include "kernels/launch.h"
#include "sepconv/version.h"
#if SEPCONV_SIMULATED_DEVICE
#include "emulator/host_exec.h"
#include "sim/launch.h"
#endif

namespace sepconv::detail {

/// Throws CudaError, naming the kernel, when its launch failed (cudaGetLastError).
inline void check_launch(const char* kernel_name) {
  if (const cudaError_t status = cudaGetLastError(); status != cudaSuccess) {
    throw_cuda_error(status, (std::string("the launch of kernel `") + kernel_name + "`").c_str(),
                     __FILE__, __LINE__);
  }
}

#if SEPCONV_SIMULATED_DEVICE

/// The simulated device's handle of a kernel type (what cudaFuncSetAttribute is given).
template <class K>
const void* kernel_handle() {
  static const char tag = 0;
  return &tag;
}

/// Enqueues `kernel` on `stream`: the simulated device checks the launch against its limits and
/// the kernel's launch bounds, and runs it (every CTA and thread, through checked memory) when
/// the stream is synchronised. Throws CudaError when the launch is refused.
template <class K>
void launch_kernel(const K& kernel, const LaunchShape& shape, cudaStream_t stream) {
  if (shape.opt_in) raise_shared_limit(kernel_handle<K>(), shape.shared_bytes);
  sim::launch({kernel_handle<K>(), K::kName, K::kMaxThreads, K::kMinBlocks}, shape, stream,
              [kernel, shape](emulator::CheckedMemory& memory) {
                emulator::run_on_host(kernel, shape, memory);
              });
  check_launch(K::kName);
}

#else

/// The device side of a kernel's Exec (cuda/launch.h): each thread runs its own part of a phase.
template <class State>
struct DeviceExec {
  unsigned char* shared;
  State state{};
  DeviceMemory mem{};

  __device__ void barrier() { __syncthreads(); }
  template <class F>
  __device__ void phase(F&& f) {
    f(static_cast<int>(threadIdx.x), state);
  }
  __device__ unsigned char* smem() { return shared; }
  __device__ DeviceMemory& memory() { return mem; }
  __device__ std::int64_t grid() const { return gridDim.x; }
};

template <class K>
__global__ void __launch_bounds__(K::kMaxThreads, K::kMinBlocks) kernel_entry(const K kernel) {
  extern __shared__ __align__(16) unsigned char shared[];
  DeviceExec<typename K::State> ex{shared};
  kernel(static_cast<std::int64_t>(blockIdx.x), ex);
}

template <class K>
const void* kernel_handle() {
  return reinterpret_cast<const void*>(&kernel_entry<K>);
}

/// Enqueues `kernel` on `stream`. Throws CudaError when the launch fails.
template <class K>
void launch_kernel(const K& kernel, const LaunchShape& shape, cudaStream_t stream) {
  if (shape.opt_in) raise_shared_limit(kernel_handle<K>(), shape.shared_bytes);
  kernel_entry<K><<<static_cast<unsigned>(shape.grid), static_cast<unsigned>(shape.threads),
                    shape.shared_bytes, stream>>>(kernel);
  check_launch(K::kName);
}

#endif

}  // namespace sepconv::detail
