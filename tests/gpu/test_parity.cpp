// The GPU/CPU parity suite (labels gpu, parity): SeparableConv1D::forward on the GPU against the
// float64 CPU reference, within sepconv::accuracy's bound for the dtype and math mode, on
//   ParityGolden    every Keras golden forward case, in every precision;
//   ParityRandom    random configurations (every padding, strides, dilations, multipliers, kernel
//                   sizes, both formats, every activation, sliced views), precisions rotating;
//   ParityActivation every activation x both formats x every precision, on sliced views;
//   ParityShape     long sequences, many channels, large kernels and dilations (the tap-chunked
//                   path), huge strides and dilations, sliced views, chunked workspaces, checked on
//                   sampled windows the reference computes alone;
//   ParityPaths     one small forward per kernel path (the compute-sanitizer subset);
//   ParityGraph     CUDA-graph capture and replay (parity_graph.cpp);
//   ParityHuge      tensors of more than 2^31 elements (parity_huge.cpp; skipped with a message
//                   when the device has too little memory).
// Every forward writes into an output poisoned with NaN (every element must be written, the bytes
// around a sliced y must stay untouched) and runs twice: the two results must be bitwise equal.
// Without a device the binary prints one message and exits 77 (CTest: skipped).
#include <gtest/gtest.h>

#include "parity_gpu.h"
#include "sepconv/version.h"
#if SEPCONV_HAS_GOLDEN
#include "golden/golden_data.h"
#endif

namespace sepconv::test::parity {
namespace {

// Runs cases on the GPU one after the other, then checks them all on every host thread.
void run_and_check(const std::vector<ParityCase>& cases) {
  std::vector<Produced> runs;
  runs.reserve(cases.size());
  std::vector<const ParityCase*> ran;
  for (const auto& c : cases) {
    try {
      runs.push_back(run_on_gpu(c));
      ran.push_back(&c);
      if (c.tap_chunked) {
        EXPECT_NE(runs.back().plan.find("tap-chunked path"), std::string::npos)
            << c.describe() << "\nis meant to take the tap-chunked path:\n"
            << runs.back().plan;
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << c.describe() << "\nthrew: " << e.what();
    }
  }
  std::vector<const Produced*> produced;
  for (const auto& r : runs) produced.push_back(&r);
  const auto problems = check_all(ran, produced);
  for (std::size_t i = 0; i < ran.size(); ++i) {
    EXPECT_TRUE(problems[i].empty()) << ran[i]->describe() << "\n" << runs[i].plan << problems[i];
  }
}

// ---- dedicated tables ---------------------------------------------------------------------------

// The dedicated shapes are sized for a GPU (long sequences, thousands of channels): a simulated
// device, which runs every thread on the host, takes the paths they reach through ParityPaths,
// ParityRandom and ParityGraph instead.
#if !SEPCONV_SIMULATED_DEVICE
class ParityShape : public ::testing::TestWithParam<ParityCase> {};
TEST_P(ParityShape, MatchesReference) { run_and_check({GetParam()}); }
INSTANTIATE_TEST_SUITE_P(Shapes, ParityShape, ::testing::ValuesIn(shape_cases()), CaseName());
#endif

class ParityActivation : public ::testing::TestWithParam<ParityCase> {};
TEST_P(ParityActivation, MatchesReference) { run_and_check({GetParam()}); }
INSTANTIATE_TEST_SUITE_P(Activations, ParityActivation, ::testing::ValuesIn(activation_cases()),
                         CaseName());

class ParityPaths : public ::testing::TestWithParam<ParityCase> {};
TEST_P(ParityPaths, MatchesReference) { run_and_check({GetParam()}); }
INSTANTIATE_TEST_SUITE_P(Paths, ParityPaths, ::testing::ValuesIn(path_cases()), CaseName());

// ---- random configurations ----------------------------------------------------------------------

// 648 configurations on a GPU, 108 per precision; 216 on the simulated device.
constexpr int kRandomShards = SEPCONV_SIMULATED_DEVICE ? 12 : 36;
constexpr int kCasesPerShard = 18;

class ParityRandom : public ::testing::TestWithParam<int> {};
TEST_P(ParityRandom, MatchesReference) { run_and_check(random_cases(GetParam(), kCasesPerShard)); }
INSTANTIATE_TEST_SUITE_P(Seeds, ParityRandom, ::testing::Range(0, kRandomShards),
                         [](const ::testing::TestParamInfo<int>& shard) {
                           return "shard" + std::to_string(shard.param);
                         });

// ---- Keras golden cases -------------------------------------------------------------------------

#if SEPCONV_HAS_GOLDEN
struct GoldenParam {
  golden::Case golden;
  Precision precision;
};
void PrintTo(const GoldenParam& p, std::ostream* os) {
  *os << p.golden.name << " " << precision_name(p.precision);
}

std::vector<GoldenParam> golden_params() {
  std::vector<GoldenParam> all;
  for (const auto& c : golden::cases_of_kind("forward")) {
    for (const auto& p : all_precisions()) all.push_back({c, p});
  }
  return all;
}

// A golden array (float32) as a host tensor of the layer's dtype.
HostTensor tensor_of(const io::HostArray& a, DType dtype) {
  HostTensor t(dtype, a.shape);
  t.assign(HostTensor::values_of(a.view()));
  return t;
}

class ParityGolden : public ::testing::TestWithParam<GoldenParam> {};

TEST(ParityGoldenData, ManifestHasForwardCases) {
  try {
    static_cast<void>(golden::load_manifest());
  } catch (const std::exception& e) {
    FAIL() << e.what() << " (set SEPCONV_GOLDEN_DIR to the repository's tests/data/golden)";
  }
  EXPECT_FALSE(golden::cases_of_kind("forward").empty()) << golden::directory();
}

TEST_P(ParityGolden, MatchesReference) {
  const auto& [g, precision] = GetParam();
  const golden::ForwardCase f = golden::load_forward(g);
  ParityCase c;
  c.name = g.name + "_" + precision_name(precision);
  c.config = f.config.layer;
  c.precision = precision;
  c.channels = f.in_channels();
  c.batch = f.input.shape[0];
  c.length = f.input.shape[c.config.data_format == DataFormat::channels_last ? 1 : 2];
  HostWeights w;
  w.depthwise = tensor_of(f.depthwise, precision.dtype);
  w.pointwise = tensor_of(f.pointwise, precision.dtype);
  if (c.config.use_bias) w.bias = tensor_of(f.bias, precision.dtype);
  const Produced p = run_on_gpu(c, tensor_of(f.input, precision.dtype), std::move(w));
  const auto problems = check_all({&c}, {&p});
  EXPECT_TRUE(problems[0].empty()) << c.describe() << " (" << g.framework_label() << ")\n"
                                   << p.plan << problems[0];
}

INSTANTIATE_TEST_SUITE_P(Keras, ParityGolden, ::testing::ValuesIn(golden_params()),
                         [](const ::testing::TestParamInfo<GoldenParam>& p) {
                           return p.param.golden.name + "_" + precision_name(p.param.precision);
                         });
#endif

}  // namespace
}  // namespace sepconv::test::parity

int main(int argc, char** argv) {
  sepconv::test::parity::install_context_environment();
  return sepconv::test::run_gpu_tests(argc, argv, "sepconv GPU parity suite");
}
