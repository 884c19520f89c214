// Streaming on the GPU (label gpu; sim on the simulated device): random sequences cut into random
// chunkings (one-step chunks, chunks longer than the state's max_chunk) against the whole-sequence
// forward and the reference, a captured one-step decode loop replayed, per-row resets on the
// device, and the errors.
//
// "Equal" means: bit for bit on the simulated device, where every kernel path computes each output
// the same way whatever the chunk (its GEMM sums in one order for any problem size); on a GPU,
// cuBLASLt may choose another algorithm for another chunk length, so the stream and the whole
// forward are each checked against the float64 reference with the accuracy bound.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <random>

#include "gpu_support.h"
#include "sepconv/accuracy.h"
#include "sepconv/reference.h"
#include "sepconv/version.h"
#include "support/stream_cases.h"
#if SEPCONV_SIMULATED_DEVICE
#include "sim/control.h"
#endif

namespace sepconv::test {
namespace {

constexpr bool kBitwise = SEPCONV_SIMULATED_DEVICE != 0;

// Kernels enqueued so far on the simulated device (0 on a GPU, where the checks that use it hold
// trivially).
std::int64_t sim_kernel_launches() {
#if SEPCONV_SIMULATED_DEVICE
  return sim::stats().kernel_launches;
#else
  return 0;
#endif
}

// The argument an InvalidArgument from `call` names, or "(no error)".
template <class Call>
std::string argument_of(Call&& call) {
  try {
    call();
  } catch (const InvalidArgument& e) {
    return e.argument();
  }
  return "(no error)";
}

// The precisions the cases rotate through: every dtype and mode, and float32 intermediates.
Precision precision_of(int i) {
  switch (i % 7) {
    case 0: return {DType::f32, MathMode::exact};
    case 1: return {DType::f32, MathMode::tf32};
    case 2: return {DType::f16, MathMode::exact};
    case 3: return {DType::bf16, MathMode::exact};
    case 4: return {DType::f16, MathMode::exact, true};
    case 5: return {DType::bf16, MathMode::tf32, true};
    default: return {DType::f16, MathMode::tf32, true};
  }
}

std::string describe(const LayerConfig& c, const Precision& p) {
  return test::describe(c) + ", " + std::string(to_string(p.dtype)) + " " +
         std::string(to_string(p.math)) + (p.float32_intermediate ? " f32-intermediate" : "");
}

struct Layer {
  LayerConfig config;
  Precision precision;
  std::int64_t channels;
  Context context{0};
  HostWeights weights;
  SeparableConv1D layer;
  Layer(const LayerConfig& c, const Precision& p, std::int64_t in_channels, std::mt19937_64& rng)
      : config(c), precision(p), channels(in_channels),
        weights(random_weights(c, in_channels, p.dtype, rng)),
        layer(context, c, in_channels, p) {
    layer.set_weights(weights.view());
  }
};

// The whole-sequence forward on the device (poisoned output first).
HostTensor whole_forward(Layer& l, const HostTensor& x, Stream& stream) {
  const bool last = l.config.data_format == DataFormat::channels_last;
  const std::int64_t batch = x.shape()[0];
  const std::int64_t length = x.shape()[last ? 1 : 2];
  HostTensor y = poisoned_output(l.config, batch, length, l.precision.dtype);
  l.context.reserve(l.layer, batch, length);
  DeviceMirror dx(x), dy(y);
  l.layer.forward(dx.view(), dy.view(), stream.get());
  stream.sync();
  dy.download(y);
  return y;
}

// True when every element of y (a poisoned output) from output step `from` on is still NaN.
bool untouched_from(const HostTensor& y, DataFormat format, std::int64_t from) {
  const bool last = format == DataFormat::channels_last;
  const auto& shape = y.shape();
  for (std::int64_t b = 0; b < shape[0]; ++b)
    for (std::int64_t t = from; t < shape[last ? 1 : 2]; ++t)
      for (std::int64_t f = 0; f < shape[last ? 2 : 1]; ++f) {
        if (!std::isnan(last ? y.get(b, t, f) : y.get(b, f, t))) return false;
      }
  return true;
}

// Streams the device copy of x through `state` in `chunks`, each chunk's outputs written into its
// slice of the device copy of `y` (the whole output, poisoned), and downloads y. After each chunk
// the outputs after its slice must still be poisoned (a chunk writes its own outputs only).
void stream_chunks(Layer& l, StreamState& state, const DeviceMirror& dx, DeviceMirror& dy,
                   HostTensor& y, const std::vector<std::int64_t>& chunks, Stream& stream) {
  const DataFormat f = l.config.data_format;
  std::int64_t step = state.position();
  std::int64_t out = step == 0 ? 0 : chunk_geometry(l.config, 0, step).out_length;
  for (const std::int64_t n : chunks) {
    const std::int64_t m = state.output_steps(n);
    l.layer.forward_chunk(time_slice(ConstTensorView(dx.view()), f, step, n),
                          time_slice(dy.view(), f, out, m), state, stream.get());
    step += n;
    out += m;
    ASSERT_EQ(state.position(), step);
    stream.sync();
    dy.download(y);
    ASSERT_TRUE(untouched_from(y, f, out)) << "a chunk of " << n << " steps wrote past its "
                                           << m << " outputs, before step " << step;
  }
}

// y (a downloaded stream's output) against the whole forward's and the reference.
void expect_stream_output(const Layer& l, const HostTensor& x, const HostTensor& streamed,
                          const HostTensor& whole, const std::string& what) {
  if (kBitwise) {
    ASSERT_EQ(streamed.bytes().size(), whole.bytes().size());
    EXPECT_EQ(std::memcmp(streamed.bytes().data(), whole.bytes().data(), whole.bytes().size()), 0)
        << what;
  }
  const auto ref = reference::forward_detail(l.config, x.view(), l.weights.view());
  const auto report = accuracy::compare(l.config, l.channels, l.precision, ref, streamed.view());
  EXPECT_TRUE(report.ok()) << what << ": " << report.summary();
  EXPECT_EQ(report.checked, streamed.numel()) << what;
}

TEST(StreamGpu, RandomChunkingsEqualTheWholeForward) {
  std::mt19937_64 rng(1611);
  int cases = 0;
  for (int i = 0; i < 30; ++i) {
    const LayerConfig c = random_stream_config(rng);
    const Precision p = precision_of(i);
    const std::int64_t channels = 1 + static_cast<std::int64_t>(rng() % 9);
    const std::int64_t batch = 1 + static_cast<std::int64_t>(rng() % 3);
    const std::int64_t length = effective_kernel_size(c) + 1 + static_cast<std::int64_t>(rng() % 14);
    Layer l(c, p, channels, rng);
    Stream stream;
    // Sliced inputs now and then: chunk views with strides of a larger tensor.
    const std::array<std::int64_t, 3> slack =
        i % 3 == 0 ? std::array<std::int64_t, 3>{1, 2, 3} : std::array<std::int64_t, 3>{};
    const HostTensor x = random_input(c, batch, length, channels, p.dtype, rng, slack);
    const HostTensor whole = whole_forward(l, x, stream);
    const DeviceMirror dx(x);
    const std::int64_t max_chunk = 1 + static_cast<std::int64_t>(rng() % 5);
    for (const Chunking kind : {Chunking::one_step, Chunking::random, Chunking::whole}) {
      // Random chunks up to 9 steps: longer ones run in pieces of max_chunk.
      const auto chunks = chunk_lengths(kind, length, 9, rng);
      StreamState state(l.layer, batch, kind == Chunking::one_step ? 1 : max_chunk);
      HostTensor streamed = poisoned_output(c, batch, length, p.dtype);
      DeviceMirror dy(streamed);
      stream_chunks(l, state, dx, dy, streamed, chunks, stream);
      expect_stream_output(l, x, streamed, whole,
                           describe(c, p) + ", " + to_string(kind) + ", max_chunk " +
                               std::to_string(state.max_chunk()));
      ++cases;
    }
  }
  EXPECT_EQ(cases, 90);
}

// Chunks of one length that start at every stride phase: the same number of outputs, each phase
// its own windows (and so its own plan).
TEST(StreamGpu, ChunksOfOneLengthAtEveryStridePhase) {
  std::mt19937_64 rng(1619);
  for (const std::int64_t s : {2, 3}) {
    for (const Padding padding : {Padding::causal, Padding::valid}) {
      LayerConfig c;
      c.filters = 3;
      c.kernel_size = 3;
      c.strides = s;
      c.padding = padding;
      c.data_format = s == 2 ? DataFormat::channels_last : DataFormat::channels_first;
      Layer l(c, {DType::f32}, 2, rng);
      Stream stream;
      const std::int64_t length = 24;
      const HostTensor x = random_input(c, 1, length, 2, DType::f32, rng);
      const HostTensor whole = whole_forward(l, x, stream);
      // s = 2: lengths 2, 1, 2, 1, ...: the 2-step chunks start at steps 0, 3, 6, ... (phases 0,
      // 1); s = 3: 2-step chunks start at phases 0, 2, 1.
      std::vector<std::int64_t> chunks;
      for (std::int64_t done = 0; done < length;) {
        const std::int64_t n = s == 2 && chunks.size() % 2 == 1 ? 1 : 2;
        chunks.push_back(n);
        done += n;
      }
      StreamState state(l.layer, 1, 2);
      const DeviceMirror dx(x);
      HostTensor streamed = poisoned_output(c, 1, length, DType::f32);
      DeviceMirror dy(streamed);
      stream_chunks(l, state, dx, dy, streamed, chunks, stream);
      expect_stream_output(l, x, streamed, whole,
                           "strides " + std::to_string(s) + ", " + std::string(to_string(padding)));
    }
  }
}

TEST(StreamGpu, TheHistoryHoldsTheLastStepsOfTheStream) {
  std::mt19937_64 rng(1612);
  for (const DataFormat format : {DataFormat::channels_last, DataFormat::channels_first}) {
    LayerConfig c;
    c.filters = 3;
    c.kernel_size = 4;
    c.dilation_rate = 2;  // 6 steps of history
    c.padding = Padding::causal;
    c.data_format = format;
    Layer l(c, {DType::bf16}, 5, rng);
    Stream stream;
    const HostTensor x = random_input(c, 2, 11, 5, DType::bf16, rng);
    const DeviceMirror dx(x);
    HostTensor y = poisoned_output(c, 2, 11, DType::bf16);
    DeviceMirror dy(y);
    StreamState state(l.layer, 2, 3);
    // Chunks shorter than the history (the carry overlaps it), then longer.
    stream_chunks(l, state, dx, dy, y, {2, 1, 3, 5}, stream);
    const ConstTensorView h = state.history();
    ASSERT_EQ(h.numel(), 2 * 6 * 5);
    std::vector<unsigned char> bytes(static_cast<std::size_t>(h.numel()) * 2);
    SEPCONV_CUDA_TRY(cudaMemcpy(bytes.data(), h.data, bytes.size(), cudaMemcpyDeviceToHost));
    const ConstTensorView host{bytes.data(), h.dtype, 3, h.shape, h.strides};
    const bool last = format == DataFormat::channels_last;
    for (std::int64_t b = 0; b < 2; ++b) {
      for (std::int64_t t = 0; t < 6; ++t) {
        for (std::int64_t ch = 0; ch < 5; ++ch) {
          const double got = detail::load_element(host.data, host.dtype,
                                                  last ? host.offset(b, t, ch) : host.offset(b, ch, t));
          EXPECT_EQ(got, last ? x.get(b, 5 + t, ch) : x.get(b, ch, 5 + t)) << b << " " << t;
        }
      }
    }
  }
}

// A real-time user's loop: one-step chunks captured once into a CUDA graph and replayed for every
// new step (with strides s, the graph holds s one-step calls: one stride, one output).
TEST(StreamGpu, CapturedOneStepDecodeLoopReplays) {
  std::mt19937_64 rng(1613);
  for (const std::int64_t s : {1, 2}) {
    for (const DataFormat format : {DataFormat::channels_last, DataFormat::channels_first}) {
      LayerConfig c;
      c.filters = 6;
      c.kernel_size = 5;
      c.strides = s;
      c.padding = Padding::causal;
      c.data_format = format;
      c.activation = Activation::silu;
      const std::int64_t batch = 2;
      const std::int64_t channels = 4;
      const std::int64_t length = 8 * s;
      Layer l(c, {DType::f32}, channels, rng);
      Stream stream;
      const HostTensor x = random_input(c, batch, length, channels, DType::f32, rng);
      const HostTensor whole = whole_forward(l, x, stream);

      // Fixed device buffers: s input steps, one output step.
      HostTensor x_steps(DType::f32, {batch, format == DataFormat::channels_last ? s : channels,
                                      format == DataFormat::channels_last ? channels : s});
      HostTensor y_step = poisoned_output(c, batch, 1, DType::f32);
      DeviceMirror dxs(x_steps), dys(y_step);
      StreamState state(l.layer, batch, 1);
      auto one_stride = [&] {  // s one-step calls: the first (phase 0) has the output
        for (std::int64_t i = 0; i < s; ++i) {
          const std::int64_t m = state.output_steps(1);
          ASSERT_EQ(m, i == 0 ? 1 : 0);
          l.layer.forward_chunk(time_slice(ConstTensorView(dxs.view()), format, i, 1),
                                time_slice(dys.view(), format, 0, m), state, stream.get());
        }
      };
      HostTensor streamed = poisoned_output(c, batch, length, DType::f32);
      auto feed = [&](std::int64_t stride) {  // input steps of this stride into the buffer
        for (std::int64_t b = 0; b < batch; ++b)
          for (std::int64_t i = 0; i < s; ++i)
            for (std::int64_t ch = 0; ch < channels; ++ch) {
              const bool last = format == DataFormat::channels_last;
              const double v = last ? x.get(b, stride * s + i, ch) : x.get(b, ch, stride * s + i);
              last ? x_steps.set(b, i, ch, v) : x_steps.set(b, ch, i, v);
            }
        dxs.upload(x_steps);
      };
      auto collect = [&](std::int64_t stride) {
        stream.sync();
        dys.download(y_step);
        for (std::int64_t b = 0; b < batch; ++b)
          for (std::int64_t f = 0; f < c.filters; ++f) {
            const bool last = format == DataFormat::channels_last;
            const double v = last ? y_step.get(b, 0, f) : y_step.get(b, f, 0);
            last ? streamed.set(b, stride, f, v) : streamed.set(b, f, stride, v);
          }
        y_step.poison();
        dys.upload(y_step);
      };
      // The first stride directly (it plans the one-step chunks), then a graph of one stride.
      feed(0);
      one_stride();
      collect(0);
      const auto graph = CapturedGraph::capture(stream.get(), one_stride);
      // The call with the output: assemble, depthwise, GEMM, the activation pass, carry; each
      // call without one: the two copies.
      EXPECT_EQ(graph.nodes(), static_cast<std::size_t>(5 + 2 * (s - 1)));
      EXPECT_EQ(state.position(), 2 * s);  // the captured calls count as calls
      for (std::int64_t stride = 1; stride < length / s; ++stride) {
        feed(stride);
        graph.launch(stream.get());
        if (stride > 1) state.advance(s);  // later replays repeat the captured calls
        collect(stride);
      }
      EXPECT_EQ(state.position(), length);
      expect_stream_output(l, x, streamed, whole,
                           "decode loop, strides " + std::to_string(s) + ", " +
                               std::string(to_string(format)));
    }
  }
}

TEST(StreamGpu, ResetRowOnTheDeviceStartsThatRowAnew) {
  std::mt19937_64 rng(1614);
  for (const Padding padding : {Padding::causal, Padding::valid}) {
    LayerConfig c;
    c.filters = 5;
    c.kernel_size = 3;
    c.strides = 2;
    c.padding = padding;
    c.data_format = DataFormat::channels_first;
    c.activation = Activation::tanh;
    const std::int64_t r = 6, fresh = 9, length = r + fresh;
    Layer l(c, {DType::f32}, 3, rng);
    Stream stream;
    const HostTensor x = random_input(c, 2, length, 3, DType::f32, rng);
    const DeviceMirror dx(x);
    HostTensor y = poisoned_output(c, 2, length, DType::f32);
    DeviceMirror dy(y);
    StreamState state(l.layer, 2, 4);
    stream_chunks(l, state, dx, dy, y, {1, 4, 1}, stream);
    state.reset_row(1, stream.get());
    stream_chunks(l, state, dx, dy, y, {3, 1, 5}, stream);

    // Row 0 went on: the whole sequence's outputs.
    const HostTensor whole = whole_forward(l, x, stream);
    const std::int64_t lout = streamed_outputs(c, length);
    for (std::int64_t t = 0; t < lout; ++t)
      for (std::int64_t f = 0; f < c.filters; ++f) {
        if (kBitwise) {
          EXPECT_EQ(y.get(0, f, t), whole.get(0, f, t)) << t;
        }
      }
    // Row 1 from output r/s on: its new sequence's (x's row 1 from step r) outputs.
    HostTensor row1(DType::f32, {1, 3, fresh});
    for (std::int64_t ch = 0; ch < 3; ++ch)
      for (std::int64_t t = 0; t < fresh; ++t) row1.set(0, ch, t, x.get(1, ch, r + t));
    const HostTensor fresh_out = whole_forward(l, row1, stream);
    const std::int64_t count = output_length(c, fresh);
    ASSERT_EQ(r / 2 + count, lout);
    HostTensor got(DType::f32, {1, c.filters, count});
    for (std::int64_t f = 0; f < c.filters; ++f)
      for (std::int64_t t = 0; t < count; ++t) got.set(0, f, t, y.get(1, f, r / 2 + t));
    expect_stream_output(l, row1, got, fresh_out, std::string("reset_row, ") +
                                                     std::string(to_string(padding)));
    // Row 0 against the reference too (on a GPU the bitwise check above does not apply).
    HostTensor row0(DType::f32, {1, 3, length});
    HostTensor got0(DType::f32, {1, c.filters, lout});
    for (std::int64_t ch = 0; ch < 3; ++ch)
      for (std::int64_t t = 0; t < length; ++t) row0.set(0, ch, t, x.get(0, ch, t));
    for (std::int64_t f = 0; f < c.filters; ++f)
      for (std::int64_t t = 0; t < lout; ++t) got0.set(0, f, t, y.get(0, f, t));
    const auto ref = reference::forward_detail(c, row0.view(), l.weights.view());
    const auto report = accuracy::compare(c, 3, l.precision, ref, got0.view());
    EXPECT_TRUE(report.ok()) << report.summary();
  }
}

TEST(StreamGpu, ResetStartsEveryRowAnew) {
  std::mt19937_64 rng(1615);
  LayerConfig c;
  c.filters = 4;
  c.kernel_size = 4;
  c.padding = Padding::valid;
  c.activation = Activation::relu;
  Layer l(c, {DType::f16}, 6, rng);
  Stream stream;
  const HostTensor a = random_input(c, 3, 10, 6, DType::f16, rng);
  const HostTensor b = random_input(c, 3, 12, 6, DType::f16, rng);
  StreamState state(l.layer, 3, 2);
  const DeviceMirror da(a), db(b);
  HostTensor ya = poisoned_output(c, 3, 10, DType::f16);
  DeviceMirror dya(ya);
  stream_chunks(l, state, da, dya, ya, {3, 3, 2}, stream);  // a part of a
  state.reset(stream.get());
  EXPECT_EQ(state.position(), 0);
  HostTensor yb = poisoned_output(c, 3, 12, DType::f16);
  DeviceMirror dyb(yb);
  stream_chunks(l, state, db, dyb, yb, {1, 1, 5, 5}, stream);
  expect_stream_output(l, b, yb, whole_forward(l, b, stream), "reset");
}

TEST(StreamGpu, ChunksWithoutOutputsOnlyCarryTheHistory) {
  std::mt19937_64 rng(1616);
  LayerConfig c;
  c.filters = 2;
  c.kernel_size = 6;
  c.padding = Padding::valid;
  Layer l(c, {DType::f32}, 2, rng);
  Stream stream;
  StreamState state(l.layer, 1, 8);
  const HostTensor x = random_input(c, 1, 9, 2, DType::f32, rng);
  const DeviceMirror dx(x);
  const std::int64_t launches = sim_kernel_launches();
  const TensorView none = contiguous_view(static_cast<void*>(nullptr), DType::f32, {1, 0, 2});
  l.layer.forward_chunk(time_slice(ConstTensorView(dx.view()), c.data_format, 0, 4), none, state,
                        stream.get());
  if (kBitwise) {
    EXPECT_EQ(sim_kernel_launches() - launches, 2);  // the two copies alone
  }
  EXPECT_EQ(state.position(), 4);
  HostTensor y = poisoned_output(c, 1, 9, DType::f32);
  DeviceMirror dy(y);
  stream_chunks(l, state, dx, dy, y, {5}, stream);
  HostTensor got(DType::f32, {1, 4, 2});
  for (std::int64_t t = 0; t < 4; ++t)
    for (std::int64_t f = 0; f < 2; ++f) got.set(0, t, f, y.get(0, t, f));
  expect_stream_output(l, x, got, whole_forward(l, x, stream), "valid warm-up");
}

TEST(StreamGpu, DescribeChunkNamesTheStreamingSteps) {
  std::mt19937_64 rng(1617);
  LayerConfig c;
  c.filters = 8;
  c.kernel_size = 3;
  c.padding = Padding::causal;
  Layer l(c, {DType::f32}, 8, rng);
  const std::string text = l.layer.describe_chunk(1, 1);
  EXPECT_NE(text.find("strategy: streaming chunk"), std::string::npos) << text;
  EXPECT_NE(text.find("stream copy (history, x -> [history | chunk])"), std::string::npos) << text;
  EXPECT_NE(text.find("depthwise ([history | chunk] -> D)"), std::string::npos) << text;
  EXPECT_NE(text.find("stream copy ([history | chunk], [history | chunk] -> history)"),
            std::string::npos)
      << text;
}

// The state's accessors, its workspace (what chunk_workspace_size says), moves in the middle of a
// stream (the moved-to state goes on where the other stopped), and the errors of the state's own
// calls (chunk_workspace_size, reset_row, advance), each before anything is enqueued.
TEST(StreamGpu, StateAccessorsMovesAndTheirErrors) {
  std::mt19937_64 rng(1621);
  LayerConfig c;
  c.filters = 4;
  c.kernel_size = 3;
  c.dilation_rate = 2;
  c.padding = Padding::causal;
  c.data_format = DataFormat::channels_first;
  c.activation = Activation::gelu;
  const std::int64_t batch = 3, channels = 5, length = 17;
  Layer l(c, {DType::bf16}, channels, rng);
  Stream stream;
  StreamState first(l.layer, batch, 4);
  EXPECT_EQ(first.batch(), batch);
  EXPECT_EQ(first.max_chunk(), 4);
  EXPECT_EQ(first.workspace_bytes(), l.layer.chunk_workspace_size(batch, 4));
  EXPECT_GE(l.layer.chunk_workspace_size(batch, 64), l.layer.chunk_workspace_size(batch, 4));
  const ConstTensorView h = first.history();
  EXPECT_EQ(h.dtype, DType::bf16);
  EXPECT_EQ((std::array<std::int64_t, 3>{h.shape[0], h.shape[1], h.shape[2]}),
            (std::array<std::int64_t, 3>{batch, channels, stream_history(c)}));

  const HostTensor x = random_input(c, batch, length, channels, DType::bf16, rng);
  const DeviceMirror dx(x);
  HostTensor y = poisoned_output(c, batch, length, DType::bf16);
  DeviceMirror dy(y);
  stream_chunks(l, first, dx, dy, y, {3, 1}, stream);
  StreamState second(std::move(first));  // the history and position move with it
  EXPECT_EQ(second.position(), 4);
  stream_chunks(l, second, dx, dy, y, {6, 2}, stream);
  StreamState third(l.layer, 1);
  third = std::move(second);
  EXPECT_EQ(third.batch(), batch);
  EXPECT_EQ(third.max_chunk(), 4);
  stream_chunks(l, third, dx, dy, y, {1, 4}, stream);
  expect_stream_output(l, x, y, whole_forward(l, x, stream), "moved states");

  const std::int64_t launches = sim_kernel_launches();
  EXPECT_EQ(argument_of([&] { static_cast<void>(l.layer.chunk_workspace_size(batch, 0)); }),
            "max_chunk");
  EXPECT_EQ(argument_of([&] { static_cast<void>(l.layer.chunk_workspace_size(0, 4)); }), "batch");
  EXPECT_EQ(argument_of([&] {
              static_cast<void>(l.layer.chunk_workspace_size(batch, std::int64_t{1} << 40));
            }),
            "max_chunk");
  EXPECT_EQ(argument_of([&] { third.reset_row(batch, stream.get()); }), "row");
  EXPECT_EQ(argument_of([&] { third.reset_row(-1, stream.get()); }), "row");
  EXPECT_EQ(argument_of([&] { third.advance(-1); }), "steps");
  EXPECT_EQ(third.position(), length);
  LayerConfig strided = c;
  strided.dilation_rate = 1;
  strided.strides = 2;
  SeparableConv1D strided_layer(l.context, strided, channels, Precision{DType::bf16});
  StreamState odd(strided_layer, 1);
  odd.advance(3);  // inside a stride
  EXPECT_EQ(argument_of([&] { odd.reset_row(0, stream.get()); }), "position");
  EXPECT_EQ(odd.output_steps(1), 0);  // step 3 ends no window (outputs end on even steps)
  EXPECT_EQ(odd.output_steps(2), 1);  // step 4 ends output 2's
  EXPECT_EQ(sim_kernel_launches(), launches);
  stream.sync();
}

// describe_chunk at a stride phase without an output (the copies alone) and for a layer without
// history (k = 1: the two-kernel steps on the chunk itself, nothing copied).
TEST(StreamGpu, DescribeChunkAtAPhaseAndWithoutHistory) {
  std::mt19937_64 rng(1627);
  LayerConfig c;
  c.filters = 4;
  c.kernel_size = 3;
  c.strides = 3;
  c.padding = Padding::causal;
  Layer strided(c, {DType::f32}, 4, rng);
  const std::string between = strided.layer.describe_chunk(2, 1, 1);  // step 1: no window ends
  EXPECT_NE(between.find("stream copy"), std::string::npos) << between;
  EXPECT_EQ(between.find("depthwise"), std::string::npos) << between;
  const std::string at = strided.layer.describe_chunk(2, 1, 3);  // step 3: output 1
  EXPECT_NE(at.find("depthwise ([history | chunk] -> D)"), std::string::npos) << at;
  c.kernel_size = 1;
  c.strides = 1;
  Layer pointwise(c, {DType::f32}, 4, rng);
  const std::string plain = pointwise.layer.describe_chunk(1, 5);
  EXPECT_NE(plain.find("strategy: streaming chunk"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("stream copy"), std::string::npos) << plain;
}

TEST(StreamGpu, ErrorsBeforeAnyWork) {
  std::mt19937_64 rng(1618);
  LayerConfig c;
  c.filters = 3;
  c.kernel_size = 3;
  c.padding = Padding::causal;
  Layer l(c, {DType::f32}, 2, rng);
  Stream stream;
  LayerConfig same = c;
  same.padding = Padding::same;
  SeparableConv1D same_layer(l.context, same, 2);
  EXPECT_EQ(argument_of([&] { StreamState s(same_layer, 1); }), "padding");
  EXPECT_EQ(argument_of([&] { StreamState s(l.layer, 0); }), "batch");
  EXPECT_EQ(argument_of([&] { StreamState s(l.layer, 1, 0); }), "max_chunk");

  StreamState state(l.layer, 2, 4);
  const HostTensor x = random_input(c, 2, 3, 2, DType::f32, rng);
  HostTensor y = poisoned_output(c, 2, 3, DType::f32);
  DeviceMirror dx(x), dy(y);
  const std::int64_t launches = sim_kernel_launches();
  SeparableConv1D other(l.context, c, 2);
  other.set_weights(l.weights.view());
  EXPECT_EQ(argument_of([&] { other.forward_chunk(dx.view(), dy.view(), state); }), "state");
  EXPECT_EQ(argument_of([&] { l.layer.forward_chunk(x.view(), dy.view(), state); }), "x");
  EXPECT_EQ(argument_of([&] { l.layer.forward_chunk(dx.view(), y.view(), state); }), "y");
  EXPECT_EQ(argument_of([&] {
              l.layer.forward_chunk(dx.view(), time_slice(dy.view(), c.data_format, 0, 2), state);
            }),
            "y");
  StreamState one_row(l.layer, 1);
  EXPECT_EQ(argument_of([&] { l.layer.forward_chunk(dx.view(), dy.view(), one_row); }), "x");
  EXPECT_EQ(sim_kernel_launches(), launches);
  EXPECT_EQ(state.position(), 0);
  HostTensor after = y;
  dy.download(after);
  EXPECT_EQ(after.bytes(), y.bytes());
}

}  // namespace
}  // namespace sepconv::test

int main(int argc, char** argv) {
  return sepconv::test::run_gpu_tests(argc, argv, "sepconv GPU streaming tests");
}
