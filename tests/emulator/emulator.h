// The CPU emulator of the depthwise kernel: the kernel's own code (DepthwiseKernel,
// depthwise_tile.cuh) run for every CTA and thread of a plan, phase by phase, through
// emulator::CheckedMemory (src/emulator), the same way the simulated device runs it. It is CI's
// memcheck, racecheck and initcheck for the tile code; global writes are counted, so tests can
// require every output written exactly once.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "kernels/depthwise/depthwise_fwd.h"
#include "emulator/checked_memory.h"
#include "plan/plan.h"

namespace sepconv::test {

using emulator::CheckedMemory;

/// Checks the plan against the device limits it was made for (what CI can never launch).
/// Returns a list of violations (empty when the launch is legal).
std::vector<std::string> check_launch_limits(const detail::DepthwisePlan& plan,
                                             const detail::DeviceLimits& limits);

/// A buffer the kernel may touch.
struct Span {
  const void* data = nullptr;
  std::size_t bytes = 0;
};

/// Runs the depthwise kernel of `args.plan` on the host: every CTA of the grid, every thread,
/// every phase. `x`, `w` and `d` are the whole allocations behind args.x, args.w and args.d.
/// Returns the checked memory (errors, write counts of "d"). Throws std::logic_error when the plan
/// breaks the device limits.
CheckedMemory emulate_depthwise(const detail::DepthwiseArgs& args, Span x, Span w, Span d,
                                const detail::DeviceLimits& limits);

}  // namespace sepconv::test
