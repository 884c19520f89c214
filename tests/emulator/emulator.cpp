#include "emulator.h"

#include <stdexcept>

#include "kernels/depthwise/depthwise_dispatch.h"
#include "emulator/host_exec.h"

namespace sepconv::test {

std::vector<std::string> check_launch_limits(const detail::DepthwisePlan& p,
                                             const detail::DeviceLimits& limits) {
  std::vector<std::string> v;
  auto expect = [&](bool ok, const std::string& what) {
    if (!ok) v.push_back(what);
  };
  expect(p.threads >= 1 && p.threads <= limits.max_threads_per_block,
         "block of " + std::to_string(p.threads) + " threads");
  expect(p.threads == p.threads_c * p.threads_t, "threads != threads_c * threads_t");
  expect(p.threads % 32 == 0, "block not a whole number of warps");
  expect(p.grid >= (p.blocks > 0 ? 1 : 0) && p.grid <= limits.max_grid_x,
         "grid.x of " + std::to_string(p.grid));
  expect(p.grid <= p.blocks, "more CTAs than blocks");
  expect(p.shared_bytes <= limits.shared_optin,
         "dynamic shared memory " + std::to_string(p.shared_bytes) + " over the opt-in cap");
  expect(p.needs_optin == (p.shared_bytes > limits.shared_default),
         "opt-in flag does not match " + std::to_string(p.shared_bytes) + " bytes");
  expect(p.blocks == p.batch * p.time_tiles * p.channel_groups, "block count");
  expect(p.tile_steps == static_cast<std::int64_t>(p.threads_t) * p.steps_per_thread * p.groups,
         "tile_steps");
  expect(p.num_chunks == (p.kernel_size + p.tap_chunk - 1) / p.tap_chunk, "num_chunks");
  expect(!p.chunked() || p.groups == 1, "chunked taps with several output groups");
  return v;
}

CheckedMemory emulate_depthwise(const detail::DepthwiseArgs& args, Span x, Span w, Span d,
                                const detail::DeviceLimits& limits) {
  const auto violations = check_launch_limits(args.plan, limits);
  if (!violations.empty()) throw std::logic_error("launch limits violated: " + violations.front());
  CheckedMemory mem;
  mem.add_global("x", x.data, x.bytes, false);
  mem.add_global("w", w.data, w.bytes, false);
  mem.add_global("d", d.data, d.bytes, true);
  detail::dispatch_depthwise(args.plan, [&](auto traits) {
    emulator::run_on_host(detail::DepthwiseKernel<decltype(traits)>{args},
                          detail::depthwise_launch_shape(args.plan), mem);
  });
  return mem;
}

}  // namespace sepconv::test
