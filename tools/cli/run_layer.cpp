#include "run_layer.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <type_traits>
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

}  // namespace

Device resolve_device(Device device) {
  if (device == Device::automatic) return gpu_usable() ? Device::gpu : Device::cpu;
  if (device == Device::gpu && !gpu_usable()) {
#if SEPCONV_WITH_CUDA
    throw Unsupported("sepconv: --device gpu: no usable CUDA device on this machine; use "
                      "--device cpu (or auto)");
#else
    throw Unsupported("sepconv: --device gpu: this build has no CUDA kernels "
                      "(SEPCONV_ENABLE_CUDA=OFF); use --device cpu (or auto)");
#endif
  }
  return device;
}

namespace {

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

// The median time of 5 runs of `run` on t.stream, after a warm-up run (module load, plan).
template <class Run>
float median_of_5(const Timing& t, Run&& run) {
  run();
  std::vector<float> times;
  for (int i = 0; i < 5; ++i) {
    cuda_check(cudaEventRecord(t.start, t.stream), "cudaEventRecord");
    run();
    cuda_check(cudaEventRecord(t.stop, t.stream), "cudaEventRecord");
    cuda_check(cudaEventSynchronize(t.stop), "cudaEventSynchronize");
    float ms = 0;
    cuda_check(cudaEventElapsedTime(&ms, t.start, t.stop), "cudaEventElapsedTime");
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Copies the device result back into the host view y and waits for it.
void download(const DeviceCopy& dy, const TensorView& y, cudaStream_t stream) {
  const auto bytes = static_cast<std::size_t>(y.span_bytes());
  if (bytes > 0) {
    cuda_check(cudaMemcpyAsync(y.data, dy.buffer.data(), bytes, cudaMemcpyDeviceToHost, stream),
               "cudaMemcpyAsync (download)");
  }
  cuda_check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
}

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

  const float ms = median_of_5(t, [&] { layer.forward(dx.view, dy.view, t.stream); });
  download(dy, y, t.stream);
  return {Device::gpu, ms, context.describe()};
}
#endif

}  // namespace

RunInfo run_layer(const LayerConfig& config, const Precision& precision, ConstTensorView x,
                  const Weights& weights, TensorView y, Device device) {
  validate(precision);
  validate_forward(config, precision.dtype, x, weights, y);
  if (resolve_device(device) == Device::gpu) {
#if SEPCONV_WITH_CUDA
    return run_on_gpu(config, precision, x, weights, y);
#endif
  }
  const auto start = std::chrono::steady_clock::now();
  reference::forward(config, x, weights, y);
  const auto stop = std::chrono::steady_clock::now();
  return {Device::cpu, std::chrono::duration<double, std::milli>(stop - start).count(), {}};
}

// ---- --chunk N: the layer as a stream ------------------------------------------------------------

namespace {

// The view of steps [begin, begin + count) of x or y (public API only: the CLI's own).
template <class View>
View steps_of(View v, DataFormat format, std::int64_t begin, std::int64_t count) {
  const int axis = format == DataFormat::channels_last ? 1 : 2;
  using Byte = std::conditional_t<std::is_same_v<View, ConstTensorView>, const unsigned char,
                                  unsigned char>;
  v.data = static_cast<Byte*>(v.data) +
           begin * v.strides[axis] * static_cast<std::int64_t>(dtype_size(v.dtype));
  v.shape[axis] = count;
  return v;
}

// Cuts x into chunks of `chunk` steps and calls run_chunk(x_chunk, y_chunk) for each in order,
// y_chunk the slice of y its outputs fill (chunk_geometry: possibly none).
template <class RunChunk>
void for_each_chunk(const LayerConfig& config, ConstTensorView x, TensorView y, std::int64_t chunk,
                    RunChunk&& run_chunk) {
  const DataFormat f = config.data_format;
  const std::int64_t length = x.shape[f == DataFormat::channels_last ? 1 : 2];
  std::int64_t out = 0;
  for (std::int64_t step = 0; step < length; step += chunk) {
    const std::int64_t n = std::min(chunk, length - step);
    const std::int64_t m = chunk_geometry(config, step, n).out_length;
    run_chunk(steps_of(x, f, step, n), steps_of(y, f, out, m));
    out += m;
  }
}

#if SEPCONV_WITH_CUDA
RunInfo run_chunked_on_gpu(const LayerConfig& config, const Precision& precision,
                           ConstTensorView x, const Weights& weights, TensorView y,
                           std::int64_t chunk) {
  const bool last = config.data_format == DataFormat::channels_last;
  const std::int64_t batch = x.shape[0];
  const std::int64_t length = last ? x.shape[1] : x.shape[2];
  Context context(0);
  if (batch == 0 || length == 0) return {Device::gpu, 0, context.describe()};  // nothing to run
  SeparableConv1D layer(context, config, last ? x.shape[2] : x.shape[1], precision);
  layer.set_weights(weights);
  StreamState state(layer, batch, std::min(chunk, length));
  cuda_check(cudaSetDevice(context.device()), "cudaSetDevice");
  const Timing t;
  const DeviceCopy dx = to_device(x, context.device(), t.stream);
  DeviceCopy dy = to_device(y, context.device(), t.stream);
  const float ms = median_of_5(t, [&] {
    state.reset(t.stream);
    for_each_chunk(config, dx.view, dy.view, chunk, [&](ConstTensorView xc, TensorView yc) {
      layer.forward_chunk(xc, yc, state, t.stream);
    });
  });
  download(dy, y, t.stream);
  return {Device::gpu, ms, context.describe()};
}
#endif

}  // namespace

RunInfo run_layer_chunked(const LayerConfig& config, const Precision& precision, ConstTensorView x,
                          const Weights& weights, TensorView y, Device device, std::int64_t chunk) {
  validate(precision);
  validate_forward(config, precision.dtype, x, weights, y);
  if (chunk < 1) cli::fail("chunk", cli::str(chunk), "at least 1 step");
  static_cast<void>(chunk_geometry(config, 0, 1));  // refuses a layer that cannot stream
  if (resolve_device(device) == Device::gpu) {
#if SEPCONV_WITH_CUDA
    return run_chunked_on_gpu(config, precision, x, weights, y, chunk);
#endif
  }
  const auto start = std::chrono::steady_clock::now();
  const bool last = config.data_format == DataFormat::channels_last;
  if (x.shape[0] > 0) {
    reference::StreamState state(config, last ? x.shape[2] : x.shape[1], x.shape[0],
                                 precision.dtype);
    for_each_chunk(config, x, y, chunk, [&](ConstTensorView xc, TensorView yc) {
      reference::forward_chunk(state, xc, weights, yc);
    });
  }
  const auto stop = std::chrono::steady_clock::now();
  return {Device::cpu, std::chrono::duration<double, std::milli>(stop - start).count(), {}};
}

}  // namespace sepconv::cli
