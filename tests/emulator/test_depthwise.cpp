// The depthwise kernel's tile code, run by the CPU emulator on seeded random configurations, must
// reproduce reference::depthwise, touch memory only where the checked memory allows, and write
// every element of D exactly once.
#include <gtest/gtest.h>

#include <random>

#include "depthwise_case.h"
#include "sepconv/reference.h"

namespace sepconv::test {
namespace {

constexpr int kShards = 25;
constexpr int kCasesPerShard = 20;  // 500 configurations

class DepthwiseEmulator : public ::testing::TestWithParam<int> {};

TEST_P(DepthwiseEmulator, MatchesReference) {
  std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(GetParam()));
  int chunked = 0;
  for (int i = 0; i < kCasesPerShard; ++i) {
    const CaseSpec spec = random_spec(rng);
    const HostTensor x = random_input(spec.config, spec.batch, spec.length, spec.channels,
                                      spec.dtype, rng, spec.x_slack);
    const HostWeights w = random_weights(spec.config, spec.channels, spec.dtype, rng);
    const HostTensor y = poisoned_output(spec.config, spec.batch, spec.length, spec.dtype,
                                         spec.y_slack);
    const auto request = make_request(spec, x, y, w);
    const EmulatedDepthwise run = emulate(spec, x, w, request);
    chunked += run.plan.depthwise.chunked() ? 1 : 0;
    const std::string problems = check_depthwise(spec, x, w, run);
    ASSERT_TRUE(problems.empty()) << "case " << i << ": " << spec.describe() << "\n"
                                  << run.plan.describe() << problems;
  }
  RecordProperty("chunked", chunked);
}

INSTANTIATE_TEST_SUITE_P(Seeds, DepthwiseEmulator, ::testing::Range(0, kShards));

// Every kernel variant at least once, with a plan that also forces the tap-chunked path.
TEST(DepthwiseEmulatorVariants, EveryVariantAndTheChunkedPath) {
  std::mt19937_64 rng(77);
  for (DType dtype : {DType::f32, DType::f16, DType::bf16})
    for (auto format : {DataFormat::channels_last, DataFormat::channels_first})
      for (std::int64_t channels : {16, 6, 3})
        for (int path = 0; path < 4; ++path) {
          CaseSpec spec;
          spec.dtype = dtype;
          spec.config.data_format = format;
          spec.config.filters = 3;
          spec.config.kernel_size = path < 2 ? 5 : 37;
          spec.config.strides = path % 2 ? 2 : 1;
          spec.config.padding = Padding::same;
          spec.config.depth_multiplier = 2;
          spec.channels = channels;
          spec.batch = 2;
          spec.length = 150;
          if (path >= 2) spec.limits.shared_budget = 3 * 1024;  // forces tap chunks
          const HostTensor x = random_input(spec.config, spec.batch, spec.length, channels, dtype, rng);
          const HostWeights w = random_weights(spec.config, channels, dtype, rng);
          const HostTensor y = poisoned_output(spec.config, spec.batch, spec.length, dtype);
          const EmulatedDepthwise run = emulate(spec, x, w, make_request(spec, x, y, w));
          if (path >= 2) {
            EXPECT_TRUE(run.plan.depthwise.chunked()) << spec.describe();
          }
          const std::string problems = check_depthwise(spec, x, w, run);
          EXPECT_TRUE(problems.empty()) << spec.describe() << "\n" << run.plan.describe() << problems;
        }
}

}  // namespace
}  // namespace sepconv::test
