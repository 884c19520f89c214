#include "runtime/device.h"

#include <utility>

#include "detail/cuda_check.h"

namespace sepconv::detail {

DeviceGuard::DeviceGuard(int device) {
  SEPCONV_CUDA_TRY(cudaGetDevice(&previous_));
  if (previous_ != device) {
    SEPCONV_CUDA_TRY(cudaSetDevice(device));
  } else {
    previous_ = -1;  // nothing to restore
  }
}

DeviceGuard::~DeviceGuard() {
  if (previous_ >= 0) static_cast<void>(cudaSetDevice(previous_));
}

Owned<cudaStream_t> make_stream() {
  cudaStream_t stream = nullptr;
  SEPCONV_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return Owned<cudaStream_t>(stream);
}

Owned<cudaEvent_t> make_event() {
  cudaEvent_t event = nullptr;
  SEPCONV_CUDA_TRY(cudaEventCreate(&event));
  return Owned<cudaEvent_t>(event);
}

Owned<cublasLtHandle_t> make_lt_handle() {
  cublasLtHandle_t handle = nullptr;
  SEPCONV_CUBLAS_TRY(cublasLtCreate(&handle));
  return Owned<cublasLtHandle_t>(handle);
}

DeviceLimits read_device_limits(int device) {
  auto attribute = [device](cudaDeviceAttr a) {
    int v = 0;
    SEPCONV_CUDA_TRY(cudaDeviceGetAttribute(&v, a, device));
    return static_cast<std::int64_t>(v);
  };
  DeviceLimits l;
  l.max_threads_per_block = attribute(cudaDevAttrMaxThreadsPerBlock);
  l.max_grid_x = attribute(cudaDevAttrMaxGridDimX);
  l.max_grid_yz = std::min(attribute(cudaDevAttrMaxGridDimY), attribute(cudaDevAttrMaxGridDimZ));
  l.shared_default = attribute(cudaDevAttrMaxSharedMemoryPerBlock);
  l.shared_optin = attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin);
  l.multiprocessors = attribute(cudaDevAttrMultiProcessorCount);
  // Two blocks of the depthwise kernel per multiprocessor (see depthwise_fwd.cu).
  const std::int64_t per_sm = attribute(cudaDevAttrMaxSharedMemoryPerMultiprocessor);
  l.shared_budget = std::min(l.shared_optin, per_sm / 2 - 1024);
  return l;
}

MemoryKind memory_kind(const void* pointer, int* device) {
  cudaPointerAttributes attributes{};
  SEPCONV_CUDA_TRY(cudaPointerGetAttributes(&attributes, pointer));
  if (device != nullptr) *device = attributes.device;
  switch (attributes.type) {
    case cudaMemoryTypeDevice: return MemoryKind::device;
    case cudaMemoryTypeManaged: return MemoryKind::managed;
    default: return MemoryKind::host;
  }
}

}  // namespace sepconv::detail

namespace sepconv {

void cuda_check(cudaError_t status, const char* call) {
  if (status != cudaSuccess) detail::throw_cuda_error(status, call, nullptr, 0);
}

DeviceBuffer::DeviceBuffer(std::size_t bytes, int device) : bytes_(bytes) {
  if (device < 0) SEPCONV_CUDA_TRY(cudaGetDevice(&device));
  device_ = device;
  if (bytes == 0) return;
  detail::DeviceGuard guard(device);
  SEPCONV_CUDA_TRY(cudaMalloc(&data_, bytes));
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      device_(other.device_) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    device_ = other.device_;
  }
  return *this;
}

void DeviceBuffer::release() noexcept {
  if (data_ != nullptr) static_cast<void>(cudaFree(data_));
  data_ = nullptr;
  bytes_ = 0;
}

Workspace::Workspace(const Context& context, std::size_t bytes)
    : DeviceBuffer(bytes, context.device()) {}

}  // namespace sepconv
