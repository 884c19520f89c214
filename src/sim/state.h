// The simulated device's state and rules: device memory, streams and their ordering, events,
// graph capture, and the execution of enqueued work. One State, one lock; work runs on the host
// thread that synchronises with it, never before.
//
// Ordering follows CUDA's: each stream runs its work in order; work on the legacy default
// stream waits for all earlier work of the blocking streams of its device, and work on a
// blocking stream waits for earlier legacy-stream work; non-blocking streams order only against
// themselves and the events they wait for. Work runs when something synchronises with it: a
// stream, event or device synchronisation, a blocking copy, cudaFree. A missing
// synchronisation therefore reads stale or poisoned memory instead of passing by luck.
//
// Device memory is its own mapping, inaccessible (PROT_NONE) except while enqueued work runs, so
// host code that dereferences a device pointer faults as it would with a real GPU. Freed memory
// stays mapped and inaccessible for a while (quarantine) so a use after free is named as such.
// Each byte has an "initialised" shadow: kernels and GEMMs that read bytes nothing wrote fault.
#pragma once

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "emulator/checked_memory.h"
#include "sim/control.h"

namespace sepconv::sim {

/// One unit of enqueued work.
struct Op {
  std::string what;          ///< for messages: "cudaMemcpyAsync", "kernel <name>", ...
  std::function<void()> run; ///< the work; it reports faults with State::fault
  std::vector<std::shared_ptr<Op>> deps;
  bool done = false;
};
using OpPtr = std::shared_ptr<Op>;

/// Device memory from cudaMalloc.
struct Allocation {
  std::uint64_t serial = 0;  ///< the n-th allocation of the program, for messages
  int device = 0;
  unsigned char* map = nullptr;  ///< its own mapping
  std::size_t map_bytes = 0;
  unsigned char* data = nullptr;  ///< what cudaMalloc returned: 256-byte aligned, not 512
  std::size_t bytes = 0;
  std::uint8_t* initialised = nullptr;  ///< per byte, nonzero once written
  std::size_t shadow_bytes = 0;
  bool freed = false;  ///< in quarantine
  [[nodiscard]] std::string name() const;
};

struct Capture;

struct Stream {
  int device = 0;
  unsigned flags = cudaStreamDefault;  ///< cudaStreamNonBlocking, or blocking
  bool legacy = false;                 ///< the device's legacy default stream
  OpPtr last;                          ///< the last work enqueued (may have run)
  Capture* capture = nullptr;          ///< while capturing
  [[nodiscard]] bool blocking() const { return !legacy && flags == cudaStreamDefault; }
};

/// A captured (or instantiated) graph: its nodes in capture order, each a replayable piece of
/// work.
struct GraphNode {
  std::string what;
  std::function<void()> run;
};
struct Graph {
  std::vector<GraphNode> nodes;
};
struct GraphExec {
  int device = 0;
  std::vector<GraphNode> nodes;
};

struct Capture {
  Stream* stream = nullptr;
  std::unique_ptr<Graph> graph;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  std::thread::id thread;
  bool invalidated = false;
  std::string why;  ///< what invalidated it
};

/// When an event's marker ran.
struct EventTime {
  std::chrono::steady_clock::time_point at;
  bool set = false;
};

struct Event {
  int device = 0;
  unsigned flags = 0;
  OpPtr recorded;  ///< the marker of the last record outside capture
  bool captured = false;  ///< last recorded into a capture
  std::shared_ptr<EventTime> time = std::make_shared<EventTime>();
};

struct LtHandle {
  int device = 0;
};

/// The simulated machine.
class State {
 public:
  /// The one instance (created at the first call, from the environment).
  static State& get();

  std::recursive_mutex mutex;

  // ---- devices ----
  [[nodiscard]] int device_count() const { return device_count_; }
  [[nodiscard]] const Profile& device_profile() const { return profile_; }
  [[nodiscard]] bool has_device() const { return device_count_ > 0; }
  /// The calling thread's current device.
  static int& current_device();
  /// Dynamic shared-memory limits set with cudaFuncSetAttribute, per (kernel, device).
  std::map<std::pair<const void*, int>, std::size_t> function_shared_limit;

  // ---- errors ----
  /// Records an API error for the calling thread (cudaGetLastError, last_error_message) and
  /// prints it; returns `code`.
  cudaError_t error(cudaError_t code, const std::string& message, bool print = true);
  /// A fault of enqueued work (a kernel's bad access, ...): printed, and returned by the next
  /// synchronising call on any thread.
  void fault(cudaError_t code, const std::string& message);
  /// The pending fault, cleared; cudaSuccess when none.
  cudaError_t take_fault();
  static cudaError_t& last_error();
  static std::string& last_message();

  // ---- memory ----
  cudaError_t allocate(void** pointer, std::size_t bytes);
  cudaError_t free(void* pointer);
  /// The allocation holding `pointer` (live or freed), or nullptr.
  Allocation* find(const void* pointer);
  /// Checks that [pointer, pointer + bytes) is live device memory; "" or what is wrong.
  std::string check_range(const void* pointer, std::size_t bytes);
  /// Live device allocations as regions for checked memory.
  std::vector<emulator::Region> regions(int device);
  std::size_t live_bytes() const { return live_bytes_; }

  // ---- streams, events, graphs ----
  /// The Stream behind a handle (0 and cudaStreamLegacy: the current device's legacy stream);
  /// nullptr after recording an error when the handle is not a live stream.
  Stream* stream(cudaStream_t handle, const char* call);
  Stream* legacy(int device) { return legacy_[static_cast<std::size_t>(device)].get(); }
  std::set<Stream*> streams;
  std::set<Event*> events;
  std::set<Graph*> graphs;
  std::set<GraphExec*> execs;
  std::set<LtHandle*> lt_handles;
  std::vector<Capture*> captures;

  /// Enqueues work on a stream, or records it into the stream's capture. `extra` adds
  /// dependencies (an event waited for). Returns the error (capture rules) or cudaSuccess.
  cudaError_t enqueue(Stream& stream, std::string what, std::function<void()> run,
                      const OpPtr& extra = nullptr);
  /// Applies CUDA's rule for calls a capture forbids (allocation, synchronisation, ...): with a
  /// global-mode capture on any thread, or a thread-local one on this thread, the capture is
  /// invalidated and the call fails. Returns cudaSuccess when the call may go on.
  cudaError_t forbid_during_capture(const char* call);
  void invalidate(Capture& capture, const std::string& why);

  /// Runs `op` after everything it depends on.
  void execute(const OpPtr& op);
  /// Runs everything pending on a device (all devices for -1).
  void execute_all(int device);
  /// Forgets pending work (control.h's discard_pending).
  void discard_pending();

  // ---- counters, policy ----
  Stats stats;
  std::vector<MatmulRecord> matmul_records;
  HeuristicPolicy heuristic;

 private:
  State();
  void protect(bool accessible);
  void release(Allocation& a);

  int device_count_ = 0;
  bool no_driver_ = false;
  bool trace_ = false;  // SEPCONV_SIM_TRACE: print work as it is enqueued and run
  Profile profile_;
  std::vector<std::unique_ptr<Stream>> legacy_;
  std::map<const unsigned char*, Allocation> allocations_;  // by data pointer
  std::deque<const unsigned char*> quarantine_;
  std::size_t quarantine_bytes_ = 0;
  std::size_t live_bytes_ = 0;
  std::uint64_t serial_ = 0;
  std::deque<OpPtr> pending_;
  int executing_ = 0;
  cudaError_t fault_ = cudaSuccess;
};

}  // namespace sepconv::sim
