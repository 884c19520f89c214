#include "emulator.h"

#include <cstring>
#include <sstream>
#include <stdexcept>

#include "cuda/depthwise_dispatch.h"

namespace sepconv::test {

void CheckedMemory::add_global(std::string name, const void* data, std::size_t bytes,
                               bool writable) {
  Buffer b;
  b.name = std::move(name);
  b.begin = static_cast<const unsigned char*>(data);
  b.bytes = bytes;
  b.writable = writable;
  if (writable) b.writes.assign(bytes, 0);
  buffers_.push_back(std::move(b));
}

void CheckedMemory::begin_cta(unsigned char* shared, std::size_t bytes) {
  shared_ = shared;
  shared_bytes_ = bytes;
  if (writer_.size() < bytes) {
    writer_.resize(bytes, -1);
    reader_.resize(bytes, -1);
    writer_epoch_.resize(bytes, -1);
    reader_epoch_.resize(bytes, -1);
    written_epoch_.resize(bytes, -1);
  }
  cta_epoch_ = ++epoch_;
}

const std::vector<std::uint32_t>& CheckedMemory::writes(const std::string& name) const {
  for (const auto& b : buffers_) {
    if (b.name == name) return b.writes;
  }
  static const std::vector<std::uint32_t> none;
  return none;
}

void CheckedMemory::error(const std::string& what) {
  if (++error_count_ <= 20) errors_.push_back(what);
}

std::string CheckedMemory::describe(bool shared, const void* p, std::size_t size,
                                    bool write) const {
  std::ostringstream o;
  o << (write ? "store" : "load") << " of " << size << " bytes ";
  const auto* a = static_cast<const unsigned char*>(p);
  if (shared) {
    o << "at shared byte " << (a - shared_) << " (of " << shared_bytes_ << ")";
  } else {
    for (const auto& b : buffers_) {
      if (a >= b.begin && a < b.begin + b.bytes) {
        o << "at byte " << (a - b.begin) << " of `" << b.name << "` (" << b.bytes << " bytes)";
      }
    }
  }
  o << " by thread " << tid_ << " in epoch " << epoch_ - cta_epoch_;
  return o.str();
}

void CheckedMemory::check_global(const void* p, std::size_t size, std::size_t align, bool write) {
  const auto* a = static_cast<const unsigned char*>(p);
  for (auto& b : buffers_) {
    if (a < b.begin || a >= b.begin + b.bytes) continue;
    const auto offset = static_cast<std::size_t>(a - b.begin);
    if (offset + size > b.bytes) {
      return error("global access past the end: " + describe(false, p, size, write));
    }
    if (reinterpret_cast<std::uintptr_t>(a) % align != 0) {
      return error("misaligned global access: " + describe(false, p, size, write));
    }
    if (write) {
      if (!b.writable) return error("write to a read-only buffer: " + describe(false, p, size, write));
      for (std::size_t i = 0; i < size; ++i) ++b.writes[offset + i];
    }
    return;
  }
  error("global access outside every buffer: " + describe(false, p, size, write));
}

void CheckedMemory::check_shared(const void* p, std::size_t size, std::size_t align, bool write) {
  const auto* a = static_cast<const unsigned char*>(p);
  if (a < shared_ || a + size > shared_ + shared_bytes_) {
    return error("shared access out of bounds: " + describe(true, p, size, write));
  }
  if (reinterpret_cast<std::uintptr_t>(a) % align != 0) {
    return error("misaligned shared access: " + describe(true, p, size, write));
  }
  const auto first = static_cast<std::size_t>(a - shared_);
  for (std::size_t i = first; i < first + size; ++i) {
    const bool written_now = writer_epoch_[i] == epoch_ && writer_[i] != tid_;
    if (write) {
      if (written_now) {
        return error("shared write-write race with thread " + std::to_string(writer_[i]) + ": " +
                     describe(true, p, size, write));
      }
      if (reader_epoch_[i] == epoch_ && reader_[i] != tid_) {
        return error("shared read-then-write race with thread(s) " + std::to_string(reader_[i]) +
                     ": " + describe(true, p, size, write));
      }
      writer_[i] = tid_;
      writer_epoch_[i] = epoch_;
      written_epoch_[i] = epoch_;
    } else {
      if (written_epoch_[i] < cta_epoch_) {
        return error("uninitialised shared read: " + describe(true, p, size, write));
      }
      if (written_now) {
        return error("shared write-then-read race with thread " + std::to_string(writer_[i]) +
                     ": " + describe(true, p, size, write));
      }
      if (reader_epoch_[i] != epoch_) {
        reader_[i] = tid_;
        reader_epoch_[i] = epoch_;
      } else if (reader_[i] != tid_) {
        reader_[i] = -2;  // several readers: any later write by anyone races
      }
    }
  }
}

std::vector<std::string> check_launch_limits(const detail::DepthwisePlan& p,
                                             const detail::DeviceLimits& limits) {
  std::vector<std::string> v;
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) v.push_back(what);
  };
  expect(p.threads >= 1 && p.threads <= limits.max_threads_per_block,
         "block of " + std::to_string(p.threads) + " threads");
  expect(p.threads == p.threads_c * p.threads_t, "threads != threads_c * threads_t");
  expect(p.threads % 32 == 0, "block not a whole number of warps");
  expect(p.grid >= (p.blocks > 0 ? 1 : 0) && p.grid <= limits.max_grid_x,
         "grid.x of " + std::to_string(p.grid));
  expect(p.grid <= p.blocks, "more CTAs than blocks");
  expect(p.shared_bytes <= limits.shared_optin,
         "dynamic shared memory " + std::to_string(p.shared_bytes) + " over the opt-in cap");
  expect(p.needs_optin == (p.shared_bytes > limits.shared_default),
         "opt-in flag does not match " + std::to_string(p.shared_bytes) + " bytes");
  expect(p.blocks == p.batch * p.time_tiles * p.channel_groups, "block count");
  expect(p.tile_steps == static_cast<std::int64_t>(p.threads_t) * p.steps_per_thread * p.groups,
         "tile_steps");
  expect(p.num_chunks == (p.kernel + p.tap_chunk - 1) / p.tap_chunk, "num_chunks");
  expect(!p.chunked() || p.groups == 1, "chunked taps with several output groups");
  return v;
}

namespace {

template <class State>
class HostExec {
 public:
  HostExec(int threads, std::size_t shared_bytes, CheckedMemory& mem)
      : states_(static_cast<std::size_t>(threads)), shared_(shared_bytes + 16), mem_(mem) {
    // Registers start as garbage on the GPU: NaN here, so a missing initialisation shows.
    std::memset(static_cast<void*>(states_.data()), 0xff, states_.size() * sizeof(State));
    mem_.begin_cta(smem(), shared_bytes);
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

 private:
  std::vector<State> states_;
  std::vector<unsigned char> shared_;
  CheckedMemory& mem_;
};

}  // namespace

CheckedMemory emulate_depthwise(const detail::DepthwiseArgs& args, Span x, Span w, Span d,
                                const detail::DeviceLimits& limits) {
  const auto violations = check_launch_limits(args.plan, limits);
  if (!violations.empty()) throw std::logic_error("launch limits violated: " + violations.front());
  CheckedMemory mem;
  mem.add_global("x", x.data, x.bytes, false);
  mem.add_global("w", w.data, w.bytes, false);
  mem.add_global("d", d.data, d.bytes, true);
  detail::dispatch_depthwise(args.plan, [&](auto traits) {
    using Tr = decltype(traits);
    for (std::int64_t cta = 0; cta < args.plan.grid; ++cta) {
      HostExec<typename Tr::State> ex(args.plan.threads,
                                      static_cast<std::size_t>(args.plan.shared_bytes), mem);
      detail::depthwise_cta<Tr>(args, cta, ex);
    }
  });
  return mem;
}

}  // namespace sepconv::test
