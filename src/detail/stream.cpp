#include "detail/stream.h"

#include "detail/checked_math.h"
#include "detail/message.h"

namespace sepconv::detail {

std::array<std::int64_t, 3> history_shape(const LayerConfig& config, std::int64_t batch,
                                          std::int64_t in_channels) {
  const std::int64_t h = config.dilation_rate * (config.kernel_size - 1);
  return config.data_format == DataFormat::channels_last
             ? std::array<std::int64_t, 3>{batch, h, in_channels}
             : std::array<std::int64_t, 3>{batch, in_channels, h};
}

std::int64_t check_stream_state(const LayerConfig& config, std::int64_t in_channels,
                                std::int64_t batch) {
  static_cast<void>(chunk_geometry(config, 0, 1));  // validates; refuses what cannot stream
  if (in_channels <= 0) {
    fail("in_channels", std::to_string(in_channels), "a strictly positive integer");
  }
  if (batch <= 0) fail("batch", std::to_string(batch), "a stream of at least 1 row");
  const std::int64_t h = stream_history(config);
  checked_mul(checked_mul(batch, h, "kernel_size"), in_channels, "in_channels");
  return h;
}

void check_row_reset(const LayerConfig& config, std::int64_t batch, std::int64_t position,
                     std::int64_t row) {
  if (row < 0 || row >= batch) {
    fail("row", std::to_string(row), str("a row of the stream's batch, in [0, ", batch, ")"));
  }
  if (position % config.strides != 0) {
    fail("position",
         str(position, " steps into the stream, inside a stride of ", config.strides),
         str("a reset on a stride boundary (a multiple of ", config.strides,
             " steps): rows share the stride phase, so a row's new sequence must start where "
             "every row's next output window starts"));
  }
}

ProblemShape chunk_shape(const LayerConfig& config, std::int64_t batch, std::int64_t in_channels,
                         std::int64_t position, std::int64_t steps) {
  const ChunkGeometry chunk = chunk_geometry(config, position, steps);
  ProblemShape p;
  p.batch = batch;
  p.length = steps;
  p.in_channels = in_channels;
  p.geometry.effective_kernel = config.dilation_rate * (config.kernel_size - 1) + 1;
  p.geometry.out_length = chunk.out_length;
  p.geometry.pad.left = -chunk.window_start;
  return p;
}

void check_stream_rows(const ProblemShape& shape, std::int64_t batch, std::int64_t in_channels) {
  if (shape.batch != batch || shape.in_channels != in_channels) {
    fail("x", str("a chunk of ", shape.batch, " rows of ", shape.in_channels, " channels"),
         str("the stream state's ", batch, " rows of ", in_channels, " channels"));
  }
}

}  // namespace sepconv::detail
