// What a kernel launch needs besides the kernel: plain C++, shared by the launchers (device and
// simulated device) and the host emulation of the tests.
//
// A kernel is a functor type K, written once for the device and the host:
//   using State = ...;                      per-thread registers that live across phases
//   static constexpr int kMaxThreads;       its __launch_bounds__: most threads a block may have
//   static constexpr int kMinBlocks;        and blocks an SM should fit (register budget)
//   static constexpr const char* kName;     for messages
//   template <class Exec>
//   SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const;
// where Exec offers phase(f) (f(tid, state) for every thread of the block), barrier()
// (__syncthreads between phases), smem() (the block's dynamic shared memory, 16-byte aligned),
// memory() (loads and stores: DeviceMemory on the GPU, emulator::CheckedMemory on the host), and
// grid() (CTAs launched). Control flow outside phases is uniform across the block, so barriers are
// never divergent; on the GPU a phase is one inlined call, on the host each thread runs it in turn.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sepconv::detail {

/// A one-dimensional launch.
struct LaunchShape {
  std::int64_t grid = 0;          ///< CTAs (gridDim.x)
  int threads = 0;                ///< per CTA (blockDim.x)
  std::size_t shared_bytes = 0;   ///< dynamic shared memory per CTA
  bool opt_in = false;            ///< shared_bytes passes the 48 KB default: raise the limit
};

/// Raises `kernel`'s dynamic shared-memory limit on the current device to at least `bytes`
/// (cudaFuncSetAttribute), once per kernel, device and size: the limit only grows, under a lock,
/// so threads making the first launches of one kernel with different sizes cannot leave it
/// lower than a launch needs. Throws CudaError. (cuda/launch.cpp)
void raise_shared_limit(const void* kernel, std::size_t bytes);

}  // namespace sepconv::detail
