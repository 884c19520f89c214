// StreamState's state (internal): the device history and workspace, the host position, and the
// last plan a chunk used. SeparableConv1D::forward_chunk reads and advances it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "runtime/executor.h"
#include "sepconv/layer.h"

namespace sepconv {

struct StreamState::Impl {
  /// The layer the state was made for: the address of its configuration, which lives with the
  /// layer's state on the heap (stable when the SeparableConv1D object moves).
  const void* owner = nullptr;
  LayerConfig config;
  std::int64_t in_channels = 0;
  DType dtype = DType::f32;
  int device = 0;
  std::int64_t batch = 0;
  std::int64_t max_chunk = 0;
  std::int64_t history_steps = 0;  ///< d*(k-1)
  std::int64_t position = 0;
  DeviceBuffer history;  ///< (batch, d*(k-1), C) / (batch, C, d*(k-1)), the layer's dtype
  DeviceBuffer workspace;

  /// What a chunk's plan depends on besides the layer (the context's plan key, less what a state
  /// fixes: the layer, the batch, streaming), and the plan: a decode loop's calls find their plan
  /// here without a lookup in the context's cache.
  using Key = std::array<std::int64_t, 12>;
  Key last_key{};
  std::shared_ptr<detail::BoundPlan> last_plan;
};

}  // namespace sepconv
