// Depthwise tiling: block shape, tap chunks, shared memory, and D's layout.
#include <algorithm>

#include "detail/message.h"
#include "detail/checked_math.h"
#include "plan/depthwise_traits.h"
#include "plan/plan.h"

namespace sepconv::detail {
namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
std::int64_t round_up(std::int64_t a, std::int64_t b) { return ceil_div(a, b) * b; }
int pow2_ceil(std::int64_t v) {
  int p = 1;
  while (p < v && p < (1 << 20)) p *= 2;
  return p;
}

// Input rows one chunk of `taps` taps needs for `steps` outputs.
std::int64_t rows_for(const DepthwisePlan& p, std::int64_t steps, std::int64_t taps) {
  if (p.gather) return steps * taps;
  return (steps - 1) * p.strides + (taps - 1) * p.dilation_rate + 1;
}

// Rows allocated for `rows` staged rows: the channels_first sliding window loads whole runs of
// steps_per_thread rows, up to steps_per_thread - 1 past the last one it multiplies.
std::int64_t alloc_rows_for(const DepthwisePlan& p, std::int64_t rows) {
  const bool runs = p.sliding && p.format == DataFormat::channels_first;
  return rows + (runs ? p.steps_per_thread : 0);
}

std::int64_t pitch_for(const DepthwisePlan& p, std::int64_t rows) {
  if (p.format == DataFormat::channels_last) return p.channels_per_block;
  // channels_first: one row of time per channel, padded to whole 16-byte vectors.
  return round_up(alloc_rows_for(p, rows), vec16(p.dtype));
}

std::int64_t shared_bytes_for(const DepthwisePlan& p, std::int64_t rows) {
  const auto e = static_cast<std::int64_t>(dtype_size(p.dtype));
  if (p.format == DataFormat::channels_last) {
    return alloc_rows_for(p, rows) * pitch_for(p, rows) * e;
  }
  return p.channels_per_block * pitch_for(p, rows) * e;
}

// The most taps per chunk whose tile fits the budget (at least one).
std::int64_t largest_chunk(const DepthwisePlan& p, std::int64_t budget) {
  std::int64_t lo = 1;
  std::int64_t hi = p.kernel_size;
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo + 1) / 2;
    if (shared_bytes_for(p, rows_for(p, p.tile_steps, mid)) <= budget) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

// Widest channels_last vector the channels and the input's alignment allow.
int choose_vec_channels_last(const PlanRequest& r) {
  const DType dtype = r.precision.dtype;
  const auto e = static_cast<std::int64_t>(dtype_size(dtype));
  for (int option = 0; option < kChannelsLastVecOptions; ++option) {
    const int v = channels_last_vec(dtype, option);
    if (r.shape.in_channels % v == 0 && r.x_align >= v * e && r.x_strides[0] % v == 0 &&
        r.x_strides[1] % v == 0) {
      return v;
    }
  }
  return 1;
}

}  // namespace

void plan_depthwise(const PlanRequest& r, const DeviceLimits& limits, Plan& plan) {
  const LayerConfig& c = r.config;
  DepthwiseStep step;
  DepthwisePlan& p = step.plan;
  p.dtype = r.precision.dtype;
  p.d_dtype = plan.float32_intermediate() ? DType::f32 : p.dtype;
  p.format = c.data_format;
  p.batch = plan.window.batch_count;
  p.length = r.shape.length;
  p.in_channels = r.shape.in_channels;
  p.depth_multiplier = c.depth_multiplier;
  p.kernel_size = c.kernel_size;
  p.strides = c.strides;
  p.dilation_rate = c.dilation_rate;
  p.pad_left = r.shape.geometry.pad.left;
  p.time_begin = plan.window.time_begin;
  p.time_count = plan.window.time_count;
  const bool last = p.format == DataFormat::channels_last;
  p.x_batch_stride = r.x_strides[0];
  p.x_time_stride = last ? r.x_strides[1] : r.x_strides[2];
  p.x_channel_stride = last ? r.x_strides[2] : r.x_strides[1];

  // D: rows padded to 8 elements (16 or 32 bytes) so vectors and cuBLASLt stay aligned.
  const std::int64_t cm = checked_mul(p.in_channels, p.depth_multiplier, "depth_multiplier");
  p.ones_row = plan.bias == BiasMode::ones_row;
  if (last) {
    p.d_ld = round_up(cm, 8);
    p.d_batch_stride = checked_mul(p.time_count, p.d_ld, "x");
  } else {
    p.d_ld = round_up(p.time_count, 8);
    p.d_batch_stride = checked_mul(cm + (p.ones_row ? 1 : 0), p.d_ld, "x");
  }
  const auto e = static_cast<std::int64_t>(dtype_size(p.d_dtype));
  // After any slice the strategy placed before (the backward's dz); first in a forward.
  plan.workspace.push_back(
      {Buffer::d, plan.workspace_bytes(), round_up(checked_mul(checked_mul(p.batch, p.d_batch_stride, "x"), e, "x"), 256)});

  // Thread layout.
  p.sliding = p.strides == 1 && p.dilation_rate == 1;
  p.threads = kDepthwiseThreads;
  if (last) {
    p.vec = choose_vec_channels_last(r);
    p.threads_c = static_cast<int>(std::min<std::int64_t>(32, pow2_ceil(ceil_div(p.in_channels, p.vec))));
    p.threads_t = p.threads / p.threads_c;
    p.channels_per_block = p.threads_c * p.vec;
  } else {
    // Time steps per global load when a block's rows start aligned (checked per block).
    const auto es = static_cast<std::int64_t>(dtype_size(p.dtype));
    p.vec = vec16(p.dtype);
    if (r.x_align < p.vec * es || r.x_strides[0] % p.vec != 0 || r.x_strides[1] % p.vec != 0) {
      p.vec = 1;
    }
    p.threads_c = static_cast<int>(std::min<std::int64_t>(8, pow2_ceil(p.in_channels)));
    p.threads_t = p.threads / p.threads_c;
    p.channels_per_block = p.threads_c;
  }
  p.steps_per_thread = steps_per_thread(p.format, p.vec);
  const std::int64_t base_steps = static_cast<std::int64_t>(p.threads_t) * p.steps_per_thread;

  // Output groups per thread: more outputs per block amortise the halo of d*(k-1) rows; stop
  // when the tile no longer fits or the problem has too few steps.
  const std::int64_t budget = std::min(limits.shared_budget, limits.shared_optin);
  auto halo_ratio = [&](std::int64_t steps) {  // rows staged per output row
    return static_cast<double>(rows_for(p, steps, p.kernel_size)) /
           static_cast<double>(steps * p.strides);
  };
  p.groups = 1;
  for (int g : {2, 4}) {
    const std::int64_t steps = base_steps * g;
    if (halo_ratio(base_steps * p.groups) <= 1.25) break;  // the halo is already cheap
    if (steps / 2 >= p.time_count) break;                  // the problem is shorter than that
    if (shared_bytes_for(p, rows_for(p, steps, p.kernel_size)) > budget) break;
    p.groups = g;
  }
  p.tile_steps = base_steps * p.groups;

  // Taps per chunk: all of them when the tile fits the budget, else the most that fit (at least
  // one: the budget is a preference, the device's opt-in cap the limit). Rows are staged
  // contiguously, or gathered when that stages fewer (strides or dilations larger than the taps).
  p.tap_chunk = p.kernel_size;
  if (shared_bytes_for(p, rows_for(p, p.tile_steps, p.kernel_size)) > budget) {
    p.groups = 1;
    p.tile_steps = base_steps;
    p.tap_chunk = largest_chunk(p, budget);
  }
  if (!p.sliding) {
    DepthwisePlan gathered = p;
    gathered.gather = true;
    gathered.groups = 1;
    gathered.tile_steps = base_steps;
    gathered.tap_chunk = largest_chunk(gathered, budget);
    const auto chunks = [](const DepthwisePlan& q) { return ceil_div(q.kernel_size, q.tap_chunk); };
    if (chunks(gathered) < chunks(p) ||
        (chunks(gathered) == chunks(p) &&
         rows_for(gathered, gathered.tile_steps, gathered.tap_chunk) * p.groups <
             rows_for(p, p.tile_steps, p.tap_chunk))) {
      p = gathered;
    }
  }
  p.num_chunks = ceil_div(p.kernel_size, p.tap_chunk);
  p.tile_rows = rows_for(p, p.tile_steps, p.tap_chunk);
  p.tile_alloc_rows = alloc_rows_for(p, p.tile_rows);
  p.tile_pitch = pitch_for(p, p.tile_rows);
  p.shared_bytes = shared_bytes_for(p, p.tile_rows);
  if (p.shared_bytes > limits.shared_optin) {
    throw Unsupported(str("sepconv: depthwise tile of ", p.shared_bytes,
                          " bytes exceeds the device's shared-memory cap of ", limits.shared_optin,
                          " bytes"));
  }
  p.needs_optin = p.shared_bytes > limits.shared_default;

  p.time_tiles = ceil_div(p.time_count, p.tile_steps);
  p.channel_groups = ceil_div(p.in_channels, p.channels_per_block);
  p.blocks = checked_mul(checked_mul(p.batch, p.time_tiles, "x"), p.channel_groups, "x");
  p.grid = std::min(p.blocks, limits.max_grid_x);
  if (p.threads > limits.max_threads_per_block) {
    throw Unsupported(str("sepconv: depthwise block of ", p.threads, " threads exceeds the limit of ",
                          limits.max_threads_per_block));
  }
  plan.steps.emplace_back(std::move(step));
}

}  // namespace sepconv::detail
