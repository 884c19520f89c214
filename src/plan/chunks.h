// Splitting a forward into windows that fit a workspace: first along the batch, then (one sample
// at a time) along the output steps, never along time when softmax / log_softmax of a
// channels_first layer needs whole rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <functional>
#include <vector>

#include "plan/plan.h"

namespace sepconv::detail {

/// Workspace bytes a window needs. Its offsets matter too: they set the alignment of the output
/// pointer the GEMM's algorithm is chosen for, and so that algorithm's workspace.
using WorkspaceNeed = std::function<std::size_t(const LaunchWindow& window)>;

/// What one window's GEMM can take besides the workspace: cuBLASLt's dimensions are int32 in
/// practice ("usually only values that can be expressed as int32_t are supported").
struct WindowLimits {
  std::int64_t max_outputs = INT64_MAX;  ///< batches x steps (channels_last: the GEMM's n)
  std::int64_t max_steps = INT64_MAX;    ///< steps (channels_first: the GEMM's m)
  std::int64_t max_batches = INT64_MAX;  ///< batches (a strided-batched GEMM's batch count)
  [[nodiscard]] bool allow(std::int64_t batches, std::int64_t steps) const {
    return batches <= max_batches && steps <= max_steps && batches <= max_outputs / steps;
  }
};

/// The GEMM's limits for a layer's windows: n = batches x steps (channels_last) or m = steps
/// (channels_first), and the batch count, at most 2^31 - 1.
WindowLimits gemm_window_limits(DataFormat format);

/// The windows covering `batch` x `out_length` outputs, each needing at most `available` bytes
/// and within `limits`: one window when everything fits; else as many batches per window as fit;
/// else one batch per window and as many steps as fit (only when `time_splittable`). Throws
/// InvalidArgument ("workspace") naming the bytes needed when not even one step (or one whole
/// sample, when time cannot be split) fits. `need` may be non-monotone (cuBLASLt's algorithm
/// differs per shape and alignment): every window returned is checked with it, at its own
/// offsets.
std::vector<LaunchWindow> split_into_windows(std::int64_t batch, std::int64_t out_length,
                                             bool time_splittable, std::size_t available,
                                             const WorkspaceNeed& need,
                                             const WindowLimits& limits = {});

}  // namespace sepconv::detail
