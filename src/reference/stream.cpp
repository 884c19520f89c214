// The CPU reference's streaming (docs/semantics.md, "Streaming"): a chunk is the history and the
// chunk side by side, run through the whole-sequence reference with valid padding from the first
// output's window on, so a stream's outputs are the whole sequence's, bit for bit.
#include <cstring>

#include "detail/message.h"
#include "detail/stream.h"
#include "detail/views.h"
#include "sepconv/reference.h"

namespace sepconv::reference {
namespace {

using detail::fail;
using detail::str;

// Copies `steps` steps of every row and channel, raw elements of one dtype, from `src` starting at
// step `src_step` to `dst` starting at step `dst_step` (views in the layer's data format).
void copy_steps(const ConstTensorView& src, std::int64_t src_step, const TensorView& dst,
                std::int64_t dst_step, std::int64_t steps, DataFormat format) {
  const auto e = dtype_size(src.dtype);
  const bool last = format == DataFormat::channels_last;
  const std::int64_t channels = src.shape[last ? 2 : 1];
  for (std::int64_t b = 0; b < src.shape[0]; ++b) {
    for (std::int64_t t = 0; t < steps; ++t) {
      for (std::int64_t c = 0; c < channels; ++c) {
        const std::int64_t from = last ? src.offset(b, src_step + t, c) : src.offset(b, c, src_step + t);
        const std::int64_t to = last ? dst.offset(b, dst_step + t, c) : dst.offset(b, c, dst_step + t);
        std::memcpy(static_cast<unsigned char*>(dst.data) + to * e,
                    static_cast<const unsigned char*>(src.data) + from * e, e);
      }
    }
  }
}

TensorView in_format(void* data, DType dtype, const LayerConfig& c, std::int64_t batch,
                     std::int64_t steps, std::int64_t channels) {
  const auto shape = input_shape(c, batch, steps, channels);
  return contiguous_view(data, dtype, {shape[0], shape[1], shape[2]});
}

}  // namespace

StreamState::StreamState(const LayerConfig& config, std::int64_t in_channels, std::int64_t batch,
                         DType dtype)
    : config_(config), in_channels_(in_channels), batch_(batch), dtype_(dtype) {
  steps_ = detail::check_stream_state(config, in_channels, batch);
  history_.assign(static_cast<std::size_t>(batch * steps_ * in_channels) * dtype_size(dtype), 0);
}

std::int64_t StreamState::output_steps(std::int64_t steps) const {
  return chunk_geometry(config_, position_, steps).out_length;
}

ConstTensorView StreamState::history() const noexcept {
  const auto s = detail::history_shape(config_, batch_, in_channels_);
  return contiguous_view(static_cast<const void*>(history_.data()), dtype_, {s[0], s[1], s[2]});
}

void StreamState::reset() {
  std::fill(history_.begin(), history_.end(), 0);  // +0.0 in every dtype
  position_ = 0;
}

void StreamState::reset_row(std::int64_t row) {
  detail::check_row_reset(config_, batch_, position_, row);
  const std::size_t row_bytes = history_.size() / static_cast<std::size_t>(batch_);
  std::fill_n(history_.begin() + static_cast<std::ptrdiff_t>(row * row_bytes), row_bytes, 0);
}

void forward_chunk(StreamState& state, ConstTensorView x, const Weights& weights, TensorView y) {
  const LayerConfig& c = state.config_;
  const ProblemShape p = validate_chunk(c, state.dtype_, x, weights, y, state.position_);
  detail::check_stream_rows(p, state.batch_, state.in_channels_);
  const std::int64_t h = state.steps_;
  const std::int64_t n = p.length;
  const std::int64_t end = state.position_ + n;  // validate_chunk checked that it fits

  // [history | chunk], contiguous.
  std::vector<unsigned char> joined(static_cast<std::size_t>(p.batch * (h + n) * p.in_channels) *
                                    dtype_size(state.dtype_));
  const TensorView all = in_format(joined.data(), state.dtype_, c, p.batch, h + n, p.in_channels);
  copy_steps(state.history(), 0, all, 0, h, c.data_format);
  copy_steps(x, 0, all, h, n, c.data_format);

  // The outputs: valid windows over [history | chunk] from the first output's window on, with
  // the chunk's own stride phase (the first window starts at step h - pad.left of `all`).
  if (p.geometry.out_length > 0) {
    const std::int64_t first = h - p.geometry.pad.left;
    const ConstTensorView windows = detail::time_slice(ConstTensorView(all), c.data_format, first,
                                                       h + n - first);
    LayerConfig valid = c;
    valid.padding = Padding::valid;
    forward(valid, windows, weights, y);
  }

  // The last h steps of [history | chunk] are the next chunk's history.
  const TensorView history{state.history_.data(), state.dtype_, 3,
                           state.history().shape, state.history().strides};
  copy_steps(all, n, history, 0, h, c.data_format);
  state.position_ = end;
}

}  // namespace sepconv::reference
