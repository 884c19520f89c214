// The CUDA runtime functions sepconv, its tests, its example and its CLI call, simulated (see
// state.h for the rules). Their declarations come from the toolkit's cuda_runtime_api.h, so the
// signatures are CUDA's own; they are exported from the library (default visibility) so that a
// program linking sepconv in a simulated build calls these instead of libcudart.
#pragma GCC visibility push(default)
#include <cuda_runtime_api.h>
#pragma GCC visibility pop

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "sim/state.h"

using sepconv::sim::Event;
using sepconv::sim::Graph;
using sepconv::sim::GraphExec;
using sepconv::sim::State;
using sepconv::sim::Stream;

namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

// The calling thread's device, checked; cudaErrorInsufficientDriver without a device (what a
// machine without a driver answers), cudaErrorInvalidDevice for a bad index.
cudaError_t require_device(State& s, const char* call) {
  if (!s.has_device()) {
    return s.error(cudaErrorInsufficientDriver,
                   std::string(call) + ": no simulated device (SEPCONV_SIM_DEVICE=none)", false);
  }
  const int d = State::current_device();
  if (d < 0 || d >= s.device_count()) {
    return s.error(cudaErrorInvalidDevice, std::string(call) + ": current device " +
                                               std::to_string(d) + " does not exist");
  }
  return cudaSuccess;
}

std::string hex(const void* p) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%p", p);
  return buffer;
}

const char* kind_name(cudaMemcpyKind kind) {
  switch (kind) {
    case cudaMemcpyHostToHost: return "HostToHost";
    case cudaMemcpyHostToDevice: return "HostToDevice";
    case cudaMemcpyDeviceToHost: return "DeviceToHost";
    case cudaMemcpyDeviceToDevice: return "DeviceToDevice";
    case cudaMemcpyDefault: return "Default";
  }
  return "?";
}

// Host memory the host may read for available bytes (the simulated device cannot back more).
std::size_t host_available_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::size_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return std::size_t{1} << 34;
}

// Marks [p, p + bytes) of device memory initialised (or copies the source's state).
void mark_initialised(State& s, void* p, std::size_t bytes, const void* from_device) {
  sepconv::sim::Allocation* a = s.find(p);
  if (a == nullptr || a->freed) return;
  const auto offset = static_cast<std::size_t>(static_cast<unsigned char*>(p) - a->data);
  const sepconv::sim::Allocation* src = from_device ? s.find(from_device) : nullptr;
  if (src != nullptr && !src->freed) {
    const auto src_offset =
        static_cast<std::size_t>(static_cast<const unsigned char*>(from_device) - src->data);
    std::memmove(a->initialised + offset, src->initialised + src_offset, bytes);
  } else {
    std::memset(a->initialised + offset, 1, bytes);
  }
}

// The copies: kind checked against where the pointers point, device ranges inside live
// allocations, pageable host sources staged at the call (as the runtime does), and CUDA's
// host-synchronisation rules for cudaMemcpy (legacy stream) and cudaMemcpyAsync.
cudaError_t copy(const char* call, void* dst, const void* src, std::size_t bytes,
                 cudaMemcpyKind kind, cudaStream_t handle, bool async) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, call); e != cudaSuccess) return e;
  if (bytes == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) {
    return s.error(cudaErrorInvalidValue, std::string(call) + ": a null pointer");
  }
  const bool dst_device = s.find(dst) != nullptr;
  const bool src_device = s.find(src) != nullptr;
  if (kind == cudaMemcpyDefault) {
    kind = dst_device ? (src_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                      : (src_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  }
  const bool want_dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool want_src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  auto side = [&](const char* which, const void* p, bool device_wanted) -> std::string {
    if (device_wanted) {
      const std::string problem = s.check_range(p, bytes);
      return problem.empty() ? "" : std::string(which) + " " + problem;
    }
    if (s.find(p) != nullptr) return std::string(which) + " " + hex(p) + " is device memory";
    return "";
  };
  for (const std::string& problem :
       {side("the destination", dst, want_dst_device), side("the source", src, want_src_device)}) {
    if (!problem.empty()) {
      return s.error(cudaErrorInvalidValue, std::string(call) + "(" + std::to_string(bytes) +
                                                " bytes, " + kind_name(kind) + "): " + problem);
    }
  }
  Stream* stream = async ? s.stream(handle, call) : s.legacy(State::current_device());
  if (stream == nullptr) return State::last_error();
  const bool host_source = !want_src_device;
  const bool host_destination = !want_dst_device;
  if (stream->capture != nullptr && (host_source || host_destination)) {
    s.invalidate(*stream->capture, std::string(call) + " with pageable host memory");
    return s.error(cudaErrorStreamCaptureUnsupported,
                   std::string(call) + ": a copy from or to pageable host memory cannot be "
                                       "captured (the capture is invalidated)");
  }
  if (!async) {
    if (const cudaError_t e = s.forbid_during_capture(call); e != cudaSuccess) return e;
  }
  if (!async && kind == cudaMemcpyHostToDevice) {
    // "For transfers from pageable host memory to device memory, a stream sync is performed
    // before the copy is initiated": the legacy stream's earlier work runs first.
    if (const cudaError_t e = s.enqueue(*stream, "cudaMemcpy (stream sync)", nullptr); e) return e;
    s.execute(stream->last);
  }
  // Pageable host sources are staged now: the caller may reuse its buffer when the call returns.
  std::shared_ptr<std::vector<unsigned char>> staged;
  if (host_source) {
    const auto* p = static_cast<const unsigned char*>(src);
    staged = std::make_shared<std::vector<unsigned char>>(p, p + bytes);
  }
  State* state = &s;
  const cudaError_t e = s.enqueue(*stream, call, [state, dst, src, bytes, staged, want_dst_device,
                                                  want_src_device] {
    std::memmove(dst, staged ? staged->data() : src, bytes);
    if (want_dst_device) mark_initialised(*state, dst, bytes, want_src_device ? src : nullptr);
  });
  if (e != cudaSuccess) return e;
  ++s.stats.copies;
  // Device to pageable host memory returns once the copy is done, as do host-to-host copies;
  // cudaMemcpy from device memory too. Host to device and device to device may still be in
  // flight when they return.
  if (host_destination) {
    s.execute(stream->last);
    return s.take_fault();
  }
  return cudaSuccess;
}

cudaError_t set(const char* call, void* p, int value, std::size_t bytes, cudaStream_t handle,
                bool async) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, call); e != cudaSuccess) return e;
  if (bytes == 0) return cudaSuccess;
  if (const std::string problem = s.check_range(p, bytes); !problem.empty()) {
    return s.error(cudaErrorInvalidValue, std::string(call) + ": " + problem);
  }
  if (!async) {
    if (const cudaError_t e = s.forbid_during_capture(call); e != cudaSuccess) return e;
  }
  Stream* stream = async ? s.stream(handle, call) : s.legacy(State::current_device());
  if (stream == nullptr) return State::last_error();
  State* state = &s;
  const cudaError_t e = s.enqueue(*stream, call, [state, p, value, bytes] {
    std::memset(p, value, bytes);
    mark_initialised(*state, p, bytes, nullptr);
  });
  if (e == cudaSuccess) ++s.stats.copies;
  return e;
}

}  // namespace

extern "C" {

// ---- errors and versions -------------------------------------------------------------------

cudaError_t cudaGetLastError(void) {
  const cudaError_t e = State::last_error();
  State::last_error() = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError(void) { return State::last_error(); }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorMisalignedAddress: return "cudaErrorMisalignedAddress";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureImplicit: return "cudaErrorStreamCaptureImplicit";
    case cudaErrorStreamCaptureWrongThread: return "cudaErrorStreamCaptureWrongThread";
    case cudaErrorCapturedEvent: return "cudaErrorCapturedEvent";
    default: return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInsufficientDriver:
      return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorMisalignedAddress: return "misaligned address";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
    case cudaErrorStreamCaptureUnsupported:
      return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated:
      return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit:
      return "operation would make the legacy stream depend on a capturing blocking stream";
    case cudaErrorStreamCaptureWrongThread:
      return "attempt to terminate a thread-local capture sequence from another thread";
    case cudaErrorCapturedEvent: return "operation not permitted on an event last recorded in a capturing stream";
    default: return "unknown error";
  }
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (version == nullptr) return cudaErrorInvalidValue;
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  if (version == nullptr) return cudaErrorInvalidValue;
  *version = State::get().has_device() ? CUDART_VERSION : 0;
  return cudaSuccess;
}

// ---- devices -----------------------------------------------------------------------------------

cudaError_t cudaGetDeviceCount(int* count) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (count == nullptr) return s.error(cudaErrorInvalidValue, "cudaGetDeviceCount: count is null");
  *count = 0;
  if (!s.has_device()) {
    return s.error(cudaErrorInsufficientDriver, "cudaGetDeviceCount: no simulated device", false);
  }
  *count = s.device_count();
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaGetDevice"); e != cudaSuccess) return e;
  if (device == nullptr) return s.error(cudaErrorInvalidValue, "cudaGetDevice: device is null");
  *device = State::current_device();
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (!s.has_device()) return require_device(s, "cudaSetDevice");
  if (device < 0 || device >= s.device_count()) {
    return s.error(cudaErrorInvalidDevice, "cudaSetDevice(" + std::to_string(device) +
                                               "): " + std::to_string(s.device_count()) +
                                               " simulated device(s)");
  }
  State::current_device() = device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (!s.has_device()) return require_device(s, "cudaGetDeviceProperties");
  if (prop == nullptr || device < 0 || device >= s.device_count()) {
    return s.error(prop == nullptr ? cudaErrorInvalidValue : cudaErrorInvalidDevice,
                   "cudaGetDeviceProperties: bad arguments");
  }
  const sepconv::sim::Profile& p = s.device_profile();
  std::memset(prop, 0, sizeof *prop);
  std::snprintf(prop->name, sizeof prop->name, "%s", p.name.c_str());
  prop->totalGlobalMem = p.memory;
  prop->sharedMemPerBlock = p.shared_per_block;
  prop->sharedMemPerBlockOptin = p.shared_per_block_optin;
  prop->sharedMemPerMultiprocessor = p.shared_per_multiprocessor;
  prop->regsPerBlock = p.registers_per_block;
  prop->regsPerMultiprocessor = p.registers_per_multiprocessor;
  prop->warpSize = p.warp_size;
  prop->maxThreadsPerBlock = p.max_threads_per_block;
  prop->maxThreadsPerMultiProcessor = p.max_threads_per_multiprocessor;
  for (int i = 0; i < 3; ++i) {
    prop->maxThreadsDim[i] = p.max_block_dim[i];
    prop->maxGridSize[i] = p.max_grid_dim[i];
  }
  prop->major = p.major;
  prop->minor = p.minor;
  prop->multiProcessorCount = p.multiprocessors;
  prop->l2CacheSize = static_cast<int>(p.l2_bytes);
  prop->unifiedAddressing = 1;
  prop->concurrentKernels = 1;
  prop->pciDeviceID = device;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attribute, int device) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (!s.has_device()) return require_device(s, "cudaDeviceGetAttribute");
  if (value == nullptr || device < 0 || device >= s.device_count()) {
    return s.error(value == nullptr ? cudaErrorInvalidValue : cudaErrorInvalidDevice,
                   "cudaDeviceGetAttribute: bad arguments");
  }
  const sepconv::sim::Profile& p = s.device_profile();
  switch (attribute) {
    case cudaDevAttrMaxThreadsPerBlock: *value = p.max_threads_per_block; break;
    case cudaDevAttrMaxBlockDimX: *value = p.max_block_dim[0]; break;
    case cudaDevAttrMaxBlockDimY: *value = p.max_block_dim[1]; break;
    case cudaDevAttrMaxBlockDimZ: *value = p.max_block_dim[2]; break;
    case cudaDevAttrMaxGridDimX: *value = p.max_grid_dim[0]; break;
    case cudaDevAttrMaxGridDimY: *value = p.max_grid_dim[1]; break;
    case cudaDevAttrMaxGridDimZ: *value = p.max_grid_dim[2]; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(p.shared_per_block); break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
      *value = static_cast<int>(p.shared_per_block_optin);
      break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor:
      *value = static_cast<int>(p.shared_per_multiprocessor);
      break;
    case cudaDevAttrMultiProcessorCount: *value = p.multiprocessors; break;
    case cudaDevAttrL2CacheSize: *value = static_cast<int>(p.l2_bytes); break;
    case cudaDevAttrComputeCapabilityMajor: *value = p.major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = p.minor; break;
    case cudaDevAttrWarpSize: *value = p.warp_size; break;
    case cudaDevAttrMaxRegistersPerBlock: *value = p.registers_per_block; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = p.max_threads_per_multiprocessor; break;
    default:
      return s.error(cudaErrorInvalidValue, "cudaDeviceGetAttribute: attribute " +
                                                std::to_string(static_cast<int>(attribute)) +
                                                " is not simulated");
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaDeviceSynchronize"); e != cudaSuccess) return e;
  if (const cudaError_t e = s.forbid_during_capture("cudaDeviceSynchronize"); e) return e;
  s.execute_all(State::current_device());
  return s.take_fault();
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaMemGetInfo"); e != cudaSuccess) return e;
  if (free == nullptr || total == nullptr) {
    return s.error(cudaErrorInvalidValue, "cudaMemGetInfo: null pointer");
  }
  *total = s.device_profile().memory;
  *free = std::min(*total - s.live_bytes(), host_available_bytes());
  return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaFuncSetAttribute"); e != cudaSuccess) return e;
  if (func == nullptr) return s.error(cudaErrorInvalidDeviceFunction, "cudaFuncSetAttribute: null");
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || static_cast<std::size_t>(value) > s.device_profile().shared_per_block_optin) {
      return s.error(cudaErrorInvalidValue,
                     "cudaFuncSetAttribute(MaxDynamicSharedMemorySize, " + std::to_string(value) +
                         "): above the device's " +
                         std::to_string(s.device_profile().shared_per_block_optin) +
                         "-byte opt-in limit");
    }
    s.function_shared_limit[{func, State::current_device()}] = static_cast<std::size_t>(value);
    return cudaSuccess;
  }
  if (attr == cudaFuncAttributePreferredSharedMemoryCarveout) return cudaSuccess;
  return s.error(cudaErrorInvalidValue, "cudaFuncSetAttribute: attribute " +
                                            std::to_string(static_cast<int>(attr)) +
                                            " is not simulated");
}

// ---- memory --------------------------------------------------------------------------------------

cudaError_t cudaMalloc(void** pointer, size_t bytes) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaMalloc"); e != cudaSuccess) return e;
  if (const cudaError_t e = s.forbid_during_capture("cudaMalloc"); e) return e;
  return s.allocate(pointer, bytes);
}

cudaError_t cudaFree(void* pointer) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaFree"); e != cudaSuccess) return e;
  if (const cudaError_t e = s.forbid_during_capture("cudaFree"); e) return e;
  return s.free(pointer);
}

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* pointer) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaPointerGetAttributes"); e != cudaSuccess) return e;
  if (attributes == nullptr || pointer == nullptr) {
    return s.error(cudaErrorInvalidValue, "cudaPointerGetAttributes: null pointer");
  }
  const sepconv::sim::Allocation* a = s.find(pointer);
  if (a != nullptr && a->freed) {
    return s.error(cudaErrorInvalidValue,
                   "cudaPointerGetAttributes(" + hex(pointer) + "): a use after free of " + a->name());
  }
  if (a == nullptr) {
    attributes->type = cudaMemoryTypeUnregistered;
    attributes->device = -2;
    attributes->devicePointer = nullptr;
    attributes->hostPointer = const_cast<void*>(pointer);
  } else {
    attributes->type = cudaMemoryTypeDevice;
    attributes->device = a->device;
    attributes->devicePointer = const_cast<void*>(pointer);
    attributes->hostPointer = nullptr;
  }
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  return copy("cudaMemcpy", dst, src, count, kind, nullptr, false);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  return copy("cudaMemcpyAsync", dst, src, count, kind, stream, true);
}

cudaError_t cudaMemset(void* pointer, int value, size_t count) {
  return set("cudaMemset", pointer, value, count, nullptr, false);
}

cudaError_t cudaMemsetAsync(void* pointer, int value, size_t count, cudaStream_t stream) {
  return set("cudaMemsetAsync", pointer, value, count, stream, true);
}

// ---- streams ---------------------------------------------------------------------------------------

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaStreamCreateWithFlags"); e != cudaSuccess) return e;
  if (stream == nullptr || (flags != cudaStreamDefault && flags != cudaStreamNonBlocking)) {
    return s.error(cudaErrorInvalidValue, "cudaStreamCreateWithFlags: bad arguments");
  }
  auto* created = new Stream;
  created->device = State::current_device();
  created->flags = flags;
  s.streams.insert(created);
  *stream = reinterpret_cast<cudaStream_t>(created);
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t handle) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaStreamDestroy"); e != cudaSuccess) return e;
  if (handle == nullptr || handle == cudaStreamLegacy || handle == cudaStreamPerThread) {
    return s.error(cudaErrorInvalidResourceHandle, "cudaStreamDestroy: a default stream");
  }
  Stream* stream = s.stream(handle, "cudaStreamDestroy");
  if (stream == nullptr) return State::last_error();
  if (stream->capture != nullptr) {
    sepconv::sim::Capture* c = stream->capture;
    s.captures.erase(std::find(s.captures.begin(), s.captures.end(), c));
    delete c;
  }
  // Its pending work still runs when something synchronises with the device.
  s.streams.erase(stream);
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t handle) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaStreamSynchronize"); e != cudaSuccess) return e;
  Stream* stream = s.stream(handle, "cudaStreamSynchronize");
  if (stream == nullptr) return State::last_error();
  if (stream->capture != nullptr) {
    s.invalidate(*stream->capture, "cudaStreamSynchronize of the capturing stream");
    return s.error(cudaErrorStreamCaptureUnsupported,
                   "cudaStreamSynchronize: the stream is being captured (the capture is "
                   "invalidated)");
  }
  if (const cudaError_t e = s.forbid_during_capture("cudaStreamSynchronize"); e) return e;
  if (stream->legacy) {
    // The legacy stream's work waits for the blocking streams': a marker shows what it waits for.
    if (const cudaError_t e = s.enqueue(*stream, "cudaStreamSynchronize", nullptr); e) return e;
  }
  s.execute(stream->last);
  return s.take_fault();
}

cudaError_t cudaStreamGetDevice(cudaStream_t handle, int* device) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaStreamGetDevice"); e != cudaSuccess) return e;
  Stream* stream = s.stream(handle, "cudaStreamGetDevice");
  if (stream == nullptr) return State::last_error();
  if (device == nullptr) return s.error(cudaErrorInvalidValue, "cudaStreamGetDevice: null");
  *device = stream->device;
  return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t handle, cudaEvent_t event_handle, unsigned int) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaStreamWaitEvent"); e != cudaSuccess) return e;
  Stream* stream = s.stream(handle, "cudaStreamWaitEvent");
  if (stream == nullptr) return State::last_error();
  auto* event = reinterpret_cast<Event*>(event_handle);
  if (s.events.count(event) == 0) {
    return s.error(cudaErrorInvalidResourceHandle, "cudaStreamWaitEvent: not a live event");
  }
  if (event->captured || stream->capture != nullptr) {
    return s.error(cudaErrorNotSupported,
                   "cudaStreamWaitEvent: waiting across streams in a capture is not simulated");
  }
  if (!event->recorded) return cudaSuccess;  // never recorded: nothing to wait for
  return s.enqueue(*stream, "cudaStreamWaitEvent", nullptr, event->recorded);
}

// ---- events ----------------------------------------------------------------------------------------

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaEventCreate"); e != cudaSuccess) return e;
  if (event == nullptr) return s.error(cudaErrorInvalidValue, "cudaEventCreate: null");
  auto* created = new Event;
  created->device = State::current_device();
  created->flags = flags;
  s.events.insert(created);
  *event = reinterpret_cast<cudaEvent_t>(created);
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventDestroy(cudaEvent_t handle) {
  State& s = State::get();
  Lock lock(s.mutex);
  auto* event = reinterpret_cast<Event*>(handle);
  if (s.events.erase(event) == 0) {
    return s.error(cudaErrorInvalidResourceHandle, "cudaEventDestroy: not a live event");
  }
  delete event;  // a pending record still runs: it holds the event's time, not the event
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t handle, cudaStream_t stream_handle) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaEventRecord"); e != cudaSuccess) return e;
  auto* event = reinterpret_cast<Event*>(handle);
  if (s.events.count(event) == 0) {
    return s.error(cudaErrorInvalidResourceHandle, "cudaEventRecord: not a live event");
  }
  Stream* stream = s.stream(stream_handle, "cudaEventRecord");
  if (stream == nullptr) return State::last_error();
  auto time = std::make_shared<sepconv::sim::EventTime>();
  const cudaError_t e = s.enqueue(*stream, "cudaEventRecord", [time] {
    time->at = std::chrono::steady_clock::now();
    time->set = true;
  });
  if (e != cudaSuccess) return e;
  event->time = time;
  event->captured = stream->capture != nullptr;
  event->recorded = event->captured ? nullptr : stream->last;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t handle) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaEventSynchronize"); e != cudaSuccess) return e;
  auto* event = reinterpret_cast<Event*>(handle);
  if (s.events.count(event) == 0) {
    return s.error(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: not a live event");
  }
  if (event->captured) {
    return s.error(cudaErrorCapturedEvent, "cudaEventSynchronize: the event was recorded in a capture");
  }
  if (const cudaError_t e = s.forbid_during_capture("cudaEventSynchronize"); e) return e;
  s.execute(event->recorded);
  return s.take_fault();
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  State& s = State::get();
  Lock lock(s.mutex);
  auto* a = reinterpret_cast<Event*>(start);
  auto* b = reinterpret_cast<Event*>(end);
  if (ms == nullptr || s.events.count(a) == 0 || s.events.count(b) == 0) {
    return s.error(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: not live events");
  }
  if ((a->flags | b->flags) & cudaEventDisableTiming) {
    return s.error(cudaErrorInvalidResourceHandle,
                   "cudaEventElapsedTime: an event was created with cudaEventDisableTiming");
  }
  if (a->captured || b->captured) {
    return s.error(cudaErrorCapturedEvent, "cudaEventElapsedTime: an event was recorded in a capture");
  }
  if (!a->time->set || !b->time->set) {
    return s.error(cudaErrorNotReady, "cudaEventElapsedTime: an event has not completed", false);
  }
  // The host time the simulated device spent between the two markers.
  *ms = std::chrono::duration<float, std::milli>(b->time->at - a->time->at).count();
  return cudaSuccess;
}

// ---- graphs ----------------------------------------------------------------------------------------

cudaError_t cudaStreamBeginCapture(cudaStream_t handle, cudaStreamCaptureMode mode) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaStreamBeginCapture"); e != cudaSuccess) return e;
  if (handle == nullptr || handle == cudaStreamLegacy) {
    return s.error(cudaErrorStreamCaptureUnsupported,
                   "cudaStreamBeginCapture: the legacy default stream cannot be captured");
  }
  Stream* stream = s.stream(handle, "cudaStreamBeginCapture");
  if (stream == nullptr) return State::last_error();
  if (stream->capture != nullptr) {
    return s.error(cudaErrorIllegalState, "cudaStreamBeginCapture: already capturing");
  }
  auto* c = new sepconv::sim::Capture;
  c->stream = stream;
  c->graph = std::make_unique<Graph>();
  c->mode = mode;
  c->thread = std::this_thread::get_id();
  stream->capture = c;
  s.captures.push_back(c);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t handle, cudaGraph_t* graph) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaStreamEndCapture"); e != cudaSuccess) return e;
  Stream* stream = s.stream(handle, "cudaStreamEndCapture");
  if (stream == nullptr) return State::last_error();
  if (graph == nullptr) return s.error(cudaErrorInvalidValue, "cudaStreamEndCapture: null graph");
  *graph = nullptr;
  sepconv::sim::Capture* c = stream->capture;
  if (c == nullptr) return s.error(cudaErrorIllegalState, "cudaStreamEndCapture: not capturing");
  if (c->mode != cudaStreamCaptureModeRelaxed && c->thread != std::this_thread::get_id()) {
    return s.error(cudaErrorStreamCaptureWrongThread,
                   "cudaStreamEndCapture: called from another thread than the capture began on");
  }
  stream->capture = nullptr;
  s.captures.erase(std::find(s.captures.begin(), s.captures.end(), c));
  std::unique_ptr<sepconv::sim::Capture> owned(c);
  if (c->invalidated) {
    return s.error(cudaErrorStreamCaptureInvalidated,
                   "cudaStreamEndCapture: the capture was invalidated (" + c->why + ")");
  }
  Graph* g = c->graph.release();
  s.graphs.insert(g);
  *graph = reinterpret_cast<cudaGraph_t>(g);
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t handle, unsigned long long) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaGraphInstantiate"); e != cudaSuccess) return e;
  auto* graph = reinterpret_cast<Graph*>(handle);
  if (exec == nullptr || s.graphs.count(graph) == 0) {
    return s.error(cudaErrorInvalidValue, "cudaGraphInstantiate: not a live graph");
  }
  auto* e = new GraphExec;
  e->device = State::current_device();
  e->nodes = graph->nodes;
  s.execs.insert(e);
  *exec = reinterpret_cast<cudaGraphExec_t>(e);
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t handle, cudaStream_t stream_handle) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (const cudaError_t e = require_device(s, "cudaGraphLaunch"); e != cudaSuccess) return e;
  auto* exec = reinterpret_cast<GraphExec*>(handle);
  if (s.execs.count(exec) == 0) {
    return s.error(cudaErrorInvalidValue, "cudaGraphLaunch: not a live executable graph");
  }
  Stream* stream = s.stream(stream_handle, "cudaGraphLaunch");
  if (stream == nullptr) return State::last_error();
  if (stream->capture != nullptr) {
    return s.error(cudaErrorNotSupported,
                   "cudaGraphLaunch: launching a graph into a capture is not simulated");
  }
  for (const auto& node : exec->nodes) {
    if (const cudaError_t e = s.enqueue(*stream, "graph node: " + node.what, node.run); e) return e;
    if (node.what.rfind("kernel", 0) == 0) ++s.stats.kernel_launches;
  }
  return cudaSuccess;
}

cudaError_t cudaGraphGetNodes(cudaGraph_t handle, cudaGraphNode_t* nodes, size_t* count) {
  State& s = State::get();
  Lock lock(s.mutex);
  auto* graph = reinterpret_cast<Graph*>(handle);
  if (count == nullptr || s.graphs.count(graph) == 0) {
    return s.error(cudaErrorInvalidValue, "cudaGraphGetNodes: not a live graph");
  }
  if (nodes != nullptr) {
    const std::size_t n = std::min(*count, graph->nodes.size());
    for (std::size_t i = 0; i < n; ++i) {
      nodes[i] = reinterpret_cast<cudaGraphNode_t>(&graph->nodes[i]);
    }
  }
  *count = graph->nodes.size();
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t handle) {
  State& s = State::get();
  Lock lock(s.mutex);
  auto* graph = reinterpret_cast<Graph*>(handle);
  if (s.graphs.erase(graph) == 0) {
    return s.error(cudaErrorInvalidValue, "cudaGraphDestroy: not a live graph");
  }
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t handle) {
  State& s = State::get();
  Lock lock(s.mutex);
  auto* exec = reinterpret_cast<GraphExec*>(handle);
  if (s.execs.erase(exec) == 0) {
    return s.error(cudaErrorInvalidValue, "cudaGraphExecDestroy: not a live executable graph");
  }
  delete exec;  // launched work holds copies of its nodes
  return cudaSuccess;
}

}  // extern "C"
