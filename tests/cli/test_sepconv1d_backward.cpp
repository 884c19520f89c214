// End-to-end tests of `sepconv1d backward`: every golden gradient case of real Keras
// (tests/data/golden/gradients) run from its files on the CPU reference and (where a device or the
// simulated device is) on the GPU, the outputs' dtypes and layouts, and every kind of bad input —
// each must exit non-zero with ONE message on stderr and leave no output file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "cli/cli_test_support.h"
#include "golden/golden_data.h"
#include "golden/golden_gradients.h"
#include "io/npy.h"
#include "sepconv/reference.h"
#include "support/device.h"

namespace sepconv::test {
namespace {

using golden::GradientCase;
using io::HostArray;

using Result = CommandResult;

class Backward : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directory(out_dir()); }

  Result run(const std::vector<std::string>& args) { return run_command(SEPCONV1D_PATH, args, dir); }

  std::string out_dir() const { return dir.file("out"); }
  std::string out(const std::string& name) const { return out_dir() + "/" + name + ".npy"; }

  // The flags of a golden gradient case; `replace` overrides a flag's value, removes a flag (empty
  // value) or adds one (an empty value adds a switch such as --quiet).
  std::vector<std::string> args(const GradientCase& c, const Flags& replace = {}) const {
    const std::string f = golden::gradients_directory() + "/" + c.name + "/";
    Flags flags = {{"--config", f + "config.json"},
                   {"--depthwise", f + "depthwise.npy"},
                   {"--pointwise", f + "pointwise.npy"},
                   {"--input", f + "input.npy"},
                   {"--grad-output", f + "grad_output.npy"},
                   {"--grad-input", out("dx")},
                   {"--grad-depthwise", out("ddw")},
                   {"--grad-pointwise", out("dpw")}};
    if (keras::read_layer_config(f + "config.json").layer.use_bias) {
      flags.push_back({"--bias", f + "bias.npy"});
      flags.push_back({"--grad-bias", out("db")});
    }
    return command_line("backward", flags, replace);
  }

  // A non-zero exit `status`, one line on stderr mentioning every text of `mentions`, and nothing
  // in the output directory.
  void expect_failure(const Result& r, int status, const std::vector<std::string>& mentions) {
    expect_cli_failure(r, status, mentions, out_dir());
  }

  // Runs a golden case on `device` and holds the gradient files to Keras's: both lie within the
  // golden tolerance of the exact gradients (twice it between them), plus one rounding of the
  // file's dtype (the input's: float16 under a float16 policy).
  void expect_matches_keras(const GradientCase& c, const std::string& device) {
    SCOPED_TRACE(c.name + " on " + device + ": " + c.label());
    const Result r = run(args(c, {{"--device", device}, {"--quiet", ""}}));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    const golden::GradientData d = golden::load_gradient_data(c);
    const auto ref = reference::backward_detail(d.config.layer, d.input.view(), d.weights(),
                                                d.grad_output.view());
    const bool half = c.dtype == "float16";
    const double tolerance = 2 * golden::keras_gradient_tolerance(c.policy) + (half ? 0x1p-11 : 0x1p-24);
    const double floor = half ? 1e-6 : 1e-9;
    struct Check {
      const char* file;
      const HostArray* keras;
      const std::vector<double>* magnitude;
    };
    std::vector<Check> checks = {{"dx", &d.grad_input, &ref.input_magnitude},
                                 {"ddw", &d.grad_depthwise, &ref.depthwise_magnitude},
                                 {"dpw", &d.grad_pointwise, &ref.pointwise_magnitude}};
    if (d.config.layer.use_bias) checks.push_back({"db", &d.grad_bias, &ref.bias_magnitude});
    for (const auto& check : checks) {
      const HostArray got = io::read_npy(out(check.file));
      EXPECT_EQ(got.shape, check.keras->shape) << check.file;
      EXPECT_EQ(got.dtype, half ? DType::f16 : DType::f32) << check.file << ": the input's dtype";
      const auto result = golden::check_gradient(check.file, got, golden::values(*check.keras),
                                                 *check.magnitude, tolerance, floor);
      EXPECT_TRUE(result.ok) << result.summary;
    }
    EXPECT_EQ(directory_entries(out_dir()).size(), checks.size()) << "only the gradient files";
  }

  ScratchDir dir;
};

GradientCase find_case(bool use_bias) {
  for (const auto& c : golden::gradient_cases()) {
    if (c.policy == "float32" &&
        golden::load_gradient_data(c).config.layer.use_bias == use_bias) {
      return c;
    }
  }
  throw std::runtime_error("no golden gradient case with the wanted use_bias");
}

// ---- every golden case, on the CPU and the GPU -----------------------------------------------------

TEST_F(Backward, EveryGoldenCaseOnTheCpuMatchesKeras) {
  const auto cases = golden::gradient_cases();
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) {
    expect_matches_keras(c, "cpu");
    std::filesystem::remove_all(out_dir());
    std::filesystem::create_directory(out_dir());
  }
}

TEST_F(Backward, EveryGoldenCaseOnTheGpuMatchesKeras) {
  if (!gpu_available()) GTEST_SKIP() << "no usable CUDA device";
  for (const auto& c : golden::gradient_cases()) {
    expect_matches_keras(c, "gpu");
    std::filesystem::remove_all(out_dir());
    std::filesystem::create_directory(out_dir());
  }
}

TEST_F(Backward, PrintsWhatItWrote) {
  const Result r = run(args(find_case(true), {{"--device", "cpu"}}));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* name : {"dx", "ddw", "dpw", "db"}) {
    EXPECT_NE(r.out.find(out(name)), std::string::npos) << r.out;
  }
  EXPECT_NE(r.out.find("device cpu"), std::string::npos) << r.out;
}

TEST_F(Backward, TheMainHelpPointsToIt) {
  const Result r = run({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("sepconv1d backward --help"), std::string::npos) << r.out;
}

TEST_F(Backward, HelpMentionsEveryFlag) {
  const Result r = run({"backward", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.err.empty()) << r.err;
  for (const char* flag : {"--config", "--depthwise", "--pointwise", "--bias", "--input",
                           "--grad-output", "--grad-input", "--grad-depthwise", "--grad-pointwise",
                           "--grad-bias", "--device", "--dtype"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

// ---- errors: usage (exit 2) --------------------------------------------------------------------

TEST_F(Backward, MissingFlagsAreUsageErrors) {
  const GradientCase c = find_case(true);
  for (const char* flag : {"--config", "--depthwise", "--pointwise", "--input", "--grad-output",
                           "--grad-input", "--grad-depthwise", "--grad-pointwise"}) {
    SCOPED_TRACE(flag);
    expect_failure(run(args(c, {{flag, ""}})), 2, {std::string("missing ") + flag});
  }
}

TEST_F(Backward, BadFlagsAreUsageErrors) {
  const GradientCase c = find_case(true);
  expect_failure(run(args(c, {{"--output", out("y")}})), 2, {"unknown flag '--output'"});
  expect_failure(run(args(c, {{"--device", "tpu"}})), 2, {"--device 'tpu'"});
  expect_failure(run(args(c, {{"--dtype", "f64"}})), 2, {"--dtype 'f64'"});
  std::vector<std::string> twice = args(c);
  twice.insert(twice.end(), {"--grad-input", out("dx2")});
  expect_failure(run(twice), 2, {"--grad-input given twice"});
  std::vector<std::string> dangling = args(c);
  dangling.push_back("--grad-bias");
  expect_failure(run(dangling), 2, {"missing value for --grad-bias"});
}

// ---- errors: data (exit 1) ---------------------------------------------------------------------

TEST_F(Backward, BiasFlagsFollowUseBias) {
  const GradientCase with = find_case(true), without = find_case(false);
  expect_failure(run(args(with, {{"--bias", ""}})), 1, {"config.json", "use_bias is true", "--bias"});
  expect_failure(run(args(with, {{"--grad-bias", ""}})), 1,
                 {"config.json", "use_bias is true", "--grad-bias"});
  const std::string folder = golden::gradients_directory() + "/" + with.name + "/";
  expect_failure(run(args(without, {{"--bias", folder + "bias.npy"}})), 1,
                 {"use_bias false", "drop --bias"});
  expect_failure(run(args(without, {{"--grad-bias", out("db")}})), 1,
                 {"use_bias false", "drop --grad-bias"});
}

TEST_F(Backward, AGradOutputOfTheWrongShapeOrDtypeNamesItsFile) {
  const GradientCase c = find_case(true);
  const golden::GradientData d = golden::load_gradient_data(c);
  // dy of the input's shape instead of the output's (they differ in channels).
  const std::string wrong = dir.file("dy_wrong.npy");
  io::write_npy(wrong, d.input);
  expect_failure(run(args(c, {{"--grad-output", wrong}})), 1, {wrong, "`dy`"});
  const std::string half = dir.file("dy_half.npy");
  io::write_npy(half, io::converted(d.grad_output, DType::f16));
  expect_failure(run(args(c, {{"--grad-output", half}})), 1, {half, "'<f2'"});
}

TEST_F(Backward, AWeightOfTheWrongShapeNamesItsFile) {
  const GradientCase c = find_case(true);
  const golden::GradientData d = golden::load_gradient_data(c);
  const std::string wrong = dir.file("dw_wrong.npy");
  io::write_npy(wrong, d.pointwise);
  expect_failure(run(args(c, {{"--depthwise", wrong}})), 1, {wrong, "depthwise", "in_channels"});
}

TEST_F(Backward, MissingOrUnreadableFilesNameThemselves) {
  const GradientCase c = find_case(true);
  const std::string missing = dir.file("nope.npy");
  expect_failure(run(args(c, {{"--input", missing}})), 1, {missing});
  const std::string bad = dir.file("bad.json");
  write_file(bad, "{\"filters\": 0}");
  expect_failure(run(args(c, {{"--config", bad}})), 1, {bad});
}

TEST_F(Backward, OutputsThatCannotBeWrittenAreRefusedBeforeAnyWork) {
  const GradientCase c = find_case(true);
  const std::string folder = golden::gradients_directory() + "/" + c.name + "/";
  expect_failure(run(args(c, {{"--grad-pointwise", dir.file("no/such/dir/dpw.npy")}})), 1,
                 {"does not exist"});
  expect_failure(run(args(c, {{"--grad-input", out_dir()}})), 1, {"is a directory"});
  expect_failure(run(args(c, {{"--grad-depthwise", folder + "input.npy"}})), 1,
                 {"input.npy", "--input", "refusing to overwrite"});
  expect_failure(run(args(c, {{"--grad-bias", out("dx")}})), 1,
                 {"--grad-bias", "--grad-input"});
}

TEST_F(Backward, AFailedRunLeavesExistingFilesUntouched) {
  const GradientCase c = find_case(true);
  const std::string before = "not a gradient";
  const std::string kept = dir.file("dx_kept.npy");
  write_file(kept, before);
  const std::string missing = dir.file("nope.npy");
  const Result r = run(args(c, {{"--grad-input", kept}, {"--grad-output", missing}}));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(read_file(kept), before);
}

TEST_F(Backward, GpuWithoutADeviceIsAClearError) {
  if (gpu_available()) GTEST_SKIP() << "a CUDA device is present: --device gpu runs";
  expect_failure(run(args(find_case(true), {{"--device", "gpu"}})), 1, {"--device gpu"});
}

}  // namespace
}  // namespace sepconv::test
