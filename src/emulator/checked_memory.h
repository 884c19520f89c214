// The host twin of detail::DeviceMemory: every global and shared-memory access a kernel's tile code
// makes, checked. It is how kernels run on the host (the CPU tests' emulation and the simulated
// device), and the only memcheck, racecheck and initcheck CI has:
//   - a global access must lie inside one registered region and be aligned to its vector size;
//     writes to read-only regions are errors; regions with an initialisation shadow report reads
//     of bytes never written (initcheck) and record writes; regions may count writes per byte;
//   - a shared access must lie inside the block's dynamic shared memory and be aligned, and read
//     only bytes written since the CTA started;
//   - between two barriers, no shared byte may be written by one thread and read or written by
//     another (the threads of a phase may interleave in any order on the GPU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace sepconv::emulator {

/// What went wrong first, for callers that map it to an error code.
enum class Fault : std::uint8_t { none, out_of_bounds, misaligned, read_only, uninitialised, race };

/// A span of global memory kernels may touch.
struct Region {
  std::string name;  ///< for messages
  const unsigned char* begin = nullptr;
  std::size_t bytes = 0;
  bool writable = true;
  /// false: memory that may not be touched at all (freed); any access is a fault.
  bool accessible = true;
  /// Per byte, nonzero once written; nullptr: no initialisation check. Writes set it.
  std::uint8_t* initialised = nullptr;
  /// Per byte write counts; nullptr: not counted.
  std::uint32_t* writes = nullptr;
};

/// Checked memory for one or more kernel launches (see the file comment).
class CheckedMemory {
 public:
  CheckedMemory() = default;
  // Regions point into counted_: moving keeps the deque's elements in place, copying would not.
  CheckedMemory(const CheckedMemory&) = delete;
  CheckedMemory& operator=(const CheckedMemory&) = delete;
  CheckedMemory(CheckedMemory&&) = default;
  CheckedMemory& operator=(CheckedMemory&&) = default;

  /// Registers a region (regions must not overlap).
  void add_region(Region region);
  /// Registers a host buffer whose writes are counted per byte (writes(name)).
  void add_global(std::string name, const void* data, std::size_t bytes, bool writable);

  /// A new CTA: its shared memory, nothing initialised, a new epoch.
  void begin_cta(unsigned char* shared, std::size_t bytes);
  void set_thread(int tid) { tid_ = tid; }
  /// __syncthreads(): a new epoch for the race check.
  void barrier() { ++epoch_; }

  // An access that fails its check is reported and not made (a load returns zeros).
  template <class V>
  V load_global(const V* p) {
    return check_global(p, sizeof(V), alignof(V), false) ? *p : V{};
  }
  template <class V>
  void store_global(V* p, const V& v) {
    if (check_global(p, sizeof(V), alignof(V), true)) *p = v;
  }
  template <class V>
  V load_shared(const V* p) {
    return check_shared(p, sizeof(V), alignof(V), false) ? *p : V{};
  }
  template <class V>
  void store_shared(V* p, const V& v) {
    if (check_shared(p, sizeof(V), alignof(V), true)) *p = v;
  }

  /// Times each byte of a buffer registered with add_global was written (empty for others).
  [[nodiscard]] const std::vector<std::uint32_t>& writes(const std::string& name) const;
  /// The first 20 problems, and how many there were.
  [[nodiscard]] const std::vector<std::string>& errors() const { return errors_; }
  [[nodiscard]] std::int64_t error_count() const { return error_count_; }
  [[nodiscard]] Fault first_fault() const { return first_fault_; }

 private:
  bool check_global(const void* p, std::size_t size, std::size_t align, bool write);
  bool check_shared(const void* p, std::size_t size, std::size_t align, bool write);
  const Region* find(const unsigned char* a);
  bool error(Fault fault, const std::string& what);  // false
  std::string describe(bool shared, const void* p, std::size_t size, bool write) const;

  std::vector<Region> regions_;  // sorted by begin
  std::size_t last_hit_ = 0;     // most accesses hit the region the previous one did
  std::deque<std::pair<std::string, std::vector<std::uint32_t>>> counted_;
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
  Fault first_fault_ = Fault::none;
};

}  // namespace sepconv::emulator
