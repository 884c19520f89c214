// Depthwise tiling: block shape, tap chunks, shared memory, and D's layout.
#include <algorithm>

#include "checks.h"
#include "cuda/depthwise_traits.h"
#include "plan.h"

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
  return (steps - 1) * p.stride + (taps - 1) * p.dilation + 1;
}

std::int64_t shared_bytes_for(const DepthwisePlan& p, std::int64_t rows) {
  const auto e = static_cast<std::int64_t>(dtype_size(p.dtype));
  if (p.format == DataFormat::channels_last) return rows * p.channels_per_block * e;
  // channels_first: one row of time per channel, padded to whole 16-byte vectors.
  return p.channels_per_block * round_up(rows, vec16(p.dtype)) * e;
}

// Widest channels_last vector the channels and the input's alignment allow.
int choose_vec_channels_last(const PlanRequest& r) {
  const auto e = static_cast<std::int64_t>(dtype_size(r.dtype));
  for (int option = 0; option < kChannelsLastVecOptions; ++option) {
    const int v = channels_last_vec(r.dtype, option);
    if (r.in_channels % v == 0 && r.x_align >= v * e && r.x_strides[0] % v == 0 &&
        r.x_strides[1] % v == 0) {
      return v;
    }
  }
  return 1;
}

}  // namespace

void plan_depthwise(const PlanRequest& r, const DeviceLimits& limits, Plan& plan) {
  const LayerConfig& c = r.config;
  DepthwisePlan& p = plan.depthwise;
  p.dtype = r.dtype;
  p.format = c.data_format;
  p.batch = plan.window.batch_count;
  p.length = r.length;
  p.channels = r.in_channels;
  p.multiplier = c.depth_multiplier;
  p.kernel = c.kernel_size;
  p.stride = c.strides;
  p.dilation = c.dilation_rate;
  p.pad_left = plan.geometry.pad.left;
  p.time_begin = plan.window.time_begin;
  p.time_count = plan.window.time_count;
  const bool last = p.format == DataFormat::channels_last;
  p.x_batch_stride = r.x_strides[0];
  p.x_time_stride = last ? r.x_strides[1] : r.x_strides[2];
  p.x_channel_stride = last ? r.x_strides[2] : r.x_strides[1];

  // D: rows padded to 8 elements (16 or 32 bytes) so vectors and cuBLASLt stay aligned.
  const std::int64_t cm = checked_mul(p.channels, p.multiplier, "depth_multiplier");
  p.ones_row = plan.bias == BiasMode::ones_row;
  if (last) {
    p.d_ld = round_up(cm, 8);
    p.d_batch_stride = checked_mul(p.time_count, p.d_ld, "x");
  } else {
    p.d_ld = round_up(p.time_count, 8);
    p.d_batch_stride = checked_mul(cm + (p.ones_row ? 1 : 0), p.d_ld, "x");
  }
  const auto e = static_cast<std::int64_t>(dtype_size(p.dtype));
  plan.d_bytes = round_up(checked_mul(checked_mul(p.batch, p.d_batch_stride, "x"), e, "x"), 256);

  // Thread layout.
  p.sliding = p.stride == 1 && p.dilation == 1;
  p.threads = kDepthwiseThreads;
  if (last) {
    p.vec = choose_vec_channels_last(r);
    p.threads_c = static_cast<int>(std::min<std::int64_t>(32, pow2_ceil(ceil_div(p.channels, p.vec))));
    p.threads_t = p.threads / p.threads_c;
    p.channels_per_block = p.threads_c * p.vec;
  } else {
    p.vec = vec16(p.dtype);  // time steps per global load, when the block's rows are aligned
    p.threads_c = static_cast<int>(std::min<std::int64_t>(8, pow2_ceil(p.channels)));
    p.threads_t = p.threads / p.threads_c;
    p.channels_per_block = p.threads_c;
  }
  p.steps_per_thread = steps_per_thread(p.format, p.vec);
  const std::int64_t base_steps = static_cast<std::int64_t>(p.threads_t) * p.steps_per_thread;

  // Output groups per thread: more outputs per block amortise the halo of d*(k-1) rows; stop
  // when the tile no longer fits or the problem has too few steps.
  const std::int64_t budget = std::min(limits.shared_budget, limits.shared_optin);
  auto halo_ratio = [&](std::int64_t steps) {  // rows staged per output row
    return static_cast<double>(rows_for(p, steps, p.kernel)) /
           static_cast<double>(steps * p.stride);
  };
  p.groups = 1;
  for (int g : {2, 4}) {
    const std::int64_t steps = base_steps * g;
    if (halo_ratio(base_steps * p.groups) <= 1.25) break;  // the halo is already cheap
    if (steps / 2 >= p.time_count) break;                  // the problem is shorter than that
    if (shared_bytes_for(p, rows_for(p, steps, p.kernel)) > budget) break;
    p.groups = g;
  }
  p.tile_steps = base_steps * p.groups;

  // Taps per chunk: all of them when the tile fits, else the most that fit (one always does).
  p.tap_chunk = p.kernel;
  if (shared_bytes_for(p, rows_for(p, p.tile_steps, p.kernel)) > budget) {
    p.groups = 1;
    p.tile_steps = base_steps;
    std::int64_t lo = 1;
    std::int64_t hi = p.kernel;
    while (lo < hi) {  // largest J with the tile inside the budget
      const std::int64_t mid = lo + (hi - lo + 1) / 2;
      if (shared_bytes_for(p, rows_for(p, p.tile_steps, mid)) <= budget) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    p.tap_chunk = lo;
  }
  p.num_chunks = ceil_div(p.kernel, p.tap_chunk);
  p.tile_rows = rows_for(p, p.tile_steps, p.tap_chunk);
  p.tile_pitch = last ? p.channels_per_block : round_up(p.tile_rows, vec16(p.dtype));
  p.shared_bytes = shared_bytes_for(p, p.tile_rows);
  if (p.shared_bytes > budget) {
    throw Unsupported(str("sepconv: depthwise tile of ", p.shared_bytes,
                          " bytes exceeds the shared-memory budget of ", budget, " bytes"));
  }
  p.needs_optin = p.shared_bytes > limits.shared_default;

  p.time_tiles = ceil_div(p.time_count, p.tile_steps);
  p.channel_groups = ceil_div(p.channels, p.channels_per_block);
  p.blocks = checked_mul(checked_mul(p.batch, p.time_tiles, "x"), p.channel_groups, "x");
  p.grid = std::min(p.blocks, limits.max_grid_x);
  if (p.threads > limits.max_threads_per_block) {
    throw Unsupported(str("sepconv: depthwise block of ", p.threads, " threads exceeds the limit of ",
                          limits.max_threads_per_block));
  }
}

}  // namespace sepconv::detail
