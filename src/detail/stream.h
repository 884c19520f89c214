// Internal: what the CPU reference's and the GPU's stream states share: how a state is laid out
// and the rules of its position and of a per-row reset (docs/semantics.md, "Streaming").
#pragma once

#include <array>
#include <cstdint>

#include "sepconv/config.h"

namespace sepconv::detail {

/// The shape of a state's history in the layer's data format: (batch, d*(k-1), C) for
/// channels_last, (batch, C, d*(k-1)) for channels_first; rows contiguous one after the other.
[[nodiscard]] std::array<std::int64_t, 3> history_shape(const LayerConfig& config,
                                                        std::int64_t batch,
                                                        std::int64_t in_channels);

/// The checks of a state's construction: a config that can stream (chunk_geometry's rules),
/// in_channels >= 1, batch >= 1, and a history that fits int64 elements. Returns the history's
/// steps, d*(k-1).
std::int64_t check_stream_state(const LayerConfig& config, std::int64_t in_channels,
                                std::int64_t batch);

/// A reset of row `row` of `batch` at stream position `position`: the row must exist, and with
/// strides s > 1 the position must be a multiple of s (a row's new sequence starts on a stride,
/// where every row's next output window begins). Throws InvalidArgument ("row" / "position").
void check_row_reset(const LayerConfig& config, std::int64_t batch, std::int64_t position,
                     std::int64_t row);

/// The ProblemShape of the chunk of `steps` steps after `position` steps of a stream of `batch`
/// rows: chunk_geometry's outputs as geometry.out_length, and -window_start (the steps before the
/// chunk its first output reads) as geometry.pad.left. Throws what chunk_geometry throws.
[[nodiscard]] ProblemShape chunk_shape(const LayerConfig& config, std::int64_t batch,
                                       std::int64_t in_channels, std::int64_t position,
                                       std::int64_t steps);

/// The rows of a chunk's input x (B, n, C) / (B, C, n) must be the state's: throws InvalidArgument
/// ("x") naming both.
void check_stream_rows(const ProblemShape& shape, std::int64_t batch, std::int64_t in_channels);

}  // namespace sepconv::detail
