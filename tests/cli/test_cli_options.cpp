// sepconv1d's command-line parsing and its one execution entry point (run_layer).
#include <gtest/gtest.h>

#include <random>

#include "cli_options.h"
#include "run_layer.h"
#include "sepconv/error.h"
#include "sepconv/reference.h"
#include "support/device.h"
#include "support/host_tensor.h"

namespace sepconv::cli {
namespace {

Options parse(std::vector<const char*> args) {
  args.insert(args.begin(), "sepconv1d");
  return parse_options(static_cast<int>(args.size()), args.data());
}

// Expects a UsageError whose message contains `mention`.
void expect_usage_error(std::vector<const char*> args, const std::string& mention) {
  try {
    (void)parse(std::move(args));
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(mention), std::string::npos) << e.what();
  }
}

const std::vector<const char*> kFiles = {"--config", "c.json", "--depthwise", "d.npy",
                                         "--pointwise", "p.npy", "--input", "x.npy",
                                         "--output", "y.npy"};

std::vector<const char*> files_plus(std::vector<const char*> extra) {
  std::vector<const char*> a = {"run"};
  a.insert(a.end(), kFiles.begin(), kFiles.end());
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

TEST(CliOptions, RunWithoutFilesIsTheDemo) {
  const Options o = parse({"run"});
  EXPECT_EQ(o.command, Options::Command::run);
  EXPECT_TRUE(o.demo());
  EXPECT_EQ(o.device, Device::automatic);
  EXPECT_FALSE(o.dtype.has_value());
}

TEST(CliOptions, AllFlags) {
  const Options o = parse(files_plus({"--bias", "b.npy", "--device", "cpu", "--dtype", "bf16", "--quiet"}));
  EXPECT_FALSE(o.demo());
  EXPECT_EQ(*o.config, "c.json");
  EXPECT_EQ(*o.depthwise, "d.npy");
  EXPECT_EQ(*o.pointwise, "p.npy");
  EXPECT_EQ(*o.bias, "b.npy");
  EXPECT_EQ(*o.input, "x.npy");
  EXPECT_EQ(*o.output, "y.npy");
  EXPECT_EQ(o.device, Device::cpu);
  EXPECT_EQ(*o.dtype, DType::bf16);
  EXPECT_TRUE(o.quiet);
}

TEST(CliOptions, EqualsForm) {
  const Options o = parse({"run", "--dtype=f16", "--device=gpu"});
  EXPECT_EQ(*o.dtype, DType::f16);
  EXPECT_EQ(o.device, Device::gpu);
}

TEST(CliOptions, MathAndFloat32Intermediate) {
  const Options d = parse({"run"});
  EXPECT_EQ(d.math, MathMode::exact);
  EXPECT_FALSE(d.float32_intermediate);
  const Options o = parse({"run", "--math", "tf32", "--dtype", "bf16", "--float32-intermediate"});
  EXPECT_EQ(o.math, MathMode::tf32);
  EXPECT_TRUE(o.float32_intermediate);
  EXPECT_EQ(parse({"run", "--math=exact"}).math, MathMode::exact);
}

TEST(CliOptions, Help) {
  EXPECT_EQ(parse({"--help"}).command, Options::Command::help);
  EXPECT_EQ(parse({"-h"}).command, Options::Command::help);
  EXPECT_EQ(parse({"run", "--help"}).command, Options::Command::run_help);
  EXPECT_EQ(parse({"run", "--config", "c.json", "-h"}).command, Options::Command::run_help);
}

TEST(CliOptions, HelpDocumentsEveryFlag) {
  const std::string help = help_text();
  for (const char* flag : {"--config", "--depthwise", "--pointwise", "--bias", "--input",
                           "--output", "--device", "--dtype", "--math", "--float32-intermediate",
                           "--quiet", "--help"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

TEST(CliOptionsError, NoCommand) { expect_usage_error({}, "missing command"); }
TEST(CliOptionsError, BadMath) { expect_usage_error({"run", "--math", "fp8"}, "--math 'fp8'"); }
TEST(CliOptionsError, DuplicateMath) {
  expect_usage_error({"run", "--math", "tf32", "--math", "exact"}, "--math given twice");
}
TEST(CliOptionsError, DuplicateFloat32Intermediate) {
  expect_usage_error({"run", "--float32-intermediate", "--float32-intermediate"},
                     "--float32-intermediate given twice");
}
TEST(CliOptionsError, UnknownCommand) { expect_usage_error({"fly"}, "unknown command 'fly'"); }
TEST(CliOptionsError, UnknownFlag) { expect_usage_error({"run", "--speed", "3"}, "unknown flag '--speed'"); }
TEST(CliOptionsError, Positional) { expect_usage_error({"run", "x.npy"}, "unexpected argument 'x.npy'"); }
TEST(CliOptionsError, MissingValueAtEnd) { expect_usage_error({"run", "--config"}, "missing value for --config"); }
TEST(CliOptionsError, MissingValueBeforeFlag) {
  expect_usage_error({"run", "--input", "--output", "y.npy"}, "missing value for --input");
}
TEST(CliOptionsError, EmptyValue) { expect_usage_error({"run", "--config="}, "empty value for --config"); }
TEST(CliOptionsError, DuplicateFileFlag) {
  expect_usage_error(files_plus({"--input", "z.npy"}), "--input given twice");
}
TEST(CliOptionsError, DuplicateDevice) {
  expect_usage_error({"run", "--device", "cpu", "--device=cpu"}, "--device given twice");
}
TEST(CliOptionsError, DuplicateDtype) {
  expect_usage_error({"run", "--dtype", "f32", "--dtype", "f16"}, "--dtype given twice");
}
TEST(CliOptionsError, DuplicateQuiet) { expect_usage_error({"run", "--quiet", "--quiet"}, "--quiet given twice"); }
TEST(CliOptionsError, BadDevice) { expect_usage_error({"run", "--device", "tpu"}, "--device 'tpu'"); }
TEST(CliOptionsError, BadDtype) { expect_usage_error({"run", "--dtype", "f64"}, "--dtype 'f64'"); }
TEST(CliOptionsError, MissingRequiredFile) {
  expect_usage_error({"run", "--config", "c.json", "--input", "x.npy"},
                     "missing --depthwise, --pointwise, --output");
}
TEST(CliOptionsError, BiasAloneIsNotTheDemo) {
  expect_usage_error({"run", "--bias", "b.npy"}, "missing --config");
}

// ---- run_layer ------------------------------------------------------------------------------------

class RunLayer : public ::testing::Test {
 protected:
  void SetUp() override {
    config.filters = 3;
    config.kernel_size = 2;
    std::mt19937_64 rng(3);
    x = test::random_input(config, 2, 6, 4, DType::f32, rng);
    weights = test::random_weights(config, 4, DType::f32, rng);
    y = test::poisoned_output(config, 2, 6, DType::f32);
  }
  LayerConfig config;
  test::HostTensor x, y;
  test::HostWeights weights;
};

TEST_F(RunLayer, CpuIsTheReference) {
  EXPECT_EQ(run_layer(config, Precision{DType::f32}, x.view(), weights.view(), y.view(), Device::cpu).device,
            Device::cpu);
  test::HostTensor expected = test::poisoned_output(config, 2, 6, DType::f32);
  reference::forward(config, x.view(), weights.view(), expected.view());
  EXPECT_EQ(y.values(), expected.values());
}

TEST_F(RunLayer, AutoRunsOnTheGpuWhenThereIsOne) {
  const Device expected = test::gpu_available() ? Device::gpu : Device::cpu;
  EXPECT_EQ(run_layer(config, Precision{DType::f32}, x.view(), weights.view(), y.view(), Device::automatic).device,
            expected);
}

TEST_F(RunLayer, GpuWithoutAUsableDeviceIsAClearError) {
  if (test::gpu_available()) GTEST_SKIP() << "a CUDA device is present: --device gpu runs";
  try {
    (void)run_layer(config, Precision{DType::f32}, x.view(), weights.view(), y.view(), Device::gpu);
    ADD_FAILURE() << "--device gpu ran without a GPU";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("--device gpu"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
  }
}

TEST_F(RunLayer, Tf32NeedsAFloat32Gemm) {
  try {
    (void)run_layer(config, Precision{DType::f32, MathMode::tf32}, x.view(), weights.view(), y.view(),
                    Device::cpu);
  } catch (const InvalidArgument& e) {
    ADD_FAILURE() << "tf32 on a float32 layer was rejected: " << e.what();
  }
  test::HostTensor xh = test::HostTensor(DType::f16, x.shape());
  xh.assign(x.values());
  try {
    (void)run_layer(config, Precision{DType::f16, MathMode::tf32}, xh.view(), weights.view(), y.view(),
                    Device::cpu);
    ADD_FAILURE() << "tf32 on a float16 GEMM ran";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "precision");
  }
}

TEST_F(RunLayer, ValidatesBeforeChoosingTheDevice) {
  EXPECT_THROW((void)run_layer(config, Precision{DType::f16}, x.view(), weights.view(), y.view(), Device::gpu),
               InvalidArgument);
}

TEST(Device, ParseAndPrint) {
  for (Device d : {Device::cpu, Device::gpu, Device::automatic}) {
    EXPECT_EQ(parse_device(to_string(d)), d);
  }
  EXPECT_THROW((void)parse_device("GPU"), InvalidArgument);
}

}  // namespace
}  // namespace sepconv::cli
