// The GPU layer for users (label gpu): forward against the reference, CUDA-graph capture and
// replay, two threads on two streams, calls processed in chunks, and the API's errors.
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <thread>

#include "gpu_support.h"
#include "sepconv/accuracy.h"
#include "sepconv/reference.h"

namespace sepconv::test {
namespace {

LayerConfig layer_config(DataFormat format, Activation activation = Activation::gelu) {
  LayerConfig c;
  c.filters = 24;
  c.kernel_size = 7;
  c.padding = Padding::same;
  c.data_format = format;
  c.depth_multiplier = 2;
  c.activation = activation;
  return c;
}

// A layer with random weights and the host copies of them.
struct Fixture {
  Context context{0};
  LayerConfig config;
  std::int64_t channels = 12;
  HostWeights weights;
  SeparableConv1D layer;

  explicit Fixture(const LayerConfig& c, std::uint64_t seed = 1, DType dtype = DType::f32)
      : config(c), weights(make_weights(c, channels, dtype, seed)),
        layer(context, c, channels, Precision{dtype, MathMode::exact}) {
    layer.set_weights(weights.view());
  }
  static HostWeights make_weights(const LayerConfig& c, std::int64_t channels, DType dtype,
                                  std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    return random_weights(c, channels, dtype, rng);
  }
  // Forward of x on a fresh stream with the context's workspace; y is poisoned first and
  // compared with the reference.
  void expect_forward_matches(const HostTensor& x, std::array<std::int64_t, 3> y_slack = {}) {
    const bool last = config.data_format == DataFormat::channels_last;
    const std::int64_t batch = x.shape()[0];
    const std::int64_t length = x.shape()[last ? 1 : 2];
    HostTensor y = poisoned_output(config, batch, length, x.view().dtype, y_slack);
    context.reserve(layer, batch, length);
    DeviceMirror dx(x), dy(y);
    Stream stream;
    layer.forward(dx.view(), dy.view(), stream.get());
    stream.sync();
    dy.download(y);
    expect_matches(x, y);
  }
  // The reference check of a downloaded output.
  void expect_matches(const HostTensor& x, const HostTensor& y) const {
    const auto ref = reference::forward_detail(config, x.view(), weights.view());
    const auto report = accuracy::compare(config, channels, y.view().dtype, MathMode::exact, ref, y.view());
    EXPECT_TRUE(report.ok()) << report.summary();
    EXPECT_EQ(report.checked, y.numel());
  }
};

TEST(LayerGpu, ForwardMatchesTheReferenceInBothFormats) {
  for (auto format : {DataFormat::channels_last, DataFormat::channels_first}) {
    Fixture f(layer_config(format));
    std::mt19937_64 rng(2);
    f.expect_forward_matches(random_input(f.config, 3, 100, f.channels, DType::f32, rng));
  }
}

TEST(LayerGpu, CapturedGraphReplaysWithNewInputs) {
  Fixture f(layer_config(DataFormat::channels_last));
  std::mt19937_64 rng(3);
  HostTensor x = random_input(f.config, 2, 64, f.channels, DType::f32, rng);
  HostTensor y = poisoned_output(f.config, 2, 64, DType::f32);
  f.context.reserve(f.layer, 2, 64);
  DeviceMirror dx(x), dy(y);
  Stream stream;
  f.layer.forward(dx.view(), dy.view(), stream.get());  // plans the shape before capture
  stream.sync();

  const auto graph = CapturedGraph::capture(
      stream.get(), [&] { f.layer.forward(dx.view(), dy.view(), stream.get()); });
  for (int replay = 0; replay < 3; ++replay) {
    x = random_input(f.config, 2, 64, f.channels, DType::f32, rng);  // new data, same buffers
    dx.upload(x);
    y.poison();
    dy.upload(y);
    graph.launch(stream.get());
    stream.sync();
    dy.download(y);
    f.expect_matches(x, y);
  }
}

TEST(LayerGpu, TwoThreadsOnTwoStreamsWithTheirOwnWorkspaces) {
  Fixture f(layer_config(DataFormat::channels_first, Activation::softmax));
  const std::size_t bytes = f.layer.workspace_size(2, 300);
  auto work = [&](std::uint64_t seed, bool* ok) {
    std::mt19937_64 rng(seed);
    Workspace workspace(f.context, bytes);
    Stream stream;
    bool all = true;
    for (int i = 0; i < 5; ++i) {
      const HostTensor x = random_input(f.config, 2, 300, f.channels, DType::f32, rng);
      HostTensor y = poisoned_output(f.config, 2, 300, DType::f32);
      DeviceMirror dx(x), dy(y);
      f.layer.forward(dx.view(), dy.view(), workspace.data(), workspace.bytes(), stream.get());
      stream.sync();
      dy.download(y);
      const auto ref = reference::forward_detail(f.config, x.view(), f.weights.view());
      all &= accuracy::compare(f.config, f.channels, DType::f32, MathMode::exact, ref, y.view()).ok();
    }
    *ok = all;
  };
  bool ok1 = false, ok2 = false;
  std::thread t1(work, 11, &ok1), t2(work, 12, &ok2);
  t1.join();
  t2.join();
  EXPECT_TRUE(ok1);
  EXPECT_TRUE(ok2);
}

TEST(LayerGpu, CallsLargerThanTheWorkspaceRunInChunks) {
  for (auto format : {DataFormat::channels_last, DataFormat::channels_first}) {
    Fixture f(layer_config(format, Activation::tanh));
    std::mt19937_64 rng(4);
    const HostTensor x = random_input(f.config, 4, 500, f.channels, DType::f32, rng);
    DeviceMirror dx(x);
    Stream stream;
    // Whole, a batch at a time (batch chunks), then a fraction of one sample (time chunks).
    for (std::size_t bytes : {f.layer.workspace_size(4, 500), f.layer.workspace_size(1, 500),
                              f.layer.workspace_size(1, 120)}) {
      Workspace workspace(f.context, bytes);
      HostTensor y = poisoned_output(f.config, 4, 500, DType::f32);
      DeviceMirror dy(y);
      f.layer.forward(dx.view(), dy.view(), workspace.data(), workspace.bytes(), stream.get());
      stream.sync();
      dy.download(y);
      f.expect_matches(x, y);
    }
  }
}

TEST(LayerGpu, StridedOutputViewUsesTheBatchedGemm) {
  Fixture f(layer_config(DataFormat::channels_last, Activation::relu));
  std::mt19937_64 rng(5);
  f.expect_forward_matches(random_input(f.config, 3, 50, f.channels, DType::f32, rng, {1, 3, 4}),
                           {2, 5, 8});
}

// A channels_last x whose time stride is not a multiple of the vector width (C = 12, but rows 13
// channels apart) must take the element-wise staging path: a vector load would be misaligned.
TEST(LayerGpu, SlicedInputWhoseChannelStrideDefeatsTheVectorWidth) {
  for (DType dtype : {DType::f32, DType::f16}) {
    LayerConfig c = layer_config(DataFormat::channels_last, Activation::silu);
    Fixture f(c, 8, dtype);
    std::mt19937_64 rng(8);
    f.expect_forward_matches(random_input(f.config, 2, 60, f.channels, dtype, rng, {0, 0, 1}));
  }
}

// channels_first y with padded rows and batches: the GEMM's C has ldc > m and a batch stride of
// its own.
TEST(LayerGpu, StridedChannelsFirstOutputThroughTheGemmsCLayout) {
  Fixture f(layer_config(DataFormat::channels_first, Activation::elu));
  std::mt19937_64 rng(10);
  f.expect_forward_matches(random_input(f.config, 3, 50, f.channels, DType::f32, rng), {1, 2, 6});
}

TEST(LayerGpu, ErrorsBeforeAnyWork) {
  Fixture f(layer_config(DataFormat::channels_last));
  std::mt19937_64 rng(6);
  const HostTensor x = random_input(f.config, 2, 40, f.channels, DType::f32, rng);
  HostTensor y = poisoned_output(f.config, 2, 40, DType::f32);
  DeviceMirror dx(x), dy(y);
  auto argument_of = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const InvalidArgument& e) {
      return e.argument();
    }
    return "(no error)";
  };
  EXPECT_EQ(argument_of([&] { f.layer.forward(dx.view(), dy.view()); }), "workspace");  // no reserve
  f.context.reserve(f.layer, 2, 40);
  EXPECT_EQ(argument_of([&] { f.layer.forward(x.view(), dy.view()); }), "x");  // host memory
  EXPECT_EQ(argument_of([&] { f.layer.forward(dx.view(), y.view()); }), "y");
  EXPECT_EQ(argument_of([&] { Context bad(1 << 20); }), "device");
  LayerConfig c = f.config;
  c.filters = 0;
  EXPECT_EQ(argument_of([&] { SeparableConv1D l(f.context, c, 4); }), "filters");
  SeparableConv1D fresh(f.context, f.config, f.channels);
  EXPECT_EQ(argument_of([&] { fresh.forward(dx.view(), dy.view()); }), "weights");
  HostWeights no_bias = f.weights;
  no_bias.bias = HostTensor();
  EXPECT_EQ(argument_of([&] { fresh.set_weights(no_bias.view()); }), "bias");
  // Nothing was written by the failed calls.
  HostTensor after = y;
  dy.download(after);
  EXPECT_EQ(after.bytes(), y.bytes());
}

TEST(LayerGpu, SoftmaxAlongTimeNeedsOneWholeSample) {
  Fixture f(layer_config(DataFormat::channels_first, Activation::log_softmax));
  std::mt19937_64 rng(7);
  const HostTensor x = random_input(f.config, 2, 400, f.channels, DType::f32, rng);
  HostTensor y = poisoned_output(f.config, 2, 400, DType::f32);
  DeviceMirror dx(x), dy(y);
  Workspace small(f.context, 256);  // less than any whole sample needs
  try {
    f.layer.forward(dx.view(), dy.view(), small.data(), small.bytes());
    ADD_FAILURE() << "a time-split softmax ran";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "workspace");
    EXPECT_NE(std::string(e.what()).find("whole sample"), std::string::npos) << e.what();
  }
}

TEST(LayerGpu, DescribeNamesTheKernelsAndTheGemm) {
  Fixture f(layer_config(DataFormat::channels_first));
  const std::string text = f.layer.describe(8, 1000);
  EXPECT_NE(text.find("depthwise"), std::string::npos) << text;
  EXPECT_NE(text.find("cuBLASLt"), std::string::npos) << text;
  EXPECT_NE(text.find("ones row"), std::string::npos) << text;
}

}  // namespace
}  // namespace sepconv::test

int main(int argc, char** argv) {
  return sepconv::test::run_gpu_tests(argc, argv, "sepconv GPU layer tests");
}
