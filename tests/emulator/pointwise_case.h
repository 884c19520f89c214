// One pointwise-stage case executed on the host: plan -> D from the reference depthwise result
// in the plan's layout -> packed weights -> the LtMatmul's real cuBLASLt descriptors run by the
// descriptor GEMM -> the epilogue passes' host version -> y compared with the reference.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "host/plan.h"
#include "sepconv/accuracy.h"
#include "sepconv/config.h"

namespace sepconv::test {

struct PointwiseCase {
  LayerConfig config;
  std::int64_t batch = 1;
  std::int64_t length = 1;
  std::int64_t in_channels = 1;
  DType dtype = DType::f32;
  MathMode math = MathMode::exact;
  detail::BiasMode force_bias = detail::BiasMode::none;  ///< none: the planner chooses
  detail::LaunchWindow window;                           ///< counts of 0: the whole problem
  std::array<std::int64_t, 3> x_slack{};                 ///< sliced input views
  std::array<std::int64_t, 3> y_slack{};                 ///< sliced output views
  /// Tell the planner a stride of 0 for y's axes of one element (a valid view: that stride never
  /// moves the address), as a caller's view may.
  bool zero_unit_strides = false;

  /// Everything needed to reproduce the case, on one line.
  [[nodiscard]] std::string describe() const;
};

/// A random case: ragged sizes, both data formats, every padding, sliced views, windows, bias
/// modes, dtypes and math modes. `index` picks the activation (cycling through all of them) and,
/// with `shard`, the data format and bias mode, so every shard covers every activation and every
/// (format, bias mode) pair.
PointwiseCase random_case(std::mt19937_64& rng, int index, int shard);

/// What running a case produced.
struct PointwiseOutcome {
  detail::Plan plan;                 ///< as planned (before any planted change)
  accuracy::Report report;           ///< y against the reference inside the window
  std::int64_t written_outside = 0;  ///< elements outside the window that lost their NaN poison
  [[nodiscard]] bool ok() const { return report.ok() && written_outside == 0; }
};

/// Runs a case. `plant` may change the GEMM plan before the LtMatmul is built from it (tests that
/// a wrong leading dimension or transpose is caught).
PointwiseOutcome run_case(const PointwiseCase& c,
                          const std::function<void(detail::GemmPlan&)>& plant = {});

}  // namespace sepconv::test
