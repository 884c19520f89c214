// sepconv_stream_bench — what a real-time user's decode loop costs (docs/benchmarks.md,
// "Streaming"):
//
//   * host time: the CPU time of one call with a cached plan (validation, plan lookup, the
//     launches: what the call costs before the GPU works), for SeparableConv1D::forward of one
//     step and forward_chunk of a one-step chunk, batch 1 and 64. On the simulated device the
//     streams stay deferred (the work is dropped unrun between batches of calls), so the figure is
//     the library's host path plus the simulator's cost of an enqueue: a CPU figure CI can track.
//   * on a GPU: the latency of a one-step chunk at batch 1 and 64 (CUDA events around one call,
//     and around one replay of the call captured into a graph), besides the host times;
//   * without one (a host-only build, or no device): the CPU reference's one-step forward_chunk
//     (the smoke run CI does in the main build).
//
//   sepconv_stream_bench [--runs N] [--max-host-us US] [--out FILE]
//
// --max-host-us: exit 1 when the median host time of a one-step forward_chunk passes US (CI's
// bound on the simulated device). Exit status 0 measured, 1 a bound missed or an error, 2 usage.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "detail/elements.h"
#include "sepconv/reference.h"
#include "sepconv/version.h"
#if SEPCONV_WITH_CUDA
#include <cuda_runtime_api.h>

#include "sepconv/layer.h"
#endif
#if SEPCONV_SIMULATED_DEVICE
#include "sim/control.h"
#endif

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int runs = 2000;
  double max_host_us = 0;  // 0: no bound
  std::string out;
};

struct Row {
  std::string what;
  std::int64_t batch = 0;
  double median_us = 0;
  double p90_us = 0;
  int runs = 0;
};

Row summarize(std::string what, std::int64_t batch, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  Row r{std::move(what), batch, 0, 0, static_cast<int>(us.size())};
  if (!us.empty()) {
    r.median_us = us[us.size() / 2];
    r.p90_us = us[us.size() * 9 / 10];
  }
  return r;
}

// The layer of the runs: a causal layer as a streaming model has it.
sepconv::LayerConfig decode_layer() {
  sepconv::LayerConfig c;
  c.filters = 256;
  c.kernel_size = 4;
  c.padding = sepconv::Padding::causal;
  c.activation = sepconv::Activation::silu;
  return c;
}
constexpr std::int64_t kChannels = 256;

std::vector<unsigned char> random_bytes(sepconv::DType dtype, std::int64_t count,
                                        std::mt19937_64& rng) {
  std::uniform_real_distribution<double> uniform(-1, 1);
  std::vector<unsigned char> b(static_cast<std::size_t>(count) * sepconv::dtype_size(dtype));
  for (std::int64_t i = 0; i < count; ++i) {
    sepconv::detail::store_element(b.data(), dtype, i, uniform(rng));
  }
  return b;
}

// ---- the CPU reference ---------------------------------------------------------------------------

std::vector<Row> run_reference(const Options& o) {
  using namespace sepconv;
  LayerConfig c = decode_layer();
  c.filters = 64;  // the float64 reference is slow: a smaller layer
  const std::int64_t channels = 64;
  std::mt19937_64 rng(1630);
  const auto dw = random_bytes(DType::f32, c.kernel_size * channels, rng);
  const auto pw = random_bytes(DType::f32, channels * c.filters, rng);
  const auto bias = random_bytes(DType::f32, c.filters, rng);
  const Weights w{contiguous_view(static_cast<const void*>(dw.data()), DType::f32,
                                  {c.kernel_size, channels, 1}),
                  contiguous_view(static_cast<const void*>(pw.data()), DType::f32,
                                  {1, channels, c.filters}),
                  contiguous_view(static_cast<const void*>(bias.data()), DType::f32, {c.filters})};
  std::vector<Row> rows;
  for (const std::int64_t batch : {1, 64}) {
    reference::StreamState state(c, channels, batch);
    const auto x = random_bytes(DType::f32, batch * channels, rng);
    std::vector<unsigned char> y(static_cast<std::size_t>(batch * c.filters) * 4);
    const auto xv = contiguous_view(static_cast<const void*>(x.data()), DType::f32, {batch, 1, channels});
    const auto yv = contiguous_view(static_cast<void*>(y.data()), DType::f32, {batch, 1, c.filters});
    std::vector<double> us;
    const int runs = std::max(5, o.runs / (batch == 1 ? 10 : 100));
    for (int i = 0; i < runs; ++i) {
      const auto start = Clock::now();
      reference::forward_chunk(state, xv, w, yv);
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    rows.push_back(summarize("cpu reference: forward_chunk, one step (64 -> 64 channels)", batch,
                             us));
  }
  return rows;
}

// ---- the GPU layer (a GPU or the simulated device) -------------------------------------------------

#if SEPCONV_WITH_CUDA

void check(cudaError_t status, const char* call) { sepconv::cuda_check(status, call); }

// Lets the enqueued work go: on the simulated device it is dropped unrun (the host figure is the
// point, and the simulator would emulate every thread of it); on a GPU it is waited for.
void drain(cudaStream_t stream) {
#if SEPCONV_SIMULATED_DEVICE
  static_cast<void>(stream);
  sepconv::sim::discard_pending();
#else
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
#endif
}

// The host time of `call()`, once per run, in batches of 100 calls between drains (untimed).
template <class Call>
std::vector<double> host_times(int runs, cudaStream_t stream, Call&& call) {
  for (int i = 0; i < 10; ++i) call();  // warm: plans cached, caches hot
  drain(stream);
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    call();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    if (i % 100 == 99) drain(stream);
  }
  drain(stream);
  return us;
}

struct Buffers {
  sepconv::DeviceBuffer x, y;
};

std::vector<Row> run_layer(const Options& o) {
  using namespace sepconv;
  const LayerConfig c = decode_layer();
  Context context(0);
  SeparableConv1D layer(context, c, kChannels);
  std::mt19937_64 rng(1631);
  const auto dw = random_bytes(DType::f32, c.kernel_size * kChannels, rng);
  const auto pw = random_bytes(DType::f32, kChannels * c.filters, rng);
  const auto bias = random_bytes(DType::f32, c.filters, rng);
  layer.set_weights({contiguous_view(static_cast<const void*>(dw.data()), DType::f32,
                                     {c.kernel_size, kChannels, 1}),
                     contiguous_view(static_cast<const void*>(pw.data()), DType::f32,
                                     {1, kChannels, c.filters}),
                     contiguous_view(static_cast<const void*>(bias.data()), DType::f32,
                                     {c.filters})});
  cudaStream_t stream = nullptr;
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  std::vector<Row> rows;
  try {
    for (const std::int64_t batch : {1, 64}) {
      context.reserve(layer, batch, 1);
      Buffers b{DeviceBuffer(static_cast<std::size_t>(batch * kChannels) * 4),
                DeviceBuffer(static_cast<std::size_t>(batch * c.filters) * 4)};
      const auto x = random_bytes(DType::f32, batch * kChannels, rng);
      check(cudaMemcpy(b.x.data(), x.data(), x.size(), cudaMemcpyHostToDevice), "cudaMemcpy");
      const auto xv = contiguous_view(static_cast<const void*>(b.x.data()), DType::f32,
                                      {batch, 1, kChannels});
      const auto yv = contiguous_view(b.y.data(), DType::f32, {batch, 1, c.filters});
      StreamState state(layer, batch, 1);

      rows.push_back(summarize("host: forward, one step (cached plan)", batch,
                               host_times(o.runs, stream, [&] { layer.forward(xv, yv, stream); })));
      rows.push_back(summarize("host: forward_chunk, one step (cached plan)", batch,
                               host_times(o.runs, stream, [&] {
                                 layer.forward_chunk(xv, yv, state, stream);
                               })));
#if !SEPCONV_SIMULATED_DEVICE
      // Device latency: events around one call, and around one replay of it captured.
      cudaEvent_t start = nullptr, stop = nullptr;
      check(cudaEventCreate(&start), "cudaEventCreate");
      check(cudaEventCreate(&stop), "cudaEventCreate");
      auto latency = [&](auto&& enqueue) {
        std::vector<double> us;
        for (int i = 0; i < 20; ++i) enqueue();
        check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
        const int runs = std::max(20, o.runs / 10);
        for (int i = 0; i < runs; ++i) {
          check(cudaEventRecord(start, stream), "cudaEventRecord");
          enqueue();
          check(cudaEventRecord(stop, stream), "cudaEventRecord");
          check(cudaEventSynchronize(stop), "cudaEventSynchronize");
          float ms = 0;
          check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
          us.push_back(ms * 1000.0);
        }
        return us;
      };
      rows.push_back(summarize("gpu: forward_chunk, one step (events around the call)", batch,
                               latency([&] { layer.forward_chunk(xv, yv, state, stream); })));
      cudaGraph_t graph = nullptr;
      cudaGraphExec_t exec = nullptr;
      check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal),
            "cudaStreamBeginCapture");
      layer.forward_chunk(xv, yv, state, stream);
      check(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
      check(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
      rows.push_back(summarize("gpu: one-step chunk as a graph replay (events)", batch,
                               latency([&] {
                                 check(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
                                 state.advance(1);
                               })));
      static_cast<void>(cudaGraphExecDestroy(exec));
      static_cast<void>(cudaGraphDestroy(graph));
      static_cast<void>(cudaEventDestroy(start));
      static_cast<void>(cudaEventDestroy(stop));
#endif
    }
  } catch (...) {
    static_cast<void>(cudaStreamDestroy(stream));
    throw;
  }
  static_cast<void>(cudaStreamDestroy(stream));
  return rows;
}

#endif

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--runs") {
      o.runs = std::stoi(value());
      if (o.runs < 10) throw std::invalid_argument("--runs: at least 10");
    } else if (arg == "--max-host-us") {
      o.max_host_us = std::stod(value());
    } else if (arg == "--out") {
      o.out = value();
    } else if (arg == "--help" || arg == "-h") {
      std::puts("usage: sepconv_stream_bench [--runs N] [--max-host-us US] [--out FILE]");
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown option '" + arg + "'");
    }
  }
  return o;
}

int run(const Options& o) {
  std::vector<Row> rows;
  std::string device = "cpu (the float64 reference)";
#if SEPCONV_WITH_CUDA
  if (sepconv::cuda_device_available()) {
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    device = prop.name;
    rows = run_layer(o);
  }
#endif
  if (rows.empty()) rows = run_reference(o);
  std::printf("sepconv_stream_bench %s on %s: SeparableConv1D(filters=256, kernel_size=4, "
              "causal, silu), 256 input channels, float32%s\n",
              sepconv::version_string(), device.c_str(),
              SEPCONV_SIMULATED_DEVICE ? "; host times with the streams deferred (work dropped unrun)"
                                       : "");
  std::printf("%-62s %6s %10s %10s %6s\n", "what", "batch", "median_us", "p90_us", "runs");
  for (const Row& r : rows) {
    std::printf("%-62s %6lld %10.2f %10.2f %6d\n", r.what.c_str(), static_cast<long long>(r.batch),
                r.median_us, r.p90_us, r.runs);
  }
  if (!o.out.empty()) {
    std::ofstream out(o.out);
    out << "{\"device\": \"" << device << "\", \"rows\": [";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      out << (i ? ", " : "") << "{\"what\": \"" << rows[i].what << "\", \"batch\": " << rows[i].batch
          << ", \"median_us\": " << rows[i].median_us << ", \"p90_us\": " << rows[i].p90_us
          << ", \"runs\": " << rows[i].runs << "}";
    }
    out << "]}\n";
    if (!out) throw std::runtime_error("cannot write " + o.out);
  }
  if (o.max_host_us > 0) {
    for (const Row& r : rows) {
      if (r.what.rfind("host: forward_chunk", 0) == 0 && r.median_us > o.max_host_us) {
        std::fprintf(stderr,
                     "sepconv_stream_bench: the host time of a one-step forward_chunk at batch "
                     "%lld is %.2f us, over the bound of %.2f us\n",
                     static_cast<long long>(r.batch), r.median_us, o.max_host_us);
        return 1;
      }
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sepconv_stream_bench: %s\n", e.what());
    return 2;
  }
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sepconv_stream_bench: %s\n", e.what());
    return 1;
  }
}
