// The GPU layer under what only the simulated device can arrange (label sim): cuBLASLt heuristics
// that answer "no algorithm" or ask for more workspace at some alignments, problems too large to
// execute (planned and checked, then dropped), weights still being written by another stream,
// a second device, and many threads making the first launches of one kernel.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "gpu_support.h"
#include "sepconv/accuracy.h"
#include "sepconv/reference.h"
#include "sim/control.h"

namespace sepconv::test {
namespace {

LayerConfig config_of(DataFormat format, Activation activation, std::int64_t filters = 12) {
  LayerConfig c;
  c.filters = filters;
  c.kernel_size = 5;
  c.padding = Padding::same;
  c.data_format = format;
  c.depth_multiplier = 2;
  c.activation = activation;
  return c;
}

// Restores the default heuristic at the end of a test.
struct Heuristic {
  explicit Heuristic(sim::HeuristicPolicy policy) { sim::set_heuristic(std::move(policy)); }
  ~Heuristic() { sim::set_heuristic({}); }
  Heuristic(const Heuristic&) = delete;
  Heuristic& operator=(const Heuristic&) = delete;
};

// A forward of a fresh layer on device copies of x and a poisoned y, checked against the
// reference; returns the layer's plan description.
struct LayerRun {
  Context context{0};
  LayerConfig config;
  std::int64_t channels = 8;
  DType dtype = DType::f32;
  HostWeights weights;
  SeparableConv1D layer;
  LayerRun(const LayerConfig& c, DType t, std::uint64_t seed = 1)
      : config(c), dtype(t), weights(make(c, 8, t, seed)), layer(context, c, 8, Precision{t}) {
    layer.set_weights(weights.view());
  }
  static HostWeights make(const LayerConfig& c, std::int64_t channels, DType t, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    return random_weights(c, channels, t, rng);
  }
  // Runs and checks a forward of `batch` x `length`; x and y sliced by the slacks; `workspace`
  // bytes (0: the context's, reserved for batch x length).
  void forward(std::int64_t batch, std::int64_t length, std::array<std::int64_t, 3> x_slack,
               std::array<std::int64_t, 3> y_slack, std::size_t workspace = 0) {
    std::mt19937_64 rng(9);
    const HostTensor x = random_input(config, batch, length, channels, dtype, rng, x_slack);
    HostTensor y = poisoned_output(config, batch, length, dtype, y_slack);
    DeviceMirror dx(x), dy(y);
    Stream stream;
    if (workspace == 0) {
      context.reserve(layer, batch, length);
      layer.forward(dx.view(), dy.view(), stream.get());
    } else {
      Workspace ws(context, workspace);
      layer.forward(dx.view(), dy.view(), ws.data(), ws.bytes(), stream.get());
      stream.sync();
    }
    stream.sync();
    dy.download(y);
    const auto ref = reference::forward_detail(config, x.view(), weights.view());
    const auto report = accuracy::compare(config, channels, dtype, MathMode::exact, ref, y.view());
    EXPECT_TRUE(report.ok()) << report.summary();
    EXPECT_EQ(report.checked, y.numel());
  }
};

// cuBLASLt may have no algorithm for an output less aligned than its kernels need (a float16 y
// sliced one element in is 2-byte aligned): the GEMM then writes an aligned scratch and the pass
// after it copies into y.
TEST(LayerOnSim, AnOutputCublasLtCannotWriteGoesThroughAnAlignedScratch) {
  std::atomic<int> refused{0};
  Heuristic strict([&](const sim::GemmQuery& q) -> std::optional<std::size_t> {
    if (q.align_c < 16 || q.align_d < 16) {
      ++refused;
      return std::nullopt;
    }
    return 0;
  });
  for (auto format : {DataFormat::channels_last, DataFormat::channels_first}) {
    for (DType dtype : {DType::f16, DType::bf16, DType::f32}) {
      LayerRun r(config_of(format, Activation::relu), dtype);
      r.forward(2, 70, {}, {1, 1, 1});
      // Time windows at odd offsets too: a workspace for one sample of 30 steps.
      r.forward(2, 70, {}, {}, r.layer.workspace_size(1, 30));
    }
  }
  EXPECT_GT(refused.load(), 0) << "no misaligned output reached the heuristic";
}

// cuBLASLt may have no algorithm with a bias epilogue (a bias it cannot read, say): the bias
// moves to the elementwise pass after the GEMM, vectorised where y's rows allow.
TEST(LayerOnSim, ABiasEpilogueCublasLtCannotRunMovesToTheElementwisePass) {
  std::atomic<int> refused{0};
  Heuristic no_bias([&](const sim::GemmQuery& q) -> std::optional<std::size_t> {
    if (q.has_bias) {
      ++refused;
      return std::nullopt;
    }
    return 0;
  });
  for (DType dtype : {DType::f32, DType::f16}) {
    for (Activation a : {Activation::gelu, Activation::relu, Activation::softmax}) {
      LayerRun r(config_of(DataFormat::channels_last, a, 16), dtype);
      r.forward(2, 40, {}, {});
      r.forward(2, 40, {}, {0, 1, 8});  // rows 8 elements apart: still 16-byte vectors
      EXPECT_NE(r.layer.describe(2, 40).find("bias: elementwise pass"), std::string::npos)
          << r.layer.describe(2, 40);
    }
  }
  EXPECT_GT(refused.load(), 0);
}

// cuBLASLt may ask for more workspace for a less aligned output: reserve() covers it, so a
// forward of the reserved size runs in one piece (one GEMM) whatever y's alignment.
TEST(LayerOnSim, ReserveCoversTheWorkspaceOfEveryAlignment) {
  Heuristic hungry([](const sim::GemmQuery& q) -> std::optional<std::size_t> {
    return q.align_c < 256 ? std::size_t{1} << 20 : 0;
  });
  for (auto format : {DataFormat::channels_last, DataFormat::channels_first}) {
    LayerRun r(config_of(format, Activation::tanh), DType::f32);
    static_cast<void>(sim::take_matmul_records());
    r.forward(3, 90, {}, {0, 1, 3});  // reserve(3, 90), then y misaligned
    EXPECT_EQ(sim::take_matmul_records().size(), 1u) << "the reserved forward ran in pieces";
    // Chunks: windows at every offset fit a workspace sized for their length.
    r.forward(3, 90, {}, {}, r.layer.workspace_size(1, 40));
  }
}

// channels_last: n = batches x steps of one GEMM; beyond 2^31 - 1 cuBLASLt cannot take it, so
// the forward is cut into windows that fit even when the workspace holds everything. Planned
// and enqueued on virtual memory, checked, and dropped unexecuted (2^31 outputs are too many to
// emulate).
TEST(LayerOnSim, ChannelsLastBeyondInt32ColumnsIsCutIntoWindows) {
  LayerConfig c;
  c.filters = 1;
  c.kernel_size = 1;
  c.use_bias = false;
  Context context(0);
  SeparableConv1D layer(context, c, 1, Precision{DType::f16});
  const std::int64_t batch = 2, length = (std::int64_t{1} << 30) + 1;  // n = 2^31 + 2
  std::vector<std::uint16_t> one{0x3c00};                               // 1.0 in float16
  layer.set_weights({contiguous_view(static_cast<const void*>(one.data()), DType::f16, {1, 1, 1}),
                     contiguous_view(static_cast<const void*>(one.data()), DType::f16, {1, 1, 1}),
                     {}});
  const std::size_t bytes = layer.workspace_size(batch, length);
  const auto elements = static_cast<std::size_t>(batch * length);
  void *x = nullptr, *y = nullptr, *ws = nullptr;
  if (cudaMalloc(&x, elements * 2) != cudaSuccess || cudaMalloc(&y, elements * 2) != cudaSuccess ||
      cudaMalloc(&ws, 2 * bytes) != cudaSuccess) {
    cudaFree(x);
    cudaFree(y);
    GTEST_SKIP() << "this host cannot map " << (elements * 4 + 2 * bytes) << " bytes of "
                 << "simulated device memory";
  }
  static_cast<void>(sim::take_matmul_records());
  Stream stream;
  layer.forward(contiguous_view(static_cast<const void*>(x), DType::f16, {batch, length, 1}),
                contiguous_view(y, DType::f16, {batch, length, 1}), ws, 2 * bytes, stream.get());
  const auto gemms = sim::take_matmul_records();
  sim::discard_pending();
  ASSERT_GE(gemms.size(), 2u);
  std::int64_t columns = 0;
  for (const auto& g : gemms) {
    EXPECT_LE(g.n * g.batch, std::int64_t{2147483647});
    columns += g.n * g.batch;
  }
  EXPECT_EQ(columns, batch * length);
  EXPECT_NE(layer.describe(batch, length).find("windows"), std::string::npos);
  cudaFree(x);
  cudaFree(y);
  cudaFree(ws);
}

// Weights in device memory that another (non-blocking) stream is still writing: set_weights
// reads them after that work, not before.
TEST(LayerOnSim, SetWeightsFromDeviceViewsWaitsForTheWorkWritingThem) {
  const LayerConfig c = config_of(DataFormat::channels_last, Activation::linear);
  const HostWeights host = LayerRun::make(c, 8, DType::f32, 3);
  Context context(0);
  for (bool with_stream : {false, true}) {
    SeparableConv1D layer(context, c, 8);
    DeviceMirror dw(host.depthwise), pw(host.pointwise), b(host.bias);
    // Rewritten on a non-blocking stream, from a poisoned state, without synchronising.
    HostTensor poisoned_pw = host.pointwise;
    poisoned_pw.poison();
    pw.upload(poisoned_pw);
    Stream producer;
    ASSERT_EQ(cudaMemcpyAsync(pw.view().data, host.pointwise.bytes().data(),
                              host.pointwise.bytes().size(), cudaMemcpyHostToDevice,
                              producer.get()),
              cudaSuccess);
    const Weights views{dw.view(), pw.view(), b.view()};
    if (with_stream) {
      layer.set_weights(views, producer.get());
    } else {
      layer.set_weights(views);
    }
    std::mt19937_64 rng(4);
    const HostTensor x = random_input(c, 2, 30, 8, DType::f32, rng);
    HostTensor y = poisoned_output(c, 2, 30, DType::f32);
    DeviceMirror dx(x), dy(y);
    context.reserve(layer, 2, 30);
    Stream stream;
    layer.forward(dx.view(), dy.view(), stream.get());
    stream.sync();
    dy.download(y);
    const auto report = accuracy::compare(c, 8, DType::f32, MathMode::exact,
                                          reference::forward_detail(c, x.view(), host.view()),
                                          y.view());
    EXPECT_TRUE(report.ok()) << (with_stream ? "set_weights(w, stream): " : "set_weights(w): ")
                             << report.summary();
  }
}

// A stream or a workspace of another device is refused, naming the argument.
TEST(LayerOnSim, AStreamOrWorkspaceOfAnotherDeviceIsRefused) {
  int devices = 0;
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  if (devices < 2) GTEST_SKIP() << "needs SEPCONV_SIM_DEVICE_COUNT=2 (CTest sets it)";
  const LayerConfig c = config_of(DataFormat::channels_last, Activation::relu);
  LayerRun r(c, DType::f32);
  std::mt19937_64 rng(5);
  const HostTensor x = random_input(c, 1, 20, 8, DType::f32, rng);
  HostTensor y = poisoned_output(c, 1, 20, DType::f32);
  DeviceMirror dx(x), dy(y);
  r.context.reserve(r.layer, 1, 20);
  auto argument_of = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const InvalidArgument& e) {
      return e.argument();
    }
    return "(no error)";
  };
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  Stream other_stream;  // created on device 1
  Workspace other_workspace;
  void* on_one = nullptr;
  ASSERT_EQ(cudaMalloc(&on_one, 1 << 20), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  EXPECT_EQ(argument_of([&] { r.layer.forward(dx.view(), dy.view(), other_stream.get()); }),
            "stream");
  EXPECT_EQ(argument_of([&] {
              r.layer.forward(dx.view(), dy.view(), on_one, std::size_t{1} << 20, nullptr);
            }),
            "workspace");
  HostTensor after = y;
  dy.download(after);
  EXPECT_EQ(after.bytes(), y.bytes()) << "a refused forward wrote y";
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  cudaFree(on_one);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
}

// Many threads make the first launches of one depthwise variant with different dynamic
// shared-memory sizes above 48 KB at once: every launch finds the kernel's limit raised far
// enough (the simulated device refuses a launch above it).
TEST(LayerOnSim, FirstLaunchesOfOneKernelFromManyThreadsAllFindTheirSharedMemory) {
  Context context(0);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      try {
        LayerConfig c = config_of(DataFormat::channels_last, Activation::linear, 4);
        c.kernel_size = 40 + 37 * i;  // a different tile, and shared memory, per thread
        c.depth_multiplier = 1;
        SeparableConv1D layer(context, c, 64);
        std::mt19937_64 rng(static_cast<std::uint64_t>(i));
        layer.set_weights(random_weights(c, 64, DType::f32, rng).view());
        const HostTensor x = random_input(c, 1, 900, 64, DType::f32, rng);
        HostTensor y = poisoned_output(c, 1, 900, DType::f32);
        DeviceMirror dx(x), dy(y);
        Workspace ws(context, layer.workspace_size(1, 900));
        Stream stream;
        layer.forward(dx.view(), dy.view(), ws.data(), ws.bytes(), stream.get());
        stream.sync();
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << "thread " << i << ": " << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace sepconv::test

int main(int argc, char** argv) {
  return sepconv::test::run_gpu_tests(argc, argv, "sepconv layer on the simulated device");
}
