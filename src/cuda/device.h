// RAII for the CUDA resources the GPU layer owns, and small device queries.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>

#include "host/plan.h"

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

/// Device memory (cudaMalloc / cudaFree). Move-only; freeing never throws.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  /// Allocates `bytes` on the current device (nothing for 0). Throws CudaError.
  explicit DeviceBuffer(std::size_t bytes);
  ~DeviceBuffer() { release(); }
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
  void release() noexcept;

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

/// The limits a plan is checked against, read from the device.
DeviceLimits read_device_limits(int device);

/// Where a pointer lives, as far as the library cares.
enum class MemoryKind { host, device, managed };
/// Classifies a pointer with cudaPointerGetAttributes (pageable host memory is `host`); `device`
/// receives the owning device for device memory.
MemoryKind memory_kind(const void* pointer, int* device = nullptr);

}  // namespace sepconv::detail
