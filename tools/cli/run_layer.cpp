#include "run_layer.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "sepconv/reference.h"
#include "sepconv/version.h"
#include "text.h"
#if SEPCONV_WITH_CUDA
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
  cli::fail("device", cli::str('"', text, '"'), "cpu, gpu or auto");
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
  DeviceBuffer buffer;
  TensorView view;
};

// Copied on `stream`, the stream the forward then runs on: a cudaMemcpy from pageable memory may
// return before its copy lands, unordered with a non-blocking stream.
DeviceCopy to_device(const ConstTensorView& v, int device, cudaStream_t stream) {
  DeviceCopy d;
  const auto bytes = static_cast<std::size_t>(v.span_bytes());
  d.buffer = DeviceBuffer(std::max<std::size_t>(bytes, 1), device);
  if (bytes > 0) {
    cuda_check(cudaMemcpyAsync(d.buffer.data(), v.data, bytes, cudaMemcpyHostToDevice, stream),
               "cudaMemcpyAsync (upload)");
  }
  d.view = {d.buffer.data(), v.dtype, v.rank, v.shape, v.strides};
  return d;
}

// A CUDA stream and two events, destroyed with the run.
struct Timing {
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  Timing() {
    cuda_check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    cuda_check(cudaEventCreate(&start), "cudaEventCreate");
    cuda_check(cudaEventCreate(&stop), "cudaEventCreate");
  }
  ~Timing() {
    static_cast<void>(cudaEventDestroy(stop));
    static_cast<void>(cudaEventDestroy(start));
    static_cast<void>(cudaStreamDestroy(stream));
  }
  Timing(const Timing&) = delete;
  Timing& operator=(const Timing&) = delete;
};

RunInfo run_on_gpu(const LayerConfig& config, const Precision& precision, ConstTensorView x,
                   const Weights& weights, TensorView y) {
  const bool last = config.data_format == DataFormat::channels_last;
  const std::int64_t batch = x.shape[0];
  const std::int64_t length = last ? x.shape[1] : x.shape[2];
  const std::int64_t channels = last ? x.shape[2] : x.shape[1];
  Context context(0);
  SeparableConv1D layer(context, config, channels, precision);
  layer.set_weights(weights);
  context.reserve(layer, batch, length);
  cuda_check(cudaSetDevice(context.device()), "cudaSetDevice");
  const Timing t;
  const DeviceCopy dx = to_device(x, context.device(), t.stream);
  DeviceCopy dy = to_device(y, context.device(), t.stream);

  layer.forward(dx.view, dy.view, t.stream);  // warm-up (module load, plan)
  std::vector<float> times;
  for (int i = 0; i < 5; ++i) {
    cuda_check(cudaEventRecord(t.start, t.stream), "cudaEventRecord");
    layer.forward(dx.view, dy.view, t.stream);
    cuda_check(cudaEventRecord(t.stop, t.stream), "cudaEventRecord");
    cuda_check(cudaEventSynchronize(t.stop), "cudaEventSynchronize");
    float ms = 0;
    cuda_check(cudaEventElapsedTime(&ms, t.start, t.stop), "cudaEventElapsedTime");
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  const auto bytes = static_cast<std::size_t>(y.span_bytes());
  if (bytes > 0) {
    cuda_check(cudaMemcpyAsync(y.data, dy.buffer.data(), bytes, cudaMemcpyDeviceToHost, t.stream),
               "cudaMemcpyAsync (download)");
    cuda_check(cudaStreamSynchronize(t.stream), "cudaStreamSynchronize");
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
