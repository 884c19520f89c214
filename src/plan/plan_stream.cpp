// The streaming strategy (docs/architecture.md, "Streaming"): one chunk of a stream as copies
// around the two-kernel forward's steps.
#include <algorithm>
#include <variant>

#include "detail/checked_math.h"
#include "plan/plan.h"

namespace sepconv::detail {
namespace {

std::int64_t round_up(std::int64_t a, std::int64_t b) { return (a + b - 1) / b * b; }

// A copy step into `dst` (extent in x's axis order) of `threads`-thread blocks.
StreamCopyStep copy_step(const PlanRequest& r, const DeviceLimits& limits, Buffer src0,
                         Buffer src1, Buffer dst, const std::int64_t (&extent)[3]) {
  StreamCopyStep step;
  step.src0 = src0;
  step.src1 = src1;
  step.dst = dst;
  StreamCopyPlan& c = step.plan;
  c.element_bytes = static_cast<int>(dtype_size(r.precision.dtype));
  c.time_axis = r.config.data_format == DataFormat::channels_last ? 1 : 2;
  for (int i = 0; i < 3; ++i) c.extent[i] = extent[i];
  const std::int64_t elements =
      checked_mul(checked_mul(extent[0], extent[1], "x"), extent[2], "x");
  c.blocks = (elements + c.threads - 1) / c.threads;
  c.grid = std::min(c.blocks, limits.max_grid_x);
  return step;
}

void set_strides(std::int64_t (&to)[3], const std::int64_t (&from)[3]) {
  for (int i = 0; i < 3; ++i) to[i] = from[i];
}

}  // namespace

void plan_stream(const PlanRequest& r, const DeviceLimits& limits, Plan& plan) {
  const LayerConfig& c = r.config;
  const bool last = c.data_format == DataFormat::channels_last;
  const std::int64_t batch = r.shape.batch;
  const std::int64_t channels = r.shape.in_channels;
  const std::int64_t history = c.dilation_rate * (c.kernel_size - 1);
  const std::int64_t steps = r.shape.length;
  const std::int64_t outputs = r.shape.geometry.out_length;
  plan.strategy = "streaming chunk";
  plan.window = {0, batch, 0, outputs};

  // [history | chunk] in the workspace, contiguous; channels_first rows padded to 8 elements so
  // the depthwise kernel's 16-byte loads along time stay aligned.
  const std::int64_t joined = checked_add(history, steps, "x");
  const std::int64_t row = last ? joined : round_up(joined, 8);
  // Strides in x's axis order: (batch, steps, channels) / (batch, channels, steps).
  const std::int64_t joined_strides[3] = {checked_mul(row, channels, "x"), last ? channels : row,
                                          1};
  const std::int64_t history_strides[3] = {history * channels, last ? channels : history, 1};

  // The outputs: the two-kernel forward's steps over [history | chunk] with the chunk's first
  // window starting `history - pad.left` steps in (without history, over the chunk itself).
  if (outputs > 0) {
    PlanRequest windows = r;
    windows.stream = false;
    if (history > 0) {
      windows.shape.length = joined;
      windows.shape.geometry.pad.left = r.shape.geometry.pad.left - history;  // <= 0
      set_strides(windows.x_strides, joined_strides);
      windows.x_align = 256;
    }
    plan_depthwise(windows, limits, plan);
    std::get<DepthwiseStep>(plan.steps.back()).source =
        history > 0 ? Buffer::stream_input : Buffer::x;
    plan_pointwise(windows, plan);
  }
  if (history == 0) return;

  // Copies: history and chunk side by side first, the last `history` steps into the history last.
  const auto e = static_cast<std::int64_t>(dtype_size(r.precision.dtype));
  plan.workspace.push_back(
      {Buffer::stream_input, plan.workspace_bytes(),
       checked_mul(checked_mul(batch, joined_strides[0], "x"), e, "x")});
  const std::int64_t joined_extent[3] = {batch, last ? joined : channels, last ? channels : joined};
  StreamCopyStep assemble =
      copy_step(r, limits, Buffer::history, Buffer::x, Buffer::stream_input, joined_extent);
  assemble.plan.split = history;
  set_strides(assemble.plan.src0_strides, history_strides);
  set_strides(assemble.plan.src1_strides, r.x_strides);
  set_strides(assemble.plan.dst_strides, joined_strides);
  plan.steps.insert(plan.steps.begin(), std::move(assemble));

  const std::int64_t history_extent[3] = {batch, last ? history : channels,
                                          last ? channels : history};
  StreamCopyStep carry = copy_step(r, limits, Buffer::stream_input, Buffer::stream_input,
                                   Buffer::history, history_extent);
  carry.plan.split = 0;
  carry.plan.src1_first = steps;
  set_strides(carry.plan.src0_strides, joined_strides);
  set_strides(carry.plan.src1_strides, joined_strides);
  set_strides(carry.plan.dst_strides, history_strides);
  plan.steps.push_back(std::move(carry));
}

}  // namespace sepconv::detail
