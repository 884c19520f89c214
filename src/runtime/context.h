// The Context's state (internal): its device and limits, the cuBLASLt handle, the bounded plan
// cache, and the workspace reserve() sizes. SeparableConv1D reaches it through ContextAccess.
#pragma once

#include <cublasLt.h>

#include <array>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "plan/plan.h"
#include "runtime/device.h"
#include "runtime/executor.h"
#include "sepconv/layer.h"

namespace sepconv {

struct Context::Impl {
  int device = 0;
  ContextOptions options;
  detail::DeviceLimits limits;
  std::string name;
  detail::Owned<cublasLtHandle_t> handle;
  DeviceBuffer workspace;

  /// What a plan depends on besides the layer's config (context.cpp, plan_key): fixed size, so a
  /// lookup allocates nothing.
  using Key = std::array<std::int64_t, 33>;

  /// The plan of a layer's request, bound and cached (bounded LRU, under a lock): made, its
  /// GEMMs' algorithms chosen and its bias bound the first time, looked up afterwards.
  std::shared_ptr<detail::BoundPlan> plan(std::uint64_t layer, const detail::PlanRequest& request,
                                          const void* bias);
  /// Drops a layer's plans (the layer is gone).
  void forget(std::uint64_t layer);

 private:
  std::shared_ptr<detail::BoundPlan> bind(const detail::PlanRequest& request, const void* bias);

  std::mutex mutex_;
  std::list<std::pair<Key, std::shared_ptr<detail::BoundPlan>>> plans_;  // most recent first
  std::map<Key, decltype(plans_)::iterator> index_;
};

namespace detail {

/// The layer's way into its Context's state (Context::Impl is private to the public API).
struct ContextAccess {
  using State = Context::Impl;
  static State& impl(const Context& context) { return *context.impl_; }
};

}  // namespace detail
}  // namespace sepconv
