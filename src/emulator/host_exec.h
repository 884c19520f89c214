// Kernels (cuda/launch.h) executed on the host: every CTA of the grid, every thread of a phase in
// turn, memory through CheckedMemory. The CPU tests' emulation and the simulated device both run
// kernels this way.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/launch.h"
#include "emulator/checked_memory.h"

namespace sepconv::emulator {

/// The host side of a kernel's Exec (cuda/launch.h) for one CTA.
template <class State>
class HostExec {
 public:
  HostExec(const detail::LaunchShape& shape, CheckedMemory& mem)
      : states_(static_cast<std::size_t>(shape.threads)),
        shared_(shape.shared_bytes + 16),
        grid_(shape.grid),
        mem_(mem) {
    // Registers and shared memory start as garbage on the GPU: NaN bytes here, so a missing
    // initialisation shows (CheckedMemory also reports uninitialised shared reads).
    std::memset(static_cast<void*>(states_.data()), 0xff, states_.size() * sizeof(State));
    std::memset(shared_.data(), 0xff, shared_.size());
    mem_.begin_cta(smem(), shape.shared_bytes);
  }
  void barrier() { mem_.barrier(); }
  template <class F>
  void phase(F&& f) {
    for (std::size_t t = 0; t < states_.size(); ++t) {
      mem_.set_thread(static_cast<int>(t));
      f(static_cast<int>(t), states_[t]);
    }
  }
  unsigned char* smem() {  // 16-byte aligned, as __align__(16) extern shared memory is
    auto address = reinterpret_cast<std::uintptr_t>(shared_.data());
    return shared_.data() + ((16 - address % 16) % 16);
  }
  CheckedMemory& memory() { return mem_; }
  [[nodiscard]] std::int64_t grid() const { return grid_; }

 private:
  std::vector<State> states_;
  std::vector<unsigned char> shared_;
  std::int64_t grid_;
  CheckedMemory& mem_;
};

/// Runs every CTA of a launch of `kernel` on the host, in order.
template <class K>
void run_on_host(const K& kernel, const detail::LaunchShape& shape, CheckedMemory& mem) {
  for (std::int64_t cta = 0; cta < shape.grid; ++cta) {
    HostExec<typename K::State> ex(shape, mem);
    kernel(cta, ex);
  }
}

}  // namespace sepconv::emulator
