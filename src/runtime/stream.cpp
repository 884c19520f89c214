// StreamState: a stream's device history and workspace, and its host position
// (docs/semantics.md, "Streaming"). The chunks themselves run in SeparableConv1D::forward_chunk
// (layer.cpp).
#include "runtime/stream_state.h"

#include "detail/checked_math.h"
#include "detail/cuda_check.h"
#include "detail/message.h"
#include "detail/stream.h"
#include "runtime/device.h"

namespace sepconv {

using detail::fail;

StreamState::StreamState(const SeparableConv1D& layer, std::int64_t batch, std::int64_t max_chunk)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.history_steps = detail::check_stream_state(layer.config(), layer.in_channels(), batch);
  if (max_chunk <= 0) fail("max_chunk", std::to_string(max_chunk), "at least 1 step");
  const std::size_t workspace = layer.chunk_workspace_size(batch, max_chunk);
  s.owner = &layer.config();
  s.config = layer.config();
  s.in_channels = layer.in_channels();
  s.dtype = layer.precision().dtype;
  s.device = layer.context().device();
  s.batch = batch;
  s.max_chunk = max_chunk;
  const auto shape = detail::history_shape(s.config, batch, s.in_channels);
  const std::size_t history_bytes =
      static_cast<std::size_t>(shape[0] * shape[1] * shape[2]) * dtype_size(s.dtype);
  s.history = DeviceBuffer(history_bytes, s.device);
  s.workspace = DeviceBuffer(workspace, s.device);
  if (history_bytes > 0) {
    detail::DeviceGuard guard(s.device);
    SEPCONV_CUDA_TRY(cudaMemset(s.history.data(), 0, history_bytes));
    SEPCONV_CUDA_TRY(cudaDeviceSynchronize());  // zero before any stream's first chunk reads it
  }
}

StreamState::~StreamState() = default;
StreamState::StreamState(StreamState&&) noexcept = default;
StreamState& StreamState::operator=(StreamState&&) noexcept = default;

std::int64_t StreamState::batch() const noexcept { return impl_->batch; }
std::int64_t StreamState::max_chunk() const noexcept { return impl_->max_chunk; }
std::int64_t StreamState::position() const noexcept { return impl_->position; }
std::size_t StreamState::workspace_bytes() const noexcept { return impl_->workspace.bytes(); }

std::int64_t StreamState::output_steps(std::int64_t steps) const {
  return chunk_geometry(impl_->config, impl_->position, steps).out_length;
}

ConstTensorView StreamState::history() const noexcept {
  const Impl& s = *impl_;
  const auto shape = detail::history_shape(s.config, s.batch, s.in_channels);
  return contiguous_view(static_cast<const void*>(s.history.data()), s.dtype,
                         {shape[0], shape[1], shape[2]});
}

void StreamState::reset(cudaStream_t stream) {
  Impl& s = *impl_;
  if (s.history.bytes() > 0) {
    detail::DeviceGuard guard(s.device);
    SEPCONV_CUDA_TRY(cudaMemsetAsync(s.history.data(), 0, s.history.bytes(), stream));
  }
  s.position = 0;
}

void StreamState::reset_row(std::int64_t row, cudaStream_t stream) {
  Impl& s = *impl_;
  detail::check_row_reset(s.config, s.batch, s.position, row);
  const std::size_t row_bytes = s.history.bytes() / static_cast<std::size_t>(s.batch);
  if (row_bytes > 0) {
    detail::DeviceGuard guard(s.device);
    SEPCONV_CUDA_TRY(cudaMemsetAsync(static_cast<unsigned char*>(s.history.data()) +
                                         static_cast<std::size_t>(row) * row_bytes,
                                     0, row_bytes, stream));
  }
}

void StreamState::advance(std::int64_t steps) {
  if (steps < 0) fail("steps", std::to_string(steps), "steps >= 0 to move the position on by");
  impl_->position = detail::checked_add(impl_->position, steps, "steps");
}

}  // namespace sepconv
