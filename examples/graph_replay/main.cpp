// sepconv example: a SeparableConv1D layer on a user stream, captured into a CUDA graph and
// replayed on new inputs, each result checked against the CPU reference.
//
// Exit status: 0 on success, 1 on a mismatch or error, 77 when there is no CUDA device.
#include <sepconv/layer.h>
#include <sepconv/sepconv.h>

#include <cuda_runtime_api.h>

#include <cstdio>
#include <random>
#include <vector>

namespace {

// Exits with a message when a CUDA runtime call fails (the library itself throws).
void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    std::fprintf(stderr, "%s failed: %s\n", what, cudaGetErrorString(status));
    std::exit(1);
  }
}

std::vector<float> random_vector(std::size_t n, float scale, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (auto& e : v) e = u(rng);
  return v;
}

}  // namespace

int main() {
  if (!sepconv::cuda_device_available()) {
    std::printf("graph_replay: no usable CUDA device; nothing to run\n");
    return 77;
  }
  try {
    // A QuartzNet-like block: 64 channels, kernel 33, same padding, relu.
    sepconv::LayerConfig cfg;
    cfg.filters = 64;
    cfg.kernel_size = 33;
    cfg.padding = sepconv::Padding::same;
    cfg.activation = sepconv::Activation::relu;
    const std::int64_t batch = 4, length = 1000, channels = 64;
    const auto out = sepconv::output_shape(cfg, batch, length);

    std::mt19937 rng(7);
    const auto dw = random_vector(static_cast<std::size_t>(cfg.kernel_size * channels), 0.2f, rng);
    const auto pw = random_vector(static_cast<std::size_t>(channels * cfg.filters), 0.125f, rng);
    const auto bias = random_vector(static_cast<std::size_t>(cfg.filters), 0.1f, rng);
    const sepconv::Weights weights{sepconv::contiguous_view(dw.data(), {cfg.kernel_size, channels, 1}),
                                   sepconv::contiguous_view(pw.data(), {1, channels, cfg.filters}),
                                   sepconv::contiguous_view(bias.data(), {cfg.filters})};

    sepconv::Context ctx(0);
    sepconv::SeparableConv1D layer(ctx, cfg, channels);
    layer.set_weights(weights);             // Keras layouts, from host memory
    ctx.reserve(layer, batch, length);      // all device allocation of the library happens here
    std::printf("%s", layer.describe(batch, length).c_str());

    // Device buffers and a stream of the application's own.
    const std::size_t x_count = static_cast<std::size_t>(batch * length * channels);
    const std::size_t y_count = static_cast<std::size_t>(out[0] * out[1] * out[2]);
    void* dx = nullptr;
    void* dy = nullptr;
    check(cudaMalloc(&dx, x_count * sizeof(float)), "cudaMalloc(x)");
    check(cudaMalloc(&dy, y_count * sizeof(float)), "cudaMalloc(y)");
    cudaStream_t stream = nullptr;
    check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
    const auto x_view = sepconv::contiguous_view(static_cast<const void*>(dx), sepconv::DType::f32,
                                                 {batch, length, channels});
    const auto y_view = sepconv::contiguous_view(dy, sepconv::DType::f32,
                                                 {out[0], out[1], out[2]});

    // One forward before capturing plans the shape (host work stays out of the graph); it reads
    // x, so x holds data first.
    const auto x0 = random_vector(x_count, 1.0f, rng);
    check(cudaMemcpyAsync(dx, x0.data(), x_count * sizeof(float), cudaMemcpyHostToDevice, stream),
          "copy x");
    layer.forward(x_view, y_view, stream);
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "begin capture");
    layer.forward(x_view, y_view, stream);
    check(cudaStreamEndCapture(stream, &graph), "end capture");
    check(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");

    int failures = 0;
    std::vector<float> y(y_count);
    for (int replay = 0; replay < 3; ++replay) {
      const auto x = random_vector(x_count, 1.0f, rng);  // new input, same device buffer
      check(cudaMemcpyAsync(dx, x.data(), x_count * sizeof(float), cudaMemcpyHostToDevice, stream),
            "copy x");
      check(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
      check(cudaMemcpyAsync(y.data(), dy, y_count * sizeof(float), cudaMemcpyDeviceToHost, stream),
            "copy y");
      check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");

      const auto x_host = sepconv::contiguous_view(x.data(), {batch, length, channels});
      const auto ref = sepconv::reference::forward_detail(cfg, x_host, weights);
      const auto report = sepconv::accuracy::compare(cfg, channels, sepconv::DType::f32,
                                                     sepconv::MathMode::exact, ref,
                                                     sepconv::contiguous_view(y.data(), {out[0], out[1], out[2]}));
      std::printf("replay %d: %s\n", replay, report.summary().c_str());
      failures += report.ok() ? 0 : 1;
    }
    check(cudaGraphExecDestroy(exec), "cudaGraphExecDestroy");
    check(cudaGraphDestroy(graph), "cudaGraphDestroy");
    check(cudaStreamDestroy(stream), "cudaStreamDestroy");
    check(cudaFree(dx), "cudaFree");
    check(cudaFree(dy), "cudaFree");
    std::printf(failures == 0 ? "graph_replay: OK\n" : "graph_replay: MISMATCH\n");
    return failures == 0 ? 0 : 1;
  } catch (const sepconv::Error& e) {
    std::fprintf(stderr, "graph_replay: %s\n", e.what());
    return 1;
  }
}
