// One pointwise-stage case executed on the host: plan -> D from the reference depthwise result
// in the plan's layout -> packed weights -> the LtMatmul's real cuBLASLt descriptors run by the
// descriptor GEMM -> the epilogue passes' host version -> y compared with the reference.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "support/host_tensor.h"

#include "plan/plan.h"
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
  bool float32_intermediate = false;  ///< 16-bit layers: D and the GEMM in float32
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
  std::string memory_errors;         ///< the epilogue kernels' checked-memory problems
  [[nodiscard]] bool ok() const {
    return report.ok() && written_outside == 0 && memory_errors.empty();
  }
};

/// Runs the plan's pointwise GEMM through the real cuBLASLt descriptors of an LtMatmul built from
/// `gemm` (the descriptor GEMM) and then the host epilogue passes, from the intermediate `d` (the
/// plan's D layout) and the packed pointwise matrix `wp` (the GEMM's type), into the plan's
/// window of `y` (through the float32 scratch Z when the plan has one). `bias`: the layer's
/// Keras bias (host, the layer's dtype), or an empty view; converted to the GEMM's type. The
/// epilogue's kernels run through checked memory: returns their problems, "" when none.
std::string run_pointwise_host(const detail::Plan& plan, const detail::GemmPlan& gemm,
                        const std::vector<unsigned char>& d, const std::vector<unsigned char>& wp,
                        const ConstTensorView& bias, HostTensor& y);

/// Elements of y outside the window whose NaN poison is gone.
std::int64_t count_written_outside(const HostTensor& y, const LayerConfig& config,
                                   const detail::LaunchWindow& w);

/// Runs a case. `plant` may change the GEMM plan before the LtMatmul is built from it (tests that
/// a wrong leading dimension or transpose is caught).
PointwiseOutcome run_case(const PointwiseCase& c,
                          const std::function<void(detail::GemmPlan&)>& plant = {});

}  // namespace sepconv::test
