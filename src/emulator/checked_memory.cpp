#include "emulator/checked_memory.h"

#include <algorithm>
#include <sstream>

namespace sepconv::emulator {

void CheckedMemory::add_region(Region region) {
  const auto at = std::upper_bound(
      regions_.begin(), regions_.end(), region.begin,
      [](const unsigned char* a, const Region& r) { return a < r.begin; });
  regions_.insert(at, std::move(region));
  last_hit_ = 0;
}

void CheckedMemory::add_global(std::string name, const void* data, std::size_t bytes,
                               bool writable) {
  counted_.emplace_back(name, std::vector<std::uint32_t>(writable ? bytes : 0, 0));
  Region r;
  r.name = std::move(name);
  r.begin = static_cast<const unsigned char*>(data);
  r.bytes = bytes;
  r.writable = writable;
  r.writes = writable ? counted_.back().second.data() : nullptr;
  add_region(std::move(r));
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
  for (const auto& [n, counts] : counted_) {
    if (n == name) return counts;
  }
  static const std::vector<std::uint32_t> none;
  return none;
}

bool CheckedMemory::error(Fault fault, const std::string& what) {
  if (first_fault_ == Fault::none) first_fault_ = fault;
  if (++error_count_ <= 20) errors_.push_back(what);
  return false;
}

const Region* CheckedMemory::find(const unsigned char* a) {
  if (last_hit_ < regions_.size()) {
    const Region& r = regions_[last_hit_];
    if (a >= r.begin && a < r.begin + r.bytes) return &r;
  }
  auto it = std::upper_bound(regions_.begin(), regions_.end(), a,
                             [](const unsigned char* p, const Region& r) { return p < r.begin; });
  if (it == regions_.begin()) return nullptr;
  --it;
  if (a >= it->begin + it->bytes) return nullptr;
  last_hit_ = static_cast<std::size_t>(it - regions_.begin());
  return &*it;
}

std::string CheckedMemory::describe(bool shared, const void* p, std::size_t size,
                                    bool write) const {
  std::ostringstream o;
  o << (write ? "store" : "load") << " of " << size << " bytes ";
  const auto* a = static_cast<const unsigned char*>(p);
  if (shared) {
    o << "at shared byte " << (a - shared_) << " (of " << shared_bytes_ << ")";
  } else {
    bool named = false;
    for (const auto& r : regions_) {
      if (a >= r.begin && a < r.begin + r.bytes) {
        o << "at byte " << (a - r.begin) << " of `" << r.name << "` (" << r.bytes << " bytes)";
        named = true;
      }
    }
    if (!named) o << "at address " << p;
  }
  o << " by thread " << tid_ << " in epoch " << epoch_ - cta_epoch_;
  return o.str();
}

bool CheckedMemory::check_global(const void* p, std::size_t size, std::size_t align, bool write) {
  const auto* a = static_cast<const unsigned char*>(p);
  const Region* r = find(a);
  if (r == nullptr) {
    // Just past a region's end (the usual off-by-one) says so.
    auto it = std::upper_bound(regions_.begin(), regions_.end(), a,
                               [](const unsigned char* q, const Region& g) { return q < g.begin; });
    if (it != regions_.begin() && a - (it - 1)->begin - static_cast<std::ptrdiff_t>((it - 1)->bytes) < 4096) {
      const Region& below = *(it - 1);
      return error(Fault::out_of_bounds,
                   "global access past the end: " + describe(false, p, size, write) + ", " +
                       std::to_string(a - below.begin - static_cast<std::ptrdiff_t>(below.bytes)) +
                       " bytes past the end of `" + below.name + "` (" +
                       std::to_string(below.bytes) + " bytes)");
    }
    return error(Fault::out_of_bounds,
                 "global access outside every buffer: " + describe(false, p, size, write));
  }
  if (!r->accessible) {
    return error(Fault::out_of_bounds,
                 "global access to freed memory: " + describe(false, p, size, write));
  }
  const auto offset = static_cast<std::size_t>(a - r->begin);
  if (offset + size > r->bytes) {
    return error(Fault::out_of_bounds,
                 "global access past the end: " + describe(false, p, size, write));
  }
  if (reinterpret_cast<std::uintptr_t>(a) % align != 0) {
    return error(Fault::misaligned, "misaligned global access: " + describe(false, p, size, write));
  }
  if (write) {
    if (!r->writable) {
      return error(Fault::read_only,
                   "write to a read-only buffer: " + describe(false, p, size, write));
    }
    if (r->writes != nullptr) {
      for (std::size_t i = 0; i < size; ++i) ++r->writes[offset + i];
    }
    if (r->initialised != nullptr) std::fill_n(r->initialised + offset, size, std::uint8_t{1});
    return true;
  }
  if (r->initialised != nullptr) {
    for (std::size_t i = 0; i < size; ++i) {
      if (r->initialised[offset + i] == 0) {
        // Reported, but the load happens: the bytes are there, only never written.
        error(Fault::uninitialised, "uninitialised global read: " + describe(false, p, size, write));
        return true;
      }
    }
  }
  return true;
}

bool CheckedMemory::check_shared(const void* p, std::size_t size, std::size_t align, bool write) {
  const auto* a = static_cast<const unsigned char*>(p);
  if (a < shared_ || a + size > shared_ + shared_bytes_) {
    return error(Fault::out_of_bounds,
                 "shared access out of bounds: " + describe(true, p, size, write));
  }
  if (reinterpret_cast<std::uintptr_t>(a) % align != 0) {
    return error(Fault::misaligned, "misaligned shared access: " + describe(true, p, size, write));
  }
  const auto first = static_cast<std::size_t>(a - shared_);
  bool uninitialised_reported = false;
  for (std::size_t i = first; i < first + size; ++i) {
    const bool written_now = writer_epoch_[i] == epoch_ && writer_[i] != tid_;
    if (write) {
      if (written_now) {
        return error(Fault::race, "shared write-write race with thread " +
                                      std::to_string(writer_[i]) + ": " +
                                      describe(true, p, size, write));
      }
      if (reader_epoch_[i] == epoch_ && reader_[i] != tid_) {
        return error(Fault::race, "shared read-then-write race with thread(s) " +
                                      std::to_string(reader_[i]) + ": " +
                                      describe(true, p, size, write));
      }
      writer_[i] = tid_;
      writer_epoch_[i] = epoch_;
      written_epoch_[i] = epoch_;
    } else {
      if (written_epoch_[i] < cta_epoch_) {
        // Reported once per access; the read is still recorded, so a thread writing the byte
        // later in this epoch is reported as the race it is.
        if (!uninitialised_reported) {
          error(Fault::uninitialised, "uninitialised shared read: " + describe(true, p, size, write));
          uninitialised_reported = true;
        }
      } else if (written_now) {
        return error(Fault::race, "shared write-then-read race with thread " +
                                      std::to_string(writer_[i]) + ": " +
                                      describe(true, p, size, write));
      }
      if (reader_epoch_[i] != epoch_) {
        reader_[i] = tid_;
        reader_epoch_[i] = epoch_;
      } else if (reader_[i] != tid_) {
        reader_[i] = -2;  // several readers: any later write by anyone races
      }
    }
  }
  return true;
}

}  // namespace sepconv::emulator
