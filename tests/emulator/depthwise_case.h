// Random layer configurations and the emulated depthwise stage, shared by the emulator tests.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "emulator.h"
#include "plan/plan.h"
#include "support/host_tensor.h"

namespace sepconv::test {

/// One configuration: the layer, the problem, the views and the launch.
struct CaseSpec {
  LayerConfig config;
  DType dtype = DType::f32;
  MathMode math = MathMode::exact;
  bool float32_intermediate = false;  ///< 16-bit layers: D and the GEMM in float32
  [[nodiscard]] Precision precision() const { return {dtype, math, float32_intermediate}; }
  std::int64_t batch = 1;
  std::int64_t length = 1;
  std::int64_t channels = 1;
  std::array<std::int64_t, 3> x_slack{};  ///< x sliced out of a larger buffer
  std::array<std::int64_t, 3> y_slack{};  ///< y sliced out of a larger buffer
  detail::LaunchWindow window;            ///< counts of 0: the whole problem
  detail::DeviceLimits limits;
  [[nodiscard]] std::string describe() const;
};

/// A random configuration: every padding, strides, dilations, kernel sizes (chunked ones
/// included), multipliers, both formats, ragged sizes, sliced views, windows, dtypes, small
/// shared-memory budgets and grids (the chunked and grid-stride paths).
CaseSpec random_spec(std::mt19937_64& rng);

/// The request a forward of these host views would make for `window` (counts of 0: the whole
/// problem), with the alignments of the real pointers.
detail::PlanRequest build_request(const LayerConfig& config, const Precision& precision,
                                  std::int64_t batch, std::int64_t length, std::int64_t channels,
                                  const detail::LaunchWindow& window, const HostTensor& x,
                                  const HostTensor& y, const HostWeights& w);

/// The request of a case.
detail::PlanRequest make_request(const CaseSpec& spec, const HostTensor& x, const HostTensor& y,
                                 const HostWeights& w);

/// The emulated depthwise stage of one case: its plan, the D it wrote (poisoned with NaN first),
/// and the checked memory (errors, write counts).
struct EmulatedDepthwise {
  detail::Plan plan;
  std::vector<unsigned char> w_packed;
  std::vector<unsigned char> d;
  CheckedMemory memory;
};
EmulatedDepthwise emulate(const CaseSpec& spec, const HostTensor& x, const HostWeights& w,
                          const detail::PlanRequest& request);

/// D's value at (window batch b, window step t, Keras channel q = c*M + m), as double.
double d_at(const EmulatedDepthwise& run, std::int64_t b, std::int64_t t, std::int64_t c,
            std::int64_t m);

/// Checks D against reference::depthwise over the window and that exactly the valid elements of
/// D were written, once each. Returns "" or a description of the first problems.
std::string check_depthwise(const CaseSpec& spec, const HostTensor& x, const HostWeights& w,
                            const EmulatedDepthwise& run);

}  // namespace sepconv::test
