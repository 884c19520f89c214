// RAII for the CUDA resources the GPU layer owns, and small device queries.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>

#include "plan/plan.h"
#include "sepconv/layer.h"

namespace sepconv::detail {

/// Makes `device` current for the scope and restores the caller's device after it, so the library
/// never changes the calling thread's current device behind its back.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

/// Destroys CUDA runtime and cuBLASLt handles (for unique_ptr); never throws.
struct CudaDeleter {
  void operator()(cudaEvent_t e) const noexcept { static_cast<void>(cudaEventDestroy(e)); }
  void operator()(cudaStream_t s) const noexcept { static_cast<void>(cudaStreamDestroy(s)); }
  void operator()(cudaGraph_t g) const noexcept { static_cast<void>(cudaGraphDestroy(g)); }
  void operator()(cudaGraphExec_t g) const noexcept { static_cast<void>(cudaGraphExecDestroy(g)); }
  void operator()(cublasLtHandle_t h) const noexcept { static_cast<void>(cublasLtDestroy(h)); }
};
/// An owned handle: Owned<cudaStream_t>, Owned<cudaEvent_t>, Owned<cublasLtHandle_t>, ...
template <class Handle>
using Owned = std::unique_ptr<std::remove_pointer_t<Handle>, CudaDeleter>;

/// A new non-blocking stream, event, cuBLASLt handle. Throw CudaError / CublasError.
Owned<cudaStream_t> make_stream();
Owned<cudaEvent_t> make_event();
Owned<cublasLtHandle_t> make_lt_handle();

/// The limits a plan is checked against, read from the device.
DeviceLimits read_device_limits(int device);

/// Where a pointer lives, as far as the library cares.
enum class MemoryKind { host, device, managed };
/// Classifies a pointer with cudaPointerGetAttributes (pageable host memory is `host`); `device`
/// receives the owning device for device memory.
MemoryKind memory_kind(const void* pointer, int* device = nullptr);

}  // namespace sepconv::detail
