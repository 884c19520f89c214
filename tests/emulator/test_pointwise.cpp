// The pointwise stage without a GPU: for seeded random configurations the plan's GEMM is run
// through the real cuBLASLt descriptors an LtMatmul builds (read back and executed by the
// descriptor GEMM), followed by the host version of the epilogue kernels, and y is compared with
// the float64 reference under the accuracy bound.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <map>
#include <ostream>
#include <string>

#include "emulator/pointwise_case.h"

namespace sepconv::test {
namespace {

constexpr int kShards = 10;
constexpr int kCasesPerShard = 30;

class PointwiseSweep : public ::testing::TestWithParam<int> {};

TEST_P(PointwiseSweep, DescriptorGemmAndEpilogueMatchTheReference) {
  const int shard = GetParam();
  std::mt19937_64 rng(0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(shard));
  std::map<std::string, int> coverage;
  const auto start = std::chrono::steady_clock::now();
  int cases = 0;
  for (int i = 0; i < kCasesPerShard; ++i) {
    const PointwiseCase c = random_case(rng, i, shard);
    SCOPED_TRACE("shard " + std::to_string(shard) + " case " + std::to_string(i) + ": " +
                 c.describe());
    PointwiseOutcome out;
    try {
      out = run_case(c);
    } catch (const std::exception& e) {  // a refused descriptor: report it, go on with the next
      ADD_FAILURE() << "threw: " << e.what();
      continue;
    }
    ++cases;
    EXPECT_TRUE(out.report.ok()) << out.report.summary() << "\n" << out.plan.describe();
    EXPECT_EQ(out.written_outside, 0) << "elements outside the window were written\n"
                                      << out.plan.describe();
    EXPECT_TRUE(out.memory_errors.empty()) << out.memory_errors << out.plan.describe();
    const detail::Plan& p = out.plan;
    ++coverage[std::string(to_string(c.dtype)) + (c.math == MathMode::tf32 ? "/tf32" : "")];
    ++coverage[p.gemm().batch_count > 1 ? "strided-batched" : "one GEMM"];
    ++coverage[std::string("bias ") +
               (p.bias == detail::BiasMode::none            ? "none"
                : p.bias == detail::BiasMode::gemm_epilogue ? "epilogue"
                : p.bias == detail::BiasMode::ones_row      ? "ones-row"
                                                            : "elementwise")];
    ++coverage[std::string("GEMM epilogue ") + detail::gemm_epilogue_name(p.gemm().epilogue)];
    if (p.window.batch_count != c.batch || p.window.time_count != p.shape.geometry.out_length) {
      ++coverage["window"];
    }
    if (p.has_epilogue() && p.epilogue().row_reduction) ++coverage["row pass"];
    if (p.window.time_count == 1) ++coverage["one step"];
    if (c.zero_unit_strides) ++coverage["zero strides"];
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string summary;
  for (const auto& [name, count] : coverage) summary += " " + name + ":" + std::to_string(count);
  std::printf("[ shard %d ] %d descriptor-driven configurations in %.2f s;%s\n", shard, cases,
              seconds, summary.c_str());
}

INSTANTIATE_TEST_SUITE_P(Shards, PointwiseSweep, ::testing::Range(0, kShards),
                         [](const ::testing::TestParamInfo<int>& shard_info) {
                           return "shard" + std::to_string(shard_info.param);
                         });

// ---- the sweep can fail: plant a wrong leading dimension or transpose in a correct plan ----

PointwiseCase planted_case(DataFormat format) {
  PointwiseCase c;
  c.config.data_format = format;
  c.config.kernel_size = 3;
  c.config.padding = Padding::same;
  c.config.depth_multiplier = 2;
  c.config.filters = 6;  // = C*M, so a transposed weight matrix still fits its buffer
  c.config.activation = Activation::tanh;
  c.batch = 2;
  c.length = 11;
  c.in_channels = 3;  // C*M = 6: D's rows are padded to 8
  // K = C*M = 6 for both formats (no ones row), so planted transposes keep the footprint.
  c.force_bias = format == DataFormat::channels_last ? detail::BiasMode::gemm_epilogue
                                                     : detail::BiasMode::elementwise;
  c.y_slack = {0, 0, 2};  // y's rows are 2 elements longer than they need to be
  return c;
}

TEST(PointwisePlanted, CorrectPlansPass) {
  for (auto format : {DataFormat::channels_last, DataFormat::channels_first}) {
    const PointwiseOutcome out = run_case(planted_case(format));
    EXPECT_TRUE(out.ok()) << out.report.summary();
  }
}

// A deliberate mistake in a correct GEMM plan, which the comparison must catch.
struct Plant {
  const char* name;
  DataFormat format;
  const char* why;
  void (*change)(detail::GemmPlan&);
};

const Plant kPlants[] = {
    {"UnpaddedLeadingDimensionOfD", DataFormat::channels_last,
     "D is K x N with ldb = d_ld = 8 (C*M = 6 padded); ldb = 6 reads the wrong columns (and the "
     "NaN padding) while staying inside the buffer",
     [](detail::GemmPlan& g) {
       ASSERT_EQ(g.ldb, 8);
       g.ldb = 6;
     }},
    {"WrongLeadingDimensionOfOutput", DataFormat::channels_first,
     "y[b] is T x F (11 x 6) with ldc = y's filter stride, 13 with the slack; ldc = 12 (>= 11 "
     "rows, inside the buffer) puts outputs in the wrong places and leaves others NaN",
     [](detail::GemmPlan& g) {
       ASSERT_EQ(g.ldc, 13);
       g.ldc = 12;
     }},
    {"TransposedWeights", DataFormat::channels_last,
     "A = Wp' (F x K, op N); with F = K a transposed matrix has the same shape and footprint, so "
     "only the values can tell",
     [](detail::GemmPlan& g) {
       ASSERT_FALSE(g.trans_a);
       g.trans_a = true;
     }},
    {"UntransposedSharedWeights", DataFormat::channels_first,
     "B = Wp' seen as F x K, op T; without the transpose it is read as K x F (ld F = 6 >= K)",
     [](detail::GemmPlan& g) {
       ASSERT_TRUE(g.trans_b);
       g.trans_b = false;
     }},
    {"WrongBatchStrideOfD", DataFormat::channels_first,
     "A = D[b] with stride (C*M) * d_ld; a stride of 0 reuses batch 0's D for batch 1",
     [](detail::GemmPlan& g) {
       ASSERT_GT(g.stride_a, 0);
       g.stride_a = 0;
     }},
};

// For test names and ctest's listing: the plant's name, not its bytes.
void PrintTo(const Plant& plant, std::ostream* os) { *os << plant.name; }

class PointwisePlantedBug : public ::testing::TestWithParam<Plant> {};

TEST_P(PointwisePlantedBug, MakesTheComparisonFail) {
  const Plant& plant = GetParam();
  SCOPED_TRACE(plant.why);
  const PointwiseOutcome out = run_case(planted_case(plant.format), plant.change);
  EXPECT_FALSE(out.ok()) << "the planted bug went unnoticed";
  EXPECT_GT(out.report.failures, 0) << out.report.summary();
  std::printf("[ planted %s ] %lld checked, %lld outside the bound (%lld NaN), %lld written "
              "outside the window\n",
              plant.name, static_cast<long long>(out.report.checked),
              static_cast<long long>(out.report.failures),
              static_cast<long long>(out.report.nan_count),
              static_cast<long long>(out.written_outside));
}

INSTANTIATE_TEST_SUITE_P(Plants, PointwisePlantedBug, ::testing::ValuesIn(kPlants),
                         [](const ::testing::TestParamInfo<Plant>& plant_info) {
                           return std::string(plant_info.param.name);
                         });

}  // namespace
}  // namespace sepconv::test
