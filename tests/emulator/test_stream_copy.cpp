// The streaming strategy's copies on the host (label emulator): the plans make_plan makes for a
// streaming chunk, their copy steps run through checked memory (bounds, alignment, initialisation,
// every destination byte written exactly once): [history | chunk] assembled in the workspace, and
// the last d*(k-1) steps carried into the history, for chunks shorter and longer than the history,
// sliced inputs, 2- and 4-byte elements, and grids small enough for several grid-stride steps.
#include <gtest/gtest.h>

#include <random>
#include <variant>

#include "detail/elements.h"
#include "detail/stream.h"
#include "emulator/checked_memory.h"
#include "kernels/stream/stream_copy.h"
#include "plan/plan.h"
#include "support/host_tensor.h"
#include "support/stream_cases.h"

namespace sepconv::test {
namespace {

struct Copies {
  const detail::StreamCopyStep* assemble = nullptr;
  const detail::StreamCopyStep* carry = nullptr;
  std::int64_t input_offset = 0;  // the [history | chunk] slice
  std::int64_t input_bytes = 0;
};

Copies copies_of(const detail::Plan& plan) {
  Copies c;
  for (const auto& step : plan.steps) {
    if (const auto* s = std::get_if<detail::StreamCopyStep>(&step)) {
      (s->dst == detail::Buffer::history ? c.carry : c.assemble) = s;
    }
  }
  for (const auto& slice : plan.workspace) {
    if (slice.buffer == detail::Buffer::stream_input) {
      c.input_offset = slice.offset;
      c.input_bytes = slice.bytes;
    }
  }
  return c;
}

TEST(StreamCopy, AssemblesAndCarriesEveryElementOnce) {
  std::mt19937_64 rng(1620);
  int runs = 0;
  for (int i = 0; i < 80; ++i) {
    LayerConfig c = random_stream_config(rng);
    c.kernel_size = 2 + static_cast<std::int64_t>(rng() % 5);  // a history of 1 step or more
    const auto dtype = static_cast<DType>(i % 3);
    const std::int64_t batch = 1 + static_cast<std::int64_t>(rng() % 3);
    const std::int64_t channels = 1 + static_cast<std::int64_t>(rng() % 6);
    const std::int64_t h = stream_history(c);
    const std::int64_t position = static_cast<std::int64_t>(rng() % 7);
    const std::int64_t steps = 1 + static_cast<std::int64_t>(rng() % (2 * h + 2));
    const bool last = c.data_format == DataFormat::channels_last;
    const std::array<std::int64_t, 3> slack =
        i % 2 == 0 ? std::array<std::int64_t, 3>{1, 3, 2} : std::array<std::int64_t, 3>{};
    const HostTensor x = random_input(c, batch, steps, channels, dtype, rng, slack);
    HostTensor history = random_input(c, batch, h, channels, dtype, rng);  // (B, h, C) / (B, C, h)

    detail::PlanRequest r;
    r.config = c;
    r.precision.dtype = dtype;
    r.shape = detail::chunk_shape(c, batch, channels, position, steps);
    r.stream = true;
    for (int a = 0; a < 3; ++a) {
      r.x_strides[a] = x.view().strides[a];
    }
    r.y_strides[0] = r.shape.geometry.out_length * c.filters;
    r.y_strides[1] = last ? c.filters : r.shape.geometry.out_length;
    r.y_strides[2] = 1;
    detail::DeviceLimits limits;
    limits.max_grid_x = 1 + static_cast<std::int64_t>(rng() % 3);  // several grid-stride steps
    const detail::Plan plan = detail::make_plan(r, limits);
    const Copies copies = copies_of(plan);
    ASSERT_NE(copies.assemble, nullptr) << plan.describe();
    ASSERT_NE(copies.carry, nullptr) << plan.describe();
    ASSERT_GT(copies.input_bytes, 0);

    std::vector<unsigned char> workspace(static_cast<std::size_t>(plan.workspace_bytes()), 0xff);
    unsigned char* input = workspace.data() + copies.input_offset;
    const HostTensor old_history = history;
    {
      emulator::CheckedMemory memory;
      memory.add_global("history", history.bytes().data(), history.bytes().size(), false);
      memory.add_global("x", x.bytes().data(), x.bytes().size(), false);
      memory.add_global("input", input, static_cast<std::size_t>(copies.input_bytes), true);
      detail::stream_copy_host(copies.assemble->plan, history.view().data, x.view().data, input,
                               memory);
      ASSERT_EQ(memory.error_count(), 0) << memory.errors().front();
      // Every element of [history | chunk] written once; the channels_first row padding never.
      const auto& writes = memory.writes("input");
      const auto& p = copies.assemble->plan;
      std::int64_t written = 0;
      for (const std::uint32_t w : writes) {
        ASSERT_LE(w, 1u);
        written += w;
      }
      EXPECT_EQ(written, batch * (h + steps) * channels * static_cast<std::int64_t>(dtype_size(dtype)));
      for (std::int64_t b = 0; b < batch; ++b) {
        for (std::int64_t t = 0; t < h + steps; ++t) {
          for (std::int64_t ch = 0; ch < channels; ++ch) {
            const std::int64_t at = last ? b * p.dst_strides[0] + t * p.dst_strides[1] + ch
                                         : b * p.dst_strides[0] + ch * p.dst_strides[1] + t;
            const double want = t < h ? (last ? old_history.get(b, t, ch) : old_history.get(b, ch, t))
                                      : (last ? x.get(b, t - h, ch) : x.get(b, ch, t - h));
            ASSERT_EQ(detail::load_element(input, dtype, at), want) << describe(c);
          }
        }
      }
    }
    {
      emulator::CheckedMemory memory;
      memory.add_global("input", input, static_cast<std::size_t>(copies.input_bytes), false);
      memory.add_global("history", history.bytes().data(), history.bytes().size(), true);
      detail::stream_copy_host(copies.carry->plan, nullptr, input, history.view().data, memory);
      ASSERT_EQ(memory.error_count(), 0) << memory.errors().front();
      for (const std::uint32_t w : memory.writes("history")) ASSERT_EQ(w, 1u);
      // The new history: the last h steps of [old history | chunk].
      for (std::int64_t b = 0; b < batch; ++b) {
        for (std::int64_t t = 0; t < h; ++t) {
          for (std::int64_t ch = 0; ch < channels; ++ch) {
            const std::int64_t u = t + steps;  // step of [old history | chunk]
            const double want = u < h ? (last ? old_history.get(b, u, ch) : old_history.get(b, ch, u))
                                      : (last ? x.get(b, u - h, ch) : x.get(b, ch, u - h));
            ASSERT_EQ(last ? history.get(b, t, ch) : history.get(b, ch, t), want) << describe(c);
          }
        }
      }
    }
    ++runs;
  }
  EXPECT_EQ(runs, 80);
}

TEST(StreamCopy, WithoutHistoryTheDepthwiseStepReadsTheChunk) {
  LayerConfig c;
  c.filters = 4;
  c.kernel_size = 1;
  c.strides = 2;
  c.padding = Padding::causal;
  detail::PlanRequest r;
  r.config = c;
  r.shape = detail::chunk_shape(c, 2, 3, 1, 5);  // steps 1..5: outputs at 2 and 4
  r.stream = true;
  r.x_strides[0] = 15;
  r.x_strides[1] = 3;
  r.x_strides[2] = 1;
  r.y_strides[0] = 8;
  r.y_strides[1] = 4;
  r.y_strides[2] = 1;
  const detail::Plan plan = detail::make_plan(r);
  EXPECT_EQ(plan.strategy, "streaming chunk");
  ASSERT_EQ(plan.steps.size(), 2u) << plan.describe();  // depthwise, GEMM: no copies
  const auto& dw = std::get<detail::DepthwiseStep>(plan.steps.front());
  EXPECT_EQ(dw.source, detail::Buffer::x);
  EXPECT_EQ(dw.plan.time_count, 2);
  EXPECT_EQ(dw.plan.pad_left, -1);  // the first window starts one step into the chunk
  EXPECT_EQ(plan.bytes(detail::Buffer::stream_input), 0);
}

}  // namespace
}  // namespace sepconv::test
