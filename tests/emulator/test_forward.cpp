// The forward pass on the CPU emulator: the depthwise kernel's own tile code (emulated thread by
// thread with checked memory) followed by the pointwise GEMM executed from the library's real
// cuBLASLt descriptors and the epilogue passes' host code, against the float64 reference, on 500
// seeded random configurations, every kernel variant, and every Keras golden case.
#include <gtest/gtest.h>

#include <random>

#include "depthwise_case.h"
#include "plan/pack.h"
#include "pointwise_case.h"
#include "sepconv/accuracy.h"
#include "sepconv/reference.h"
#if SEPCONV_HAS_GOLDEN
#include "golden/golden_data.h"
#endif

namespace sepconv::test {
namespace {

// Emulates the whole forward of `spec` into y (poisoned first by the caller) and returns the
// problems found: the emulator's, D's, y's against the reference, writes outside the window.
std::string run_forward(const CaseSpec& spec, const HostTensor& x, const HostWeights& w,
                        HostTensor& y, const EmulatedDepthwise& run) {
  std::string problems = check_depthwise(spec, x, w, run);
  const detail::Plan& plan = run.plan;
  const auto wp = detail::pack_pointwise(spec.config, spec.channels, w.pointwise.view(),
                                         w.bias.shape().empty() ? ConstTensorView{} : w.bias.view(),
                                         plan.bias, plan.gemm().dtype);
  problems += run_pointwise_host(plan, plan.gemm(), run.d, wp,
                                 spec.config.use_bias ? w.bias.view() : ConstTensorView{}, y);
  const auto& win = plan.window;
  const reference::Window rw{win.batch_begin, win.batch_count, win.time_begin, win.time_count};
  const auto ref = reference::forward_detail(spec.config, x.view(), w.view(), rw);
  const auto report = accuracy::compare(spec.config, spec.channels, spec.precision(), ref, y.view());
  if (!report.ok() || report.checked != win.batch_count * win.time_count * spec.config.filters) {
    problems += "  y: " + report.summary() + "\n";
  }
  const std::int64_t outside = count_written_outside(y, spec.config, win);
  if (outside != 0) problems += "  y: " + std::to_string(outside) + " elements written outside the window\n";
  return problems;
}

constexpr int kShards = 25;
constexpr int kCasesPerShard = 20;  // 500 configurations

class ForwardEmulator : public ::testing::TestWithParam<int> {};

TEST_P(ForwardEmulator, MatchesReference) {
  std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(GetParam()));
  int chunked = 0;
  for (int i = 0; i < kCasesPerShard; ++i) {
    const CaseSpec spec = random_spec(rng);
    const HostTensor x = random_input(spec.config, spec.batch, spec.length, spec.channels,
                                      spec.dtype, rng, spec.x_slack);
    const HostWeights w = random_weights(spec.config, spec.channels, spec.dtype, rng);
    HostTensor y = poisoned_output(spec.config, spec.batch, spec.length, spec.dtype, spec.y_slack);
    const EmulatedDepthwise run = emulate(spec, x, w, make_request(spec, x, y, w));
    chunked += run.plan.depthwise().chunked() ? 1 : 0;
    const std::string problems = run_forward(spec, x, w, y, run);
    ASSERT_TRUE(problems.empty()) << "case " << i << ": " << spec.describe() << "\n"
                                  << run.plan.describe() << problems;
  }
  RecordProperty("chunked", chunked);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ForwardEmulator, ::testing::Range(0, kShards));

// Every kernel variant at least once, with plans that also force the tap-chunked path.
TEST(ForwardEmulatorVariants, EveryVariantAndTheChunkedPath) {
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
          spec.config.activation = Activation::silu;
          spec.channels = channels;
          spec.batch = 2;
          spec.length = 150;
          if (path >= 2) spec.limits.shared_budget = 3 * 1024;  // forces tap chunks
          const HostTensor x = random_input(spec.config, spec.batch, spec.length, channels, dtype, rng);
          const HostWeights w = random_weights(spec.config, channels, dtype, rng);
          HostTensor y = poisoned_output(spec.config, spec.batch, spec.length, dtype);
          const EmulatedDepthwise run = emulate(spec, x, w, make_request(spec, x, y, w));
          if (path >= 2) {
            EXPECT_TRUE(run.plan.depthwise().chunked()) << spec.describe();
          }
          const std::string problems = run_forward(spec, x, w, y, run);
          EXPECT_TRUE(problems.empty()) << spec.describe() << "\n" << run.plan.describe() << problems;
        }
}

// A grid far smaller than the work: every kernel (depthwise, elementwise pass, row pass) takes
// several grid-stride steps per CTA.
TEST(ForwardEmulatorFixed, GridsSmallerThanTheWorkTakeSeveralStrides) {
  std::mt19937_64 rng(78);
  for (Activation activation : {Activation::sigmoid, Activation::softmax}) {
    for (auto format : {DataFormat::channels_last, DataFormat::channels_first}) {
      CaseSpec spec;
      spec.config.data_format = format;
      spec.config.filters = 8;
      spec.config.kernel_size = 5;
      spec.config.padding = Padding::causal;
      spec.config.activation = activation;
      spec.channels = 16;
      spec.batch = 3;
      spec.length = 1500;
      spec.limits.max_grid_x = 3;
      const HostTensor x = random_input(spec.config, spec.batch, spec.length, spec.channels,
                                        spec.dtype, rng);
      const HostWeights w = random_weights(spec.config, spec.channels, spec.dtype, rng);
      HostTensor y = poisoned_output(spec.config, spec.batch, spec.length, spec.dtype);
      const EmulatedDepthwise run = emulate(spec, x, w, make_request(spec, x, y, w));
      const detail::Plan& p = run.plan;
      EXPECT_EQ(p.depthwise().grid, 3);
      EXPECT_GE(p.depthwise().blocks, 2 * p.depthwise().grid) << p.describe();
      EXPECT_EQ(p.epilogue().max_blocks, 3);
      const std::string problems = run_forward(spec, x, w, y, run);
      EXPECT_TRUE(problems.empty()) << spec.describe() << "\n" << p.describe() << problems;
    }
  }
}

#if SEPCONV_HAS_GOLDEN
// Every forward case made by real Keras, through the emulated forward in every dtype (inputs and
// weights rounded to the dtype first, the reference computed on the rounded values); the float32
// run is also compared with Keras's own output.
class ForwardEmulatorGolden : public ::testing::TestWithParam<golden::Case> {};

TEST_P(ForwardEmulatorGolden, MatchesReferenceAndKeras) {
  const golden::ForwardCase f = golden::load_forward(GetParam());
  const LayerConfig config = f.config.layer;
  const bool last = config.data_format == DataFormat::channels_last;
  if (f.input.shape[0] == 0) GTEST_SKIP() << "batch 0: nothing to run (the golden test checks it)";
  for (const Precision precision : {Precision{DType::f32}, Precision{DType::f16},
                                    Precision{DType::bf16}, Precision{DType::bf16, MathMode::exact, true}}) {
    CaseSpec spec;
    spec.config = config;
    spec.dtype = precision.dtype;
    spec.float32_intermediate = precision.float32_intermediate;
    spec.channels = f.in_channels();
    spec.batch = f.input.shape[0];
    spec.length = f.input.shape[last ? 1 : 2];
    auto host = [&](const io::HostArray& a) {
      HostTensor t(spec.dtype, a.shape);
      t.assign(HostTensor::values_of(a.view()));  // rounded to the dtype
      return t;
    };
    const HostTensor x = host(f.input);
    HostWeights w;
    w.depthwise = host(f.depthwise);
    w.pointwise = host(f.pointwise);
    if (config.use_bias) w.bias = host(f.bias);
    HostTensor y = poisoned_output(config, spec.batch, spec.length, spec.dtype);
    const EmulatedDepthwise run = emulate(spec, x, w, make_request(spec, x, y, w));
    const std::string problems = run_forward(spec, x, w, y, run);
    EXPECT_TRUE(problems.empty()) << spec.describe() << "\n" << run.plan.describe() << problems;
    if (spec.dtype != DType::f32) continue;
    // Keras's output is within the bound too: two values within e of the truth are within 2e of
    // each other.
    const io::HostArray& keras = f.output;
    const auto ref = reference::forward_detail(config, x.view(), w.view());
    const auto report = accuracy::compare(config, spec.channels, DType::f32, MathMode::exact, ref,
                                          keras.view());
    EXPECT_TRUE(report.ok()) << "Keras itself: " << report.summary();
  }
}

INSTANTIATE_TEST_SUITE_P(Keras, ForwardEmulatorGolden,
                         ::testing::ValuesIn(golden::cases_of_kind("forward")), golden::CaseName());
#endif

}  // namespace
}  // namespace sepconv::test
