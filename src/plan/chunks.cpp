#include "plan/chunks.h"

#include "detail/message.h"

namespace sepconv::detail {
namespace {

// Windows of `per_batch` batches x `per_step` steps covering the problem.
std::vector<LaunchWindow> tile(std::int64_t batch, std::int64_t steps, std::int64_t per_batch,
                               std::int64_t per_step) {
  std::vector<LaunchWindow> windows;
  for (std::int64_t b = 0; b < batch; b += per_batch) {
    for (std::int64_t t = 0; t < steps; t += per_step) {
      windows.push_back({b, std::min(per_batch, batch - b), t, std::min(per_step, steps - t)});
    }
  }
  return windows;
}

// What the first window that does not fit needs; 0 when all fit.
std::size_t first_misfit(const std::vector<LaunchWindow>& windows, std::size_t available,
                         const WorkspaceNeed& need) {
  for (const auto& w : windows) {
    if (const std::size_t n = need(w); n > available) return n;
  }
  return 0;
}

// The largest n in [1, hi] with fits(n), assuming fits(1); binary search.
template <class Fits>
std::int64_t largest(std::int64_t hi, Fits&& fits) {
  std::int64_t lo = 1;
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo + 1) / 2;
    if (fits(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace

WindowLimits gemm_window_limits(DataFormat format) {
  constexpr std::int64_t kInt32 = std::numeric_limits<std::int32_t>::max();
  WindowLimits l;
  l.max_steps = kInt32;
  l.max_batches = kInt32;
  if (format == DataFormat::channels_last) l.max_outputs = kInt32;
  return l;
}

std::vector<LaunchWindow> split_into_windows(std::int64_t batch, std::int64_t out_length,
                                             bool time_splittable, std::size_t available,
                                             const WorkspaceNeed& need,
                                             const WindowLimits& limits) {
  if (batch == 0) return {};
  // Windows at offset 0 size the search; every actual window is checked at its own offsets.
  // A window the GEMM cannot take fits no workspace.
  auto fits = [&](std::int64_t batches, std::int64_t steps) {
    return limits.allow(batches, steps) && need(LaunchWindow{0, batches, 0, steps}) <= available;
  };
  auto need_of = [&](std::int64_t batches, std::int64_t steps) {
    return need(LaunchWindow{0, batches, 0, steps});
  };
  if (fits(batch, out_length)) return {{0, batch, 0, out_length}};
  if (fits(1, out_length)) {
    std::int64_t per = largest(batch, [&](std::int64_t n) { return fits(n, out_length); });
    for (; per >= 1; --per) {  // a smaller remainder window may need more (another algorithm)
      auto windows = tile(batch, out_length, per, out_length);
      if (first_misfit(windows, available, need) == 0) return windows;
    }
  }
  if (!time_splittable) {
    if (!limits.allow(1, out_length)) {
      fail("x", str(out_length, " output steps"),
           str("at most ", limits.max_steps,
               " (one GEMM's dimension): softmax/log_softmax along time needs them in one window"));
    }
    fail("workspace", str(available, " bytes"),
         str("at least ", need_of(1, out_length),
             " bytes: softmax/log_softmax along time needs one whole sample per window"));
  }
  if (need_of(1, 1) > available) {
    fail("workspace", str(available, " bytes"), str("at least ", need_of(1, 1), " bytes"));
  }
  std::int64_t per = largest(out_length, [&](std::int64_t n) { return fits(1, n); });
  std::size_t misfit = 0;
  for (; per >= 1; --per) {
    auto windows = tile(batch, out_length, 1, per);
    misfit = first_misfit(windows, available, need);
    if (misfit == 0) return windows;
  }
  // Windows of one step at some offset need more (another cuBLASLt algorithm for that alignment).
  fail("workspace", str(available, " bytes"), str("at least ", misfit, " bytes"));
}

}  // namespace sepconv::detail
