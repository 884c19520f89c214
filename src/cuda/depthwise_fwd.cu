// The depthwise forward kernel: the tile code of depthwise_tile.cuh run by one CTA per block
// (grid-stride), with the variants the plan can ask for instantiated here, where they are launched.
#include <array>
#include <atomic>
#include <string>

#include "cuda/check.h"
#include "cuda/depthwise_dispatch.h"
#include "cuda/depthwise_fwd.h"
#include "cuda/depthwise_tile.cuh"

namespace sepconv::detail {
namespace {

// Devices the per-device launch state remembers (beyond, the attribute is set at every launch).
constexpr std::size_t kMaxDevices = 64;

/// The device side of the schedule's executor: every thread runs its own part of each phase.
template <class State>
struct DeviceExec {
  State state;
  unsigned char* shared;
  DeviceMemory mem;

  __device__ void barrier() { __syncthreads(); }
  template <class F>
  __device__ void phase(F&& f) {
    f(static_cast<int>(threadIdx.x), state);
  }
  __device__ unsigned char* smem() { return shared; }
  __device__ DeviceMemory& memory() { return mem; }
};

// Two CTAs per SM (<= 128 registers a thread): while one block waits at a barrier for its tile,
// the other computes, so the memory system stays busy.
template <class Tr>
__global__ void __launch_bounds__(kDepthwiseThreads, 2) depthwise_fwd_kernel(const DepthwiseArgs args) {
  extern __shared__ __align__(16) unsigned char shared[];
  DeviceExec<typename Tr::State> ex{{}, shared, {}};
  depthwise_cta<Tr>(args, blockIdx.x, ex);
}

template <class Tr>
void launch(const DepthwiseArgs& args, cudaStream_t stream) {
  const DepthwisePlan& p = args.plan;
  auto* kernel = &depthwise_fwd_kernel<Tr>;
  if (p.needs_optin) {
    // The dynamic shared-memory limit is raised once per variant and device, to the largest a
    // launch has needed, not before every launch.
    static std::array<std::atomic<int>, kMaxDevices> raised{};
    int device = 0;
    SEPCONV_CUDA_TRY(cudaGetDevice(&device));
    const auto bytes = static_cast<int>(p.shared_bytes);
    const auto slot = static_cast<std::size_t>(device);
    if (slot >= kMaxDevices || raised[slot].load(std::memory_order_acquire) < bytes) {
      SEPCONV_CUDA_TRY(
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
      if (slot < kMaxDevices) {
        int seen = raised[slot].load(std::memory_order_relaxed);
        while (seen < bytes && !raised[slot].compare_exchange_weak(seen, bytes)) {
        }
      }
    }
  }
  kernel<<<static_cast<unsigned>(p.grid), static_cast<unsigned>(p.threads),
           static_cast<std::size_t>(p.shared_bytes), stream>>>(args);
  SEPCONV_CUDA_TRY(cudaGetLastError());
}

}  // namespace

void launch_depthwise(const DepthwiseArgs& args, cudaStream_t stream) {
  if (args.plan.blocks == 0) return;
  dispatch_depthwise(args.plan, [&](auto traits) { launch<decltype(traits)>(args, stream); });
}

}  // namespace sepconv::detail
