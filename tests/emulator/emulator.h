// The CPU emulator of the depthwise kernel: runs the kernel's own tile code (depthwise_tile.cuh)
// for every CTA and thread of a plan, phase by phase, through a checked twin of DeviceMemory.
// It is CI's memcheck, racecheck and initcheck for the tile code:
//   - every global access must lie inside a registered buffer and be aligned to its vector size;
//   - every shared access must lie inside the block's dynamic shared memory and be aligned;
//   - a shared byte must have been written before it is read (since the CTA started);
//   - between two barriers, no shared byte may be written by one thread and read or written by
//     another (the phases of one epoch may interleave in any order on the GPU);
//   - global writes are counted, so tests can require every output written exactly once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda/depthwise_fwd.h"
#include "host/plan.h"

namespace sepconv::test {

/// Host twin of detail::DeviceMemory that checks every access (see the file comment).
class CheckedMemory {
 public:
  /// Registers a global buffer. Writes to writable buffers are counted per byte.
  void add_global(std::string name, const void* data, std::size_t bytes, bool writable);
  /// A new CTA: its shared memory, nothing initialised, epoch 0.
  void begin_cta(unsigned char* shared, std::size_t bytes);
  void set_thread(int tid) { tid_ = tid; }
  /// __syncthreads(): a new epoch for the race check.
  void barrier() { ++epoch_; }

  template <class V>
  V load_global(const V* p) {
    check_global(p, sizeof(V), alignof(V), false);
    return *p;
  }
  template <class V>
  void store_global(V* p, const V& v) {
    check_global(p, sizeof(V), alignof(V), true);
    *p = v;
  }
  template <class V>
  V load_shared(const V* p) {
    check_shared(p, sizeof(V), alignof(V), false);
    return *p;
  }
  template <class V>
  void store_shared(V* p, const V& v) {
    check_shared(p, sizeof(V), alignof(V), true);
    *p = v;
  }

  /// Times each byte of a writable buffer was written.
  [[nodiscard]] const std::vector<std::uint32_t>& writes(const std::string& name) const;
  [[nodiscard]] const std::vector<std::string>& errors() const { return errors_; }
  [[nodiscard]] std::int64_t error_count() const { return error_count_; }

 private:
  struct Buffer {
    std::string name;
    const unsigned char* begin = nullptr;
    std::size_t bytes = 0;
    bool writable = false;
    std::vector<std::uint32_t> writes;
  };
  void check_global(const void* p, std::size_t size, std::size_t align, bool write);
  void check_shared(const void* p, std::size_t size, std::size_t align, bool write);
  void error(const std::string& what);
  std::string describe(bool shared, const void* p, std::size_t size, bool write) const;

  std::vector<Buffer> buffers_;
  unsigned char* shared_ = nullptr;
  std::size_t shared_bytes_ = 0;
  // Per shared byte. Epochs count barriers across all CTAs (never reset), so starting a CTA
  // clears nothing: a byte is initialised when it was written since the CTA's first epoch.
  std::vector<std::int32_t> writer_, reader_;
  std::vector<std::int64_t> writer_epoch_, reader_epoch_, written_epoch_;
  std::int64_t epoch_ = 0;
  std::int64_t cta_epoch_ = 0;
  int tid_ = 0;
  std::vector<std::string> errors_;
  std::int64_t error_count_ = 0;
};

/// Checks the plan against the device limits it was made for (what CI can never launch).
/// Returns a list of violations (empty when the launch is legal).
std::vector<std::string> check_launch_limits(const detail::DepthwisePlan& plan,
                                             const detail::DeviceLimits& limits);

/// A buffer the kernel may touch.
struct Span {
  const void* data = nullptr;
  std::size_t bytes = 0;
};

/// Runs the depthwise kernel of `args.plan` on the host: every CTA of the grid, every thread,
/// every phase. `x`, `w` and `d` are the whole allocations behind args.x, args.w and args.d.
/// Returns the checked memory (errors, write counts of "d"). Throws std::logic_error when the plan
/// breaks the device limits.
CheckedMemory emulate_depthwise(const detail::DepthwiseArgs& args, Span x, Span w, Span d,
                                const detail::DeviceLimits& limits);

}  // namespace sepconv::test
