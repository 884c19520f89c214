#include "run_layer.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "detail/checks.h"
#include "sepconv/reference.h"
#include "sepconv/version.h"
#if SEPCONV_WITH_CUDA
#include "runtime/check.h"
#include "runtime/device.h"
#include "sepconv/layer.h"
#endif

namespace sepconv::cli {

std::string_view to_string(Device device) noexcept {
  switch (device) {
    case Device::cpu: return "cpu";
    case Device::gpu: return "gpu";
    case Device::automatic: return "auto";
  }
  return "?";
}

Device parse_device(std::string_view text) {
  if (text == "cpu") return Device::cpu;
  if (text == "gpu") return Device::gpu;
  if (text == "auto") return Device::automatic;
  detail::fail("device", detail::str('"', text, '"'), "cpu, gpu or auto");
}

namespace {

bool gpu_usable() {
#if SEPCONV_WITH_CUDA
  return cuda_device_available();
#else
  return false;
#endif
}

#if SEPCONV_WITH_CUDA
// A device copy of a host view: the bytes its elements span, with the same strides.
struct DeviceCopy {
  detail::DeviceBuffer buffer;
  TensorView view;
};

// Copied on `stream`, the stream the forward then runs on: a cudaMemcpy from pageable memory may
// return before its copy lands, unordered with a non-blocking stream.
DeviceCopy to_device(const ConstTensorView& v, cudaStream_t stream) {
  DeviceCopy d;
  const auto range = detail::byte_range(v);
  d.buffer = detail::DeviceBuffer(std::max<std::size_t>(range.end - range.begin, 1));
  if (range.end > range.begin) {
    SEPCONV_CUDA_TRY(cudaMemcpyAsync(d.buffer.data(), v.data, range.end - range.begin,
                                     cudaMemcpyHostToDevice, stream));
  }
  d.view = {d.buffer.data(), v.dtype, v.rank, v.shape, v.strides};
  return d;
}

RunInfo run_on_gpu(const LayerConfig& config, const Precision& precision, ConstTensorView x,
                   const Weights& weights, TensorView y) {
  const bool last = config.data_format == DataFormat::channels_last;
  const std::int64_t batch = x.shape[0];
  const std::int64_t length = last ? x.shape[1] : x.shape[2];
  const std::int64_t channels = last ? x.shape[2] : x.shape[1];
  Context context(0);
  detail::DeviceGuard guard(context.device());
  SeparableConv1D layer(context, config, channels, precision);
  layer.set_weights(weights);
  context.reserve(layer, batch, length);
  const auto owned_stream = detail::make_stream();
  const auto owned_start = detail::make_event();
  const auto owned_stop = detail::make_event();
  cudaStream_t stream = owned_stream.get();
  const DeviceCopy dx = to_device(x, stream);
  DeviceCopy dy = to_device(y, stream);
  cudaEvent_t start = owned_start.get();
  cudaEvent_t stop = owned_stop.get();

  layer.forward(dx.view, dy.view, stream);  // warm-up (module load, plan)
  std::vector<float> times;
  for (int i = 0; i < 5; ++i) {
    SEPCONV_CUDA_TRY(cudaEventRecord(start, stream));
    layer.forward(dx.view, dy.view, stream);
    SEPCONV_CUDA_TRY(cudaEventRecord(stop, stream));
    SEPCONV_CUDA_TRY(cudaEventSynchronize(stop));
    float ms = 0;
    SEPCONV_CUDA_TRY(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  const auto range = detail::byte_range(y);
  if (range.end > range.begin) {
    SEPCONV_CUDA_TRY(cudaMemcpyAsync(y.data, dy.buffer.data(), range.end - range.begin,
                                     cudaMemcpyDeviceToHost, stream));
    SEPCONV_CUDA_TRY(cudaStreamSynchronize(stream));
  }
  return {Device::gpu, times[times.size() / 2], context.describe()};
}
#endif

}  // namespace

RunInfo run_layer(const LayerConfig& config, const Precision& precision, ConstTensorView x,
                  const Weights& weights, TensorView y, Device device) {
  validate(precision);
  validate_forward(config, precision.dtype, x, weights, y);
  if (device == Device::automatic) device = gpu_usable() ? Device::gpu : Device::cpu;
  if (device == Device::gpu) {
#if SEPCONV_WITH_CUDA
    if (!gpu_usable()) {
      throw Unsupported("sepconv: --device gpu: no usable CUDA device on this machine; use "
                        "--device cpu (or auto)");
    }
    return run_on_gpu(config, precision, x, weights, y);
#else
    throw Unsupported("sepconv: --device gpu: this build has no CUDA kernels "
                      "(SEPCONV_ENABLE_CUDA=OFF); use --device cpu (or auto)");
#endif
  }
  const auto start = std::chrono::steady_clock::now();
  reference::forward(config, x, weights, y);
  const auto stop = std::chrono::steady_clock::now();
  return {Device::cpu, std::chrono::duration<double, std::milli>(stop - start).count(), {}};
}

}  // namespace sepconv::cli
