// End-to-end tests of the sepconv1d binary: golden Keras layers run from their exported files, the
// dtypes, the demo, --help, and every kind of bad input — each must exit non-zero with ONE message
// on stderr naming the file and the problem, and leave no output file (not even a partial one).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>

#include "cli/cli_test_support.h"
#include "cli/sepconv1d_runner.h"
#include "golden/golden_data.h"
#include "io/npy.h"
#include "sepconv/accuracy.h"
#include "sepconv/reference.h"
#include "sepconv/version.h"
#include "support/device.h"

namespace sepconv::test {
namespace {

using golden::Case;
using io::HostArray;

using Result = CommandResult;

class Sepconv1d : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directory(out_dir()); }

  // Runs the binary with `args`; stdout and stderr are captured beside (not in) out_dir().
  Result run(const std::vector<std::string>& args) { return run_command(SEPCONV1D_PATH, args, dir); }

  std::string out_dir() const { return dir.file("out"); }
  std::string output() const { return out_dir() + "/y.npy"; }

  // The flags of a golden forward case; `replace` overrides a flag's value, removes a flag (empty
  // value) or adds one (an empty value adds a switch such as --quiet).
  std::vector<std::string> golden_args(const Case& c, const Flags& replace = {}) {
    const std::string folder = golden::directory() + "/" + c.name + "/";
    Flags flags = {
        {"--config", folder + "config.json"},
        {"--depthwise", folder + "depthwise.npy"},
        {"--pointwise", folder + "pointwise.npy"},
        {"--input", folder + "input.npy"},
        {"--output", output()}};
    if (golden::load_config(c).layer.use_bias) flags.push_back({"--bias", folder + "bias.npy"});
    return command_line("run", flags, replace);
  }

  // A non-zero exit `status`, exactly one line on stderr mentioning every text of `mentions`, and
  // nothing in the output directory.
  void expect_failure(const Result& r, int status, const std::vector<std::string>& mentions) {
    expect_cli_failure(r, status, mentions, out_dir());
  }

  ScratchDir dir;
};

// A golden forward case by a property, so the tests do not depend on case numbering.
Case find_case(const std::function<bool(const Case&, const LayerConfig&)>& want) {
  for (const auto& c : golden::cases_of_kind("forward")) {
    if (want(c, golden::load_config(c).layer)) return c;
  }
  throw std::runtime_error("no golden case with the wanted property");
}
Case with_bias() {
  return find_case([](const Case&, const LayerConfig& l) { return l.use_bias && l.filters > 1; });
}
Case without_bias() {
  return find_case([](const Case& c, const LayerConfig& l) { return !l.use_bias && c.input_shape[0] > 0; });
}

// ---- help and demo --------------------------------------------------------------------------------

TEST_F(Sepconv1d, HelpMentionsEveryFlag) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"}, {"run", "--help"}}) {
    const Result r = run(args);
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(r.err.empty()) << r.err;
    for (const char* flag : {"--config", "--depthwise", "--pointwise", "--bias", "--input",
                             "--output", "--device", "--dtype", "--quiet", "--help"}) {
      EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
    }
  }
}

TEST_F(Sepconv1d, DemoPrintsChecksum) {
  const Result r = run({"run"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("checksum (sum of outputs): "), std::string::npos) << r.out;
  // --device auto: the GPU where there is one (here: a simulated one says so), else the CPU.
  EXPECT_NE(r.out.find(gpu_available() ? "device gpu" : "device cpu"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("simulated") != std::string::npos, SEPCONV_SIMULATED_DEVICE == 1) << r.out;
  EXPECT_NE(r.out.find("(4, 512, 64)"), std::string::npos) << r.out;
}

TEST_F(Sepconv1d, DemoIsDeterministic) {
  for (const char* device : {"cpu", "auto"}) {
    const std::string a = run({"run", "--device", device}).out;
    const std::string b = run({"run", "--device", device}).out;
    EXPECT_EQ(a.substr(a.find("checksum")), b.substr(b.find("checksum"))) << device;
  }
}

TEST_F(Sepconv1d, DemoOnGpuWithoutADeviceIsAClearError) {
  if (gpu_available()) GTEST_SKIP() << "a CUDA device is present: the demo runs on it";
  const Result r = run({"run", "--device", "gpu"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--device gpu"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CUDA"), std::string::npos) << r.err;
}

// ---- golden layers --------------------------------------------------------------------------------

class Sepconv1dGolden : public Sepconv1d, public ::testing::WithParamInterface<Case> {};

TEST_P(Sepconv1dGolden, MatchesKeras) {
  const Case& c = GetParam();
  // On the GPU where there is one (a simulated one in a simulated build), else the CPU.
  const Result r =
      run(golden_args(c, {{"--quiet", ""}, {"--device", gpu_available() ? "gpu" : "cpu"}}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << "--quiet printed: " << r.out;
  const golden::ForwardCase f = golden::load_forward(c);
  const HostArray y = io::read_npy(output());
  ASSERT_EQ(y.dtype, DType::f32);
  ASSERT_EQ(y.shape, f.output.shape);
  if (y.numel() == 0) return;  // batch 0: nothing to compare
  const LayerConfig& config = f.config.layer;
  const auto detail = reference::forward_detail(config, f.input.view(), f.weights());
  for (const auto* out : {&y, &f.output}) {
    const auto report = accuracy::compare(config, f.in_channels(), DType::f32, MathMode::exact,
                                          detail, out->view());
    EXPECT_TRUE(report.ok()) << (out == &y ? "sepconv1d: " : "Keras: ") << report.summary();
  }
}

// Every 7th forward case, and the batch-0 one: both frameworks, all paddings, both formats.
std::vector<Case> some_forward_cases() {
  std::vector<Case> all = golden::cases_of_kind("forward");
  std::vector<Case> some;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i % 7 == 0 || all[i].input_shape[0] == 0) some.push_back(all[i]);
  }
  return some;
}

INSTANTIATE_TEST_SUITE_P(Keras, Sepconv1dGolden, ::testing::ValuesIn(some_forward_cases()),
                         golden::CaseName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Sepconv1dGolden);

// ---- dtypes ---------------------------------------------------------------------------------------

// Runs a golden case with its arrays converted to float16 files; the output must be '<f2' and
// within the float16 bound of the reference on the same float16 inputs.
TEST_F(Sepconv1d, Float16FilesComputeInFloat16) {
  const Case c = with_bias();
  const golden::ForwardCase f = golden::load_forward(c);
  const auto half = [&](const HostArray& a, const char* name) {
    io::write_npy(dir.file(name), io::converted(a, DType::f16));
    return io::converted(a, DType::f16);
  };
  const HostArray x = half(f.input, "x16.npy");
  const HostArray dw = half(f.depthwise, "dw16.npy");
  const HostArray pw = half(f.pointwise, "pw16.npy");
  const HostArray b = half(f.bias, "b16.npy");
  const Result r = run(golden_args(c, {{"--input", dir.file("x16.npy")},
                                       {"--depthwise", dir.file("dw16.npy")},
                                       {"--pointwise", dir.file("pw16.npy")},
                                       {"--bias", dir.file("b16.npy")}}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("float16"), std::string::npos) << r.out;
  const HostArray y = io::read_npy(output());
  ASSERT_EQ(y.dtype, DType::f16);
  const auto detail = reference::forward_detail(f.config.layer, x.view(), {dw.view(), pw.view(), b.view()});
  const auto report = accuracy::compare(f.config.layer, f.in_channels(), DType::f16,
                                        MathMode::exact, detail, y.view());
  EXPECT_TRUE(report.ok()) << report.summary();
}

// --dtype bf16 rounds the float32 files to bfloat16 and writes the bfloat16 result as '<f4'.
TEST_F(Sepconv1d, Bfloat16FromFloat32Files) {
  const Case c = with_bias();
  const golden::ForwardCase f = golden::load_forward(c);
  const auto bf = [](const HostArray& a) { return io::converted(a, DType::bf16); };
  const HostArray x = bf(f.input), dw = bf(f.depthwise), pw = bf(f.pointwise), b = bf(f.bias);
  // The CPU: exactly the reference on the bf16-rounded inputs, rounded to bf16.
  Result r = run(golden_args(c, {{"--dtype", "bf16"}, {"--device", "cpu"}}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("bfloat16"), std::string::npos) << r.out;
  HostArray y = io::read_npy(output());
  ASSERT_EQ(y.dtype, DType::f32);
  HostArray expected = HostArray::zeros(DType::bf16, f.output.shape);
  reference::forward(f.config.layer, x.view(), {dw.view(), pw.view(), b.view()}, expected.view());
  EXPECT_EQ(y.bytes, io::converted(expected, DType::f32).bytes);
  // The GPU rounds its intermediate to bf16 too: within the bfloat16 bound.
  if (!gpu_available()) return;
  r = run(golden_args(c, {{"--dtype", "bf16"}, {"--device", "gpu"}}));
  ASSERT_EQ(r.status, 0) << r.err;
  y = io::read_npy(output());
  ASSERT_EQ(y.dtype, DType::f32);
  const auto detail = reference::forward_detail(f.config.layer, x.view(), {dw.view(), pw.view(), b.view()});
  const auto report = accuracy::compare(f.config.layer, f.in_channels(), DType::bf16,
                                        MathMode::exact, detail, y.view());
  EXPECT_TRUE(report.ok()) << report.summary();
}

// A config whose dtype is mixed_bfloat16 makes float32 files compute in bfloat16.
TEST_F(Sepconv1d, ConfigDtypeBfloat16WithFloat32Files) {
  const Case c = with_bias();
  auto json = nlohmann::json::parse(read_file(golden::directory() + "/" + c.name + "/config.json"));
  json["dtype"] = {{"module", "keras"}, {"class_name", "DTypePolicy"},
                   {"config", {{"name", "mixed_bfloat16"}}}};
  write_file(dir.file("bf.json"), json.dump());
  const Result r = run(golden_args(c, {{"--config", dir.file("bf.json")}}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("bfloat16"), std::string::npos) << r.out;
}

TEST_F(Sepconv1d, DtypeMismatchBetweenFiles) {
  const Case c = with_bias();
  const golden::ForwardCase f = golden::load_forward(c);
  io::write_npy(dir.file("pw16.npy"), io::converted(f.pointwise, DType::f16));
  const Result r = run(golden_args(c, {{"--pointwise", dir.file("pw16.npy")}}));
  expect_failure(r, 1, {dir.file("pw16.npy"), "dtype '<f2' (float16)", "float32"});
}

TEST_F(Sepconv1d, DtypeFlagAgainstFiles) {
  const Result r = run(golden_args(with_bias(), {{"--dtype", "f16"}}));
  expect_failure(r, 1, {"input.npy", "dtype '<f4' (float32)", "float16", "--dtype"});
}

// ---- bad inputs -----------------------------------------------------------------------------------

TEST_F(Sepconv1d, TruncatedInput) {
  const Case c = with_bias();
  std::string bytes = read_file(golden::directory() + "/" + c.name + "/input.npy");
  bytes.resize(bytes.size() - 6);
  write_file(dir.file("short.npy"), bytes);
  expect_failure(run(golden_args(c, {{"--input", dir.file("short.npy")}})), 1,
                 {dir.file("short.npy"), "truncated"});
}

TEST_F(Sepconv1d, InputWithWrongChannelCount) {
  const Case c = with_bias();
  const golden::ForwardCase f = golden::load_forward(c);
  std::vector<std::int64_t> shape = f.input.shape;
  shape[f.config.layer.data_format == DataFormat::channels_last ? 2 : 1] += 1;
  io::write_npy(dir.file("wide.npy"), HostArray::zeros(DType::f32, shape));
  expect_failure(run(golden_args(c, {{"--input", dir.file("wide.npy")}})), 1,
                 {"depthwise.npy", "`depthwise`", "in_channels", dir.file("wide.npy")});
}

TEST_F(Sepconv1d, InputOfWrongRank) {
  const Case c = with_bias();
  io::write_npy(dir.file("flat.npy"), HostArray::zeros(DType::f32, {12}));
  expect_failure(run(golden_args(c, {{"--input", dir.file("flat.npy")}})), 1,
                 {dir.file("flat.npy"), "`x`", "rank 3"});
}

TEST_F(Sepconv1d, InputTooShortForValidPadding) {
  write_file(dir.file("c.json"), R"({"filters": 2, "kernel_size": 5})");
  io::write_npy(dir.file("x.npy"), HostArray::zeros(DType::f32, {1, 3, 2}));
  io::write_npy(dir.file("dw.npy"), HostArray::zeros(DType::f32, {5, 2, 1}));
  io::write_npy(dir.file("pw.npy"), HostArray::zeros(DType::f32, {1, 2, 2}));
  io::write_npy(dir.file("b.npy"), HostArray::zeros(DType::f32, {2}));
  expect_failure(run({"run", "--config", dir.file("c.json"), "--depthwise", dir.file("dw.npy"),
                      "--pointwise", dir.file("pw.npy"), "--bias", dir.file("b.npy"), "--input",
                      dir.file("x.npy"), "--output", output()}),
                 1, {dir.file("x.npy"), "`length`", "3 steps"});
}

TEST_F(Sepconv1d, PointwiseOfWrongShape) {
  const Case c = with_bias();
  io::write_npy(dir.file("pw.npy"), HostArray::zeros(DType::f32, {1, 1, 1}));
  expect_failure(run(golden_args(c, {{"--pointwise", dir.file("pw.npy")}})), 1,
                 {dir.file("pw.npy"), "`pointwise`"});
}

TEST_F(Sepconv1d, BadJson) {
  write_file(dir.file("bad.json"), "{\"filters\": 4, ");
  expect_failure(run(golden_args(with_bias(), {{"--config", dir.file("bad.json")}})), 1,
                 {dir.file("bad.json"), "not valid JSON"});
}

TEST_F(Sepconv1d, InvalidConfig) {
  write_file(dir.file("bad.json"), R"({"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2})");
  expect_failure(run(golden_args(with_bias(), {{"--config", dir.file("bad.json")}})), 1,
                 {dir.file("bad.json"), "`strides`"});
}

TEST_F(Sepconv1d, NotAnNpyFile) {
  const Case c = with_bias();
  const std::string config = golden::directory() + "/" + c.name + "/config.json";
  expect_failure(run(golden_args(c, {{"--depthwise", config}})), 1, {config, "magic"});
}

TEST_F(Sepconv1d, MissingInputFile) {
  expect_failure(run(golden_args(with_bias(), {{"--input", dir.file("absent.npy")}})), 1,
                 {dir.file("absent.npy"), "cannot open"});
}

TEST_F(Sepconv1d, MissingFlag) {
  expect_failure(run(golden_args(with_bias(), {{"--input", ""}})), 2, {"missing --input"});
}

TEST_F(Sepconv1d, UnknownFlag) {
  expect_failure(run(golden_args(with_bias(), {{"--fast", "yes"}})), 2, {"unknown flag '--fast'"});
}

TEST_F(Sepconv1d, DuplicateFlag) {
  std::vector<std::string> args = golden_args(with_bias());
  args.push_back("--device");
  args.push_back("cpu");
  args.push_back("--device");
  args.push_back("auto");
  expect_failure(run(args), 2, {"--device given twice"});
}

TEST_F(Sepconv1d, BiasGivenWithUseBiasFalse) {
  const Case c = without_bias();
  const std::string bias = golden::directory() + "/" + with_bias().name + "/bias.npy";
  expect_failure(run(golden_args(c, {{"--bias", bias}})), 1, {bias, "use_bias false"});
}

TEST_F(Sepconv1d, BiasMissingWithUseBiasTrue) {
  expect_failure(run(golden_args(with_bias(), {{"--bias", ""}})), 1, {"config.json", "--bias"});
}

TEST_F(Sepconv1d, OutputInMissingDirectory) {
  const std::string out = dir.file("no/such/dir/y.npy");
  expect_failure(run(golden_args(with_bias(), {{"--output", out}})), 1, {out, "does not exist"});
  EXPECT_FALSE(std::filesystem::exists(dir.file("no")));
}

TEST_F(Sepconv1d, OutputSameAsInputIsRefused) {
  const Case c = with_bias();
  const golden::ForwardCase f = golden::load_forward(c);
  io::write_npy(dir.file("x.npy"), f.input);
  const std::string before = read_file(dir.file("x.npy"));
  const Result r = run(golden_args(c, {{"--input", dir.file("x.npy")}, {"--output", dir.file("x.npy")}}));
  expect_failure(r, 1, {dir.file("x.npy"), "also an input file"});
  EXPECT_EQ(read_file(dir.file("x.npy")), before);
}

TEST_F(Sepconv1d, FailureLeavesAnExistingOutputUntouched) {
  write_file(output(), "previous result");
  // A failure after the files were read: the layer asks for float16 files.
  const Result r = run(golden_args(with_bias(), {{"--dtype", "f16"}}));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("float16"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(output()), "previous result");
  EXPECT_EQ(directory_entries(out_dir()), std::vector<std::string>{"y.npy"});
}

TEST_F(Sepconv1d, GpuWithoutADeviceIsAClearError) {
  if (gpu_available()) GTEST_SKIP() << "a CUDA device is present: --device gpu runs";
  expect_failure(run(golden_args(with_bias(), {{"--device", "gpu"}})), 1, {"--device gpu", "CUDA"});
}

}  // namespace
}  // namespace sepconv::test
