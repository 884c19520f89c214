#include "sim/state.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace sepconv::sim {
namespace {

// Freed allocations stay mapped (and inaccessible) until this many bytes are quarantined.
constexpr std::size_t kQuarantineBytes = std::size_t{1} << 30;
// cudaMalloc's pointers are 256-byte aligned; the simulated ones are exactly that, not 512.
constexpr std::size_t kAllocationOffset = 256;

std::size_t page_round(std::size_t bytes) {
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

void* map_pages(std::size_t bytes, int protection) {
  void* p = mmap(nullptr, bytes, protection, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

std::string hex(const void* p) {
  std::ostringstream o;
  o << p;
  return o.str();
}

}  // namespace

std::string Allocation::name() const {
  std::ostringstream o;
  o << "allocation #" << serial << " (" << bytes << " bytes at " << static_cast<const void*>(data)
    << (freed ? ", freed" : "") << ")";
  return o.str();
}

State& State::get() {
  static State* state = new State;  // never destroyed: CUDA calls may come from static destructors
  return *state;
}

State::State() {
  const char* kind = std::getenv("SEPCONV_SIM_DEVICE");
  const std::string k = kind == nullptr ? "h100" : kind;
  int count = 1;
  if (const char* c = std::getenv("SEPCONV_SIM_DEVICE_COUNT"); c != nullptr) count = std::atoi(c);
  if (k == "none") {
    no_driver_ = true;
    count = 0;
  } else if (k == "a100") {
    profile_ = a100_profile();
  } else {
    if (k != "h100") {
      std::fprintf(stderr,
                   "sepconv simulated device: SEPCONV_SIM_DEVICE=%s is not h100, a100 or none; "
                   "simulating an H100\n",
                   k.c_str());
    }
    profile_ = h100_profile();
  }
  device_count_ = std::max(0, count);
  trace_ = std::getenv("SEPCONV_SIM_TRACE") != nullptr;
  for (int d = 0; d < device_count_; ++d) {
    auto s = std::make_unique<Stream>();
    s->device = d;
    s->legacy = true;
    legacy_.push_back(std::move(s));
  }
}

int& State::current_device() {
  thread_local int device = 0;
  return device;
}

cudaError_t& State::last_error() {
  thread_local cudaError_t error = cudaSuccess;
  return error;
}

std::string& State::last_message() {
  thread_local std::string message;
  return message;
}

cudaError_t State::error(cudaError_t code, const std::string& message, bool print) {
  last_error() = code;
  last_message() = message;
  if (print) std::fprintf(stderr, "sepconv simulated device: %s\n", message.c_str());
  return code;
}

void State::fault(cudaError_t code, const std::string& message) {
  if (fault_ == cudaSuccess) fault_ = code;
  last_message() = message;
  std::fprintf(stderr, "sepconv simulated device: %s\n", message.c_str());
}

cudaError_t State::take_fault() {
  const cudaError_t f = fault_;
  fault_ = cudaSuccess;
  if (f != cudaSuccess) last_error() = f;
  return f;
}

// ---- memory ----------------------------------------------------------------------------------

cudaError_t State::allocate(void** pointer, std::size_t bytes) {
  if (pointer == nullptr) return error(cudaErrorInvalidValue, "cudaMalloc: devPtr is null");
  *pointer = nullptr;
  if (bytes == 0) return cudaSuccess;
  if (bytes > profile_.memory || live_bytes_ > profile_.memory - bytes) {
    return error(cudaErrorMemoryAllocation,
                 "cudaMalloc(" + std::to_string(bytes) + "): out of memory (" +
                     std::to_string(live_bytes_) + " of " + std::to_string(profile_.memory) +
                     " bytes in use)");
  }
  Allocation a;
  a.serial = ++serial_;
  a.device = current_device();
  a.map_bytes = page_round(kAllocationOffset + bytes);
  a.map = static_cast<unsigned char*>(map_pages(a.map_bytes, PROT_NONE));
  a.shadow_bytes = page_round(bytes);
  a.initialised = static_cast<std::uint8_t*>(map_pages(a.shadow_bytes, PROT_READ | PROT_WRITE));
  if (a.map == nullptr || a.initialised == nullptr) {
    release(a);
    return error(cudaErrorMemoryAllocation,
                 "cudaMalloc(" + std::to_string(bytes) + "): the host cannot map that much");
  }
  a.data = a.map + kAllocationOffset;
  a.bytes = bytes;
  if (executing_ > 0) mprotect(a.map, a.map_bytes, PROT_READ | PROT_WRITE);
  *pointer = a.data;
  live_bytes_ += bytes;
  allocations_.emplace(a.data, a);
  ++stats.live_allocations;
  return cudaSuccess;
}

void State::release(Allocation& a) {
  if (a.map != nullptr) munmap(a.map, a.map_bytes);
  if (a.initialised != nullptr) munmap(a.initialised, a.shadow_bytes);
  a.map = nullptr;
  a.initialised = nullptr;
}

cudaError_t State::free(void* pointer) {
  if (pointer == nullptr) return cudaSuccess;
  Allocation* a = find(pointer);
  if (a == nullptr) {
    return error(cudaErrorInvalidValue,
                 "cudaFree(" + hex(pointer) + "): not a pointer cudaMalloc returned");
  }
  if (a->freed) {
    return error(cudaErrorInvalidValue,
                 "cudaFree(" + hex(pointer) + "): double free of " + a->name());
  }
  if (a->data != pointer) {
    return error(cudaErrorInvalidValue, "cudaFree(" + hex(pointer) + "): byte " +
                                            std::to_string(static_cast<const unsigned char*>(pointer) - a->data) +
                                            " of " + a->name() + ", not its start");
  }
  // cudaFree waits for the device: the work that uses the memory runs first.
  execute_all(a->device);
  a->freed = true;
  mprotect(a->map, a->map_bytes, PROT_NONE);
  live_bytes_ -= a->bytes;
  --stats.live_allocations;
  quarantine_.push_back(a->data);
  quarantine_bytes_ += a->map_bytes;
  while (quarantine_bytes_ > kQuarantineBytes && !quarantine_.empty()) {
    auto it = allocations_.find(quarantine_.front());
    quarantine_.pop_front();
    quarantine_bytes_ -= it->second.map_bytes;
    release(it->second);
    allocations_.erase(it);
  }
  return take_fault();
}

Allocation* State::find(const void* pointer) {
  const auto* p = static_cast<const unsigned char*>(pointer);
  auto it = allocations_.upper_bound(p);
  if (it == allocations_.begin()) return nullptr;
  --it;
  Allocation& a = it->second;
  return p < a.data + std::max<std::size_t>(a.bytes, 1) ? &a : nullptr;
}

std::string State::check_range(const void* pointer, std::size_t bytes) {
  const Allocation* a = find(pointer);
  if (a == nullptr) return hex(pointer) + " is not device memory";
  if (a->freed) return hex(pointer) + " is in " + a->name() + ": a use after free";
  const auto offset = static_cast<std::size_t>(static_cast<const unsigned char*>(pointer) - a->data);
  if (offset + bytes > a->bytes) {
    return std::to_string(bytes) + " bytes from byte " + std::to_string(offset) + " of " +
           a->name() + " run past its end";
  }
  return "";
}

std::vector<emulator::Region> State::regions(int device) {
  std::vector<emulator::Region> all;
  for (auto& [data, a] : allocations_) {
    if (a.device != device) continue;
    emulator::Region r;
    r.name = a.name();
    r.begin = a.data;
    r.bytes = a.bytes;
    r.accessible = !a.freed;
    r.initialised = a.freed ? nullptr : a.initialised;
    all.push_back(std::move(r));
  }
  return all;
}

void State::protect(bool accessible) {
  for (auto& [data, a] : allocations_) {
    if (!a.freed) mprotect(a.map, a.map_bytes, accessible ? PROT_READ | PROT_WRITE : PROT_NONE);
  }
}

// ---- streams and work ------------------------------------------------------------------------

Stream* State::stream(cudaStream_t handle, const char* call) {
  if (handle == nullptr || handle == cudaStreamLegacy) {
    const int d = current_device();
    if (d < 0 || d >= device_count_) {
      error(cudaErrorInvalidDevice, std::string(call) + ": no current device");
      return nullptr;
    }
    return legacy(d);
  }
  if (handle == cudaStreamPerThread) {
    error(cudaErrorNotSupported,
          std::string(call) + ": the per-thread default stream is not simulated");
    return nullptr;
  }
  auto* s = reinterpret_cast<Stream*>(handle);
  if (streams.count(s) == 0) {
    error(cudaErrorInvalidResourceHandle,
          std::string(call) + ": stream " + hex(handle) + " is not a live stream (destroyed?)");
    return nullptr;
  }
  return s;
}

void State::invalidate(Capture& capture, const std::string& why) {
  if (!capture.invalidated) {
    capture.invalidated = true;
    capture.why = why;
  }
}

cudaError_t State::forbid_during_capture(const char* call) {
  bool forbidden = false;
  for (Capture* c : captures) {
    if (c->mode == cudaStreamCaptureModeGlobal ||
        (c->mode == cudaStreamCaptureModeThreadLocal && c->thread == std::this_thread::get_id())) {
      invalidate(*c, std::string(call) + " during stream capture");
      forbidden = true;
    }
  }
  if (!forbidden) return cudaSuccess;
  return error(cudaErrorStreamCaptureUnsupported,
               std::string(call) + ": not permitted while a stream is being captured (the "
                                   "capture is invalidated)");
}

cudaError_t State::enqueue(Stream& s, std::string what, std::function<void()> run,
                           const OpPtr& extra) {
  if (s.capture != nullptr) {
    if (s.capture->invalidated) {
      return error(cudaErrorStreamCaptureInvalidated,
                   what + ": the stream's capture was invalidated (" + s.capture->why + ")");
    }
    s.capture->graph->nodes.push_back({std::move(what), std::move(run)});
    return cudaSuccess;
  }
  if (s.legacy) {
    // The legacy stream synchronises with every blocking stream: one being captured cannot be
    // waited for.
    for (Capture* c : captures) {
      if (c->stream->blocking() && c->stream->device == s.device) {
        invalidate(*c, what + " on the legacy stream");
        return error(cudaErrorStreamCaptureImplicit,
                     what + ": the legacy default stream was used while a blocking stream is "
                            "being captured (the capture is invalidated)");
      }
    }
  }
  auto op = std::make_shared<Op>();
  op->what = std::move(what);
  op->run = std::move(run);
  auto depend = [&](const OpPtr& d) {
    if (d && !d->done) op->deps.push_back(d);
  };
  depend(s.last);
  depend(extra);
  if (s.legacy) {
    for (Stream* other : streams) {
      if (other->blocking() && other->device == s.device) depend(other->last);
    }
  } else if (s.blocking()) {
    depend(legacy(s.device)->last);
  }
  if (trace_) {
    std::fprintf(stderr, "sepconv simulated device: enqueue %s on stream %p (%zu dependencies)\n",
                 op->what.c_str(), static_cast<void*>(&s), op->deps.size());
  }
  s.last = op;
  pending_.push_back(op);
  while (!pending_.empty() && pending_.front()->done) pending_.pop_front();
  stats.pending = static_cast<std::int64_t>(pending_.size());
  return cudaSuccess;
}

void State::execute(const OpPtr& target) {
  if (!target || target->done) return;
  if (executing_++ == 0) protect(true);
  std::vector<Op*> stack{target.get()};
  while (!stack.empty()) {
    Op* op = stack.back();
    if (op->done) {
      stack.pop_back();
      continue;
    }
    bool ready = true;
    for (const auto& d : op->deps) {
      if (!d->done) {
        stack.push_back(d.get());
        ready = false;
      }
    }
    if (!ready) continue;
    stack.pop_back();
    if (trace_) std::fprintf(stderr, "sepconv simulated device: run %s\n", op->what.c_str());
    if (op->run) op->run();
    op->run = nullptr;
    op->deps.clear();
    op->done = true;
    ++stats.executed;
  }
  if (--executing_ == 0) protect(false);
  while (!pending_.empty() && pending_.front()->done) pending_.pop_front();
  stats.pending = static_cast<std::int64_t>(pending_.size());
}

void State::execute_all(int /*device*/) {
  // Work of one device never waits for another's here, so running all of it is equivalent.
  const std::deque<OpPtr> all = pending_;
  for (const auto& op : all) execute(op);
}

void State::discard_pending() {
  for (const auto& op : pending_) {
    op->run = nullptr;
    op->deps.clear();
    op->done = true;
  }
  pending_.clear();
  stats.pending = 0;
}

}  // namespace sepconv::sim
