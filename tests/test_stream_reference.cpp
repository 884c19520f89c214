// Streaming on the CPU reference (docs/semantics.md, "Streaming"): random sequences cut into
// random chunkings (one-step chunks included) give the whole sequence's output bit for bit; the
// chunk arithmetic, resets and the errors.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "sepconv/error.h"
#include "sepconv/reference.h"
#include "support/host_tensor.h"
#include "support/stream_cases.h"

namespace sepconv::test {
namespace {

// Streams x through `state` in the given chunks, each chunk's output written into its slice of
// `y` (the whole sequence's output tensor).
void stream(reference::StreamState& state, const HostTensor& x, const HostWeights& w,
            HostTensor& y, const std::vector<std::int64_t>& chunks) {
  const DataFormat f = state.config().data_format;
  std::int64_t position = state.position();
  std::int64_t first_output =
      position == 0 ? 0 : chunk_geometry(state.config(), 0, position).out_length;
  for (const std::int64_t n : chunks) {
    const ChunkGeometry g = chunk_geometry(state.config(), state.position(), n);
    ASSERT_EQ(g.first_output, first_output);
    ASSERT_EQ(state.output_steps(n), g.out_length);
    reference::forward_chunk(state, time_slice(x.view(), f, position, n), w.view(),
                             time_slice(y.view(), f, g.first_output, g.out_length));
    position += n;
    first_output += g.out_length;
    ASSERT_EQ(state.position(), position);
  }
}

// The stream's and the whole forward's outputs, bit for bit (NaN-poisoned first: an output the
// stream did not write stays NaN and differs).
void expect_same_bits(const HostTensor& streamed, const HostTensor& whole, const std::string& what) {
  ASSERT_EQ(streamed.bytes().size(), whole.bytes().size());
  EXPECT_EQ(std::memcmp(streamed.bytes().data(), whole.bytes().data(), whole.bytes().size()), 0)
      << what;
}

TEST(StreamReference, RandomChunkingsEqualTheWholeSequenceBitForBit) {
  std::mt19937_64 rng(1601);
  int cases = 0;
  for (int i = 0; i < 120; ++i) {
    const LayerConfig c = random_stream_config(rng);
    const auto dtype = static_cast<DType>(i % 3);
    const std::int64_t channels = 1 + static_cast<std::int64_t>(rng() % 5);
    const std::int64_t batch = 1 + static_cast<std::int64_t>(rng() % 3);
    const std::int64_t length = effective_kernel_size(c) + static_cast<std::int64_t>(rng() % 24);
    const HostWeights w = random_weights(c, channels, dtype, rng);
    const HostTensor x = random_input(c, batch, length, channels, dtype, rng);
    HostTensor whole = poisoned_output(c, batch, length, dtype);
    reference::forward(c, x.view(), w.view(), whole.view());
    for (const Chunking kind : {Chunking::one_step, Chunking::random, Chunking::whole}) {
      const auto chunks = chunk_lengths(kind, length, 7, rng);
      HostTensor streamed = poisoned_output(c, batch, length, dtype);
      reference::StreamState state(c, channels, batch, dtype);
      stream(state, x, w, streamed, chunks);
      expect_same_bits(streamed, whole, describe(c) + ", " + to_string(kind) + ", " +
                                            std::string(to_string(dtype)));
      ++cases;
    }
  }
  EXPECT_EQ(cases, 360);
}

TEST(StreamReference, ChunksOfAStreamCoverTheWholeOutputOnce) {
  // The outputs of consecutive chunks follow one another and add up to the whole sequence's.
  std::mt19937_64 rng(1602);
  for (int i = 0; i < 400; ++i) {
    const LayerConfig c = random_stream_config(rng);
    const std::int64_t length = 1 + static_cast<std::int64_t>(rng() % 40);
    std::int64_t next = 0;
    std::int64_t position = 0;
    for (const std::int64_t n : chunk_lengths(Chunking::random, length, 9, rng)) {
      const ChunkGeometry g = chunk_geometry(c, position, n);
      ASSERT_EQ(g.first_output, next) << describe(c);
      ASSERT_GE(g.out_length, 0);
      if (g.out_length > 0) {
        // The first output's window ends inside the chunk, the one before it before the chunk.
        const std::int64_t h = stream_history(c);
        const std::int64_t end = position + g.window_start + h;  // its window's last step
        EXPECT_GE(end, position) << describe(c);
        EXPECT_LT(end, position + n) << describe(c);
        EXPECT_EQ(position + g.window_start, g.first_output * c.strides -
                                                 (c.padding == Padding::causal ? h : 0));
      }
      next += g.out_length;
      position += n;
    }
    const std::int64_t effk = effective_kernel_size(c);
    const std::int64_t whole =
        c.padding == Padding::valid && length < effk ? 0 : output_length(c, length);
    EXPECT_EQ(next, whole) << describe(c) << ", length " << length;
  }
}

TEST(StreamReference, ValidPaddingWaitsForAWholeWindow) {
  LayerConfig c;
  c.filters = 2;
  c.kernel_size = 4;
  c.dilation_rate = 2;  // the window is 7 steps
  c.padding = Padding::valid;
  reference::StreamState state(c, 3, 1);
  for (std::int64_t p = 0; p < 6; ++p) EXPECT_EQ(chunk_geometry(c, p, 1).out_length, 0) << p;
  EXPECT_EQ(chunk_geometry(c, 6, 1).out_length, 1);
  EXPECT_EQ(chunk_geometry(c, 0, 7).out_length, 1);
  EXPECT_EQ(chunk_geometry(c, 0, 7).window_start, 0);
  EXPECT_EQ(state.output_steps(6), 0);
  EXPECT_EQ(state.output_steps(9), 3);
}

TEST(StreamReference, StridesGiveAnOutputEverySthStepWhereverChunksEnd) {
  LayerConfig c;
  c.filters = 1;
  c.kernel_size = 3;
  c.strides = 3;
  c.padding = Padding::causal;
  // One-step chunks: outputs at steps 0, 3, 6, ...; a chunk boundary inside a stride keeps the
  // phase.
  for (std::int64_t p = 0; p < 9; ++p) {
    EXPECT_EQ(chunk_geometry(c, p, 1).out_length, p % 3 == 0 ? 1 : 0) << p;
  }
  EXPECT_EQ(chunk_geometry(c, 1, 5).out_length, 1);    // steps 1..5: the output at step 3
  EXPECT_EQ(chunk_geometry(c, 1, 5).first_output, 1);  // (output 1)
  EXPECT_EQ(chunk_geometry(c, 1, 5).window_start, 0);  // its window: steps 1..3
  EXPECT_EQ(chunk_geometry(c, 2, 5).out_length, 2);    // steps 2..6: outputs at 3 and 6
  EXPECT_EQ(chunk_geometry(c, 2, 5).window_start, -1);
  EXPECT_EQ(chunk_geometry(c, 1, 2).out_length, 0);    // steps 1..2: none
}

TEST(StreamReference, ResetStartsEveryRowAnew) {
  std::mt19937_64 rng(1603);
  for (int i = 0; i < 20; ++i) {
    const LayerConfig c = random_stream_config(rng);
    const std::int64_t length = effective_kernel_size(c) + 9;
    const HostWeights w = random_weights(c, 3, DType::f32, rng);
    const HostTensor a = random_input(c, 2, length, 3, DType::f32, rng);
    const HostTensor b = random_input(c, 2, length, 3, DType::f32, rng);
    HostTensor whole = poisoned_output(c, 2, length, DType::f32);
    reference::forward(c, b.view(), w.view(), whole.view());
    reference::StreamState state(c, 3, 2);
    HostTensor scratch = poisoned_output(c, 2, length, DType::f32);
    stream(state, a, w, scratch, chunk_lengths(Chunking::random, length - 2, 4, rng));
    state.reset();
    EXPECT_EQ(state.position(), 0);
    HostTensor streamed = poisoned_output(c, 2, length, DType::f32);
    stream(state, b, w, streamed, chunk_lengths(Chunking::random, length, 4, rng));
    expect_same_bits(streamed, whole, describe(c));
  }
}

// Row 1 restarts at step `r` (a multiple of the stride) with a new sequence; row 0 goes on. The
// outputs of row 1 from the reset on are those of the new sequence; with valid padding, the first
// outputs whose windows start before the reset are not the new sequence's and are skipped.
TEST(StreamReference, ResetRowStartsOneRowAnewOnAStride) {
  std::mt19937_64 rng(1604);
  for (int i = 0; i < 40; ++i) {
    const LayerConfig c = random_stream_config(rng);
    const std::int64_t s = c.strides;
    const std::int64_t effk = effective_kernel_size(c);
    const std::int64_t r = s * (1 + static_cast<std::int64_t>(rng() % 4));  // the reset step
    const std::int64_t fresh = effk + 6;                                      // steps after it
    const std::int64_t length = r + fresh;
    const DataFormat f = c.data_format;
    const HostWeights w = random_weights(c, 2, DType::f32, rng);
    // x: row 0 one sequence of `length` steps; row 1 a sequence of r steps, then a new one.
    const HostTensor x = random_input(c, 2, length, 2, DType::f32, rng);
    HostTensor streamed = poisoned_output(c, 2, length, DType::f32);
    reference::StreamState state(c, 2, 2);
    stream(state, x, w, streamed, chunk_lengths(Chunking::random, r, 3, rng));
    state.reset_row(1);
    stream(state, x, w, streamed, chunk_lengths(Chunking::random, fresh, 3, rng));

    // Row 0 as if nothing happened.
    HostTensor whole = poisoned_output(c, 2, length, DType::f32);
    reference::forward(c, x.view(), w.view(), whole.view());
    const std::int64_t lout = streamed_outputs(c, length);
    for (std::int64_t t = 0; t < lout; ++t) {
      for (std::int64_t k = 0; k < c.filters; ++k) {
        const bool last = f == DataFormat::channels_last;
        EXPECT_EQ(last ? streamed.get(0, t, k) : streamed.get(0, k, t),
                  last ? whole.get(0, t, k) : whole.get(0, k, t));
      }
    }
    // Row 1 after the reset: the new sequence alone (x's row 1 from step r on).
    const ConstTensorView tail = time_slice(x.view(), f, r, fresh);
    ConstTensorView row1 = tail;
    row1.data = static_cast<const unsigned char*>(tail.data) + tail.strides[0] * 4;
    row1.shape[0] = 1;
    HostTensor fresh_out = poisoned_output(c, 1, fresh, DType::f32);
    reference::forward(c, row1, w.view(), fresh_out.view());
    // The new sequence's output t is the stream's output r/s + t.
    const std::int64_t first = r / s;
    const std::int64_t count = output_length(c, fresh);
    ASSERT_EQ(first + count, lout) << describe(c);
    for (std::int64_t t = 0; t < count; ++t) {
      for (std::int64_t k = 0; k < c.filters; ++k) {
        const bool last = f == DataFormat::channels_last;
        const double got = last ? streamed.get(1, first + t, k) : streamed.get(1, k, first + t);
        const double want = last ? fresh_out.get(0, t, k) : fresh_out.get(0, k, t);
        EXPECT_EQ(got, want) << describe(c) << ", output " << t;
      }
    }
  }
}

TEST(StreamReference, ResetRowInsideAStrideIsRefused) {
  LayerConfig c;
  c.filters = 1;
  c.kernel_size = 2;
  c.strides = 2;
  c.padding = Padding::causal;
  reference::StreamState state(c, 1, 2);
  HostWeights w;
  std::mt19937_64 rng(5);
  w = random_weights(c, 1, DType::f32, rng);
  const HostTensor x = random_input(c, 2, 1, 1, DType::f32, rng);
  HostTensor y = poisoned_output(c, 2, 1, DType::f32);
  reference::forward_chunk(state, x.view(), w.view(), y.view());
  try {
    state.reset_row(0);
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "position") << e.what();
    EXPECT_NE(std::string(e.what()).find("inside a stride of 2"), std::string::npos) << e.what();
  }
  try {
    state.reset_row(2);
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "row") << e.what();
  }
}

TEST(StreamReference, SamePaddingAndSoftmaxAlongTimeCannotStream) {
  LayerConfig c;
  c.filters = 2;
  c.kernel_size = 3;
  c.padding = Padding::same;
  try {
    reference::StreamState state(c, 2, 1);
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "padding");
    EXPECT_NE(std::string(e.what()).find("\"causal\" or \"valid\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(static_cast<void>(chunk_geometry(c, 0, 1)), InvalidArgument);
  c.padding = Padding::causal;
  c.data_format = DataFormat::channels_first;
  c.activation = Activation::softmax;
  try {
    reference::StreamState state(c, 2, 1);
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "activation") << e.what();
  }
  c.data_format = DataFormat::channels_last;  // along the filters: streams
  EXPECT_NO_THROW(reference::StreamState(c, 2, 1));
}

TEST(StreamReference, BadChunksAreRefusedBeforeAnythingChanges) {
  LayerConfig c;
  c.filters = 3;
  c.kernel_size = 3;
  c.padding = Padding::causal;
  std::mt19937_64 rng(6);
  const HostWeights w = random_weights(c, 2, DType::f32, rng);
  reference::StreamState state(c, 2, 2);
  const HostTensor x = random_input(c, 2, 4, 2, DType::f32, rng);
  HostTensor y = poisoned_output(c, 2, 4, DType::f32);
  reference::forward_chunk(state, x.view(), w.view(), y.view());
  const auto history = HostTensor::values_of(state.history());
  auto expect_refused = [&](const char* argument, ConstTensorView xv, TensorView yv,
                            const std::string& says = "") {
    HostTensor before = y;
    try {
      reference::forward_chunk(state, xv, w.view(), yv);
      ADD_FAILURE() << "no error for " << argument;
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(e.argument(), argument) << e.what();
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
    EXPECT_EQ(state.position(), 4);
    EXPECT_EQ(HostTensor::values_of(state.history()), history);
    EXPECT_EQ(std::memcmp(before.bytes().data(), y.bytes().data(), y.bytes().size()), 0);
  };
  // Another batch, another dtype, an output of the wrong length.
  const HostTensor one_row = random_input(c, 1, 4, 2, DType::f32, rng);
  HostTensor y1 = poisoned_output(c, 1, 4, DType::f32);
  const HostTensor half = random_input(c, 2, 4, 2, DType::f16, rng);
  expect_refused("x", half.view(), y.view());
  expect_refused("x", one_row.view(), y1.view(), "the stream state's 2 rows of 2 channels");
  expect_refused("y", x.view(), time_slice(y.view(), c.data_format, 0, 3), "(2, 4, 3)");
}

TEST(StreamReference, AStreamShorterThanAValidWindowProducesNothing) {
  LayerConfig c;
  c.filters = 2;
  c.kernel_size = 5;
  c.padding = Padding::valid;
  std::mt19937_64 rng(7);
  const HostWeights w = random_weights(c, 1, DType::bf16, rng);
  reference::StreamState state(c, 1, 1, DType::bf16);
  const HostTensor x = random_input(c, 1, 3, 1, DType::bf16, rng);
  const TensorView none = contiguous_view(static_cast<void*>(nullptr), DType::bf16, {1, 0, 2});
  reference::forward_chunk(state, x.view(), w.view(), none);
  EXPECT_EQ(state.position(), 3);
  EXPECT_EQ(state.output_steps(1), 0);
  EXPECT_EQ(state.output_steps(2), 1);
}

}  // namespace
}  // namespace sepconv::test
