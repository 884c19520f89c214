// sepconv1d run --chunk N (docs/cli.md): the input run as a stream, N steps at a time, writes the
// output the whole-sequence run writes on the same device — bit for bit on the CPU (the
// reference's streaming sums as its forward does) and on the simulated device (every kernel path
// computes an output the same way whatever the chunk); on a GPU, where cuBLASLt may choose another
// algorithm for another chunk length, each within the accuracy bound of the reference. Layers
// that cannot stream and bad --chunk values are clear errors that leave no output file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/cli_test_support.h"
#include "io/npy.h"
#include "sepconv/accuracy.h"
#include "sepconv/reference.h"
#include "sepconv/version.h"
#include "support/device.h"
#include "support/host_tensor.h"
#include "support/stream_cases.h"

namespace sepconv::test {
namespace {

using io::HostArray;

// A layer's files: config, weights and input, written as the CLI reads them.
struct LayerFiles {
  LayerConfig config;
  DType dtype = DType::f32;  // f16: '<f2' files; f32 and bf16 (--dtype bf16): '<f4' files
  std::int64_t channels = 0;
  HostWeights weights;  // in the compute dtype (what the CLI computes on after reading the files)
  HostTensor x;
  std::vector<std::string> flags;  // --config ... --input ...
};

// A host tensor as a .npy file: '<f2' for f16, else '<f4' (bf16 values are exact in float32).
void write_tensor(const std::string& path, const HostTensor& t) {
  const std::vector<double> values = t.values();
  HostArray f32 = HostArray::zeros(DType::f32, t.shape());
  auto* f = reinterpret_cast<float*>(f32.bytes.data());
  for (std::size_t i = 0; i < values.size(); ++i) f[i] = static_cast<float>(values[i]);
  io::write_npy(path, t.view().dtype == DType::f16 ? io::converted(f32, DType::f16) : f32);
}

LayerFiles write_layer(const ScratchDir& dir, const LayerConfig& c, DType dtype,
                       std::int64_t channels, std::int64_t batch, std::int64_t length,
                       std::mt19937_64& rng) {
  LayerFiles l{c, dtype, channels, random_weights(c, channels, dtype, rng),
               random_input(c, batch, length, channels, dtype, rng), {}};
  const nlohmann::json json = {{"filters", c.filters},
                               {"kernel_size", {c.kernel_size}},
                               {"strides", {c.strides}},
                               {"padding", std::string(to_string(c.padding))},
                               {"data_format", std::string(to_string(c.data_format))},
                               {"dilation_rate", {c.dilation_rate}},
                               {"depth_multiplier", c.depth_multiplier},
                               {"activation", std::string(to_string(c.activation))},
                               {"use_bias", c.use_bias}};
  write_file(dir.file("config.json"), json.dump());
  write_tensor(dir.file("dw.npy"), l.weights.depthwise);
  write_tensor(dir.file("pw.npy"), l.weights.pointwise);
  write_tensor(dir.file("x.npy"), l.x);
  l.flags = {"run", "--config", dir.file("config.json"), "--depthwise", dir.file("dw.npy"),
             "--pointwise", dir.file("pw.npy"), "--input", dir.file("x.npy"), "--quiet"};
  if (c.use_bias) {
    write_tensor(dir.file("b.npy"), l.weights.bias);
    l.flags.insert(l.flags.end(), {"--bias", dir.file("b.npy")});
  }
  if (dtype == DType::bf16) l.flags.insert(l.flags.end(), {"--dtype", "bf16"});
  return l;
}

class CliChunk : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directory(out_dir()); }
  std::string out_dir() const { return dir.file("out"); }

  CommandResult run(std::vector<std::string> args) { return run_command(SEPCONV1D_PATH, args, dir); }

  // Runs the layer on `device` into out/<name>.npy, with `extra` flags; the output's bytes.
  std::string run_to(const LayerFiles& l, const std::string& device, const std::string& name,
                     const std::vector<std::string>& extra) {
    std::vector<std::string> args = l.flags;
    args.insert(args.end(), {"--device", device, "--output", out_dir() + "/" + name + ".npy"});
    args.insert(args.end(), extra.begin(), extra.end());
    const CommandResult r = run(args);
    EXPECT_EQ(r.status, 0) << name << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    return read_file(out_dir() + "/" + name + ".npy");
  }

  // A non-zero exit `status`, one line on stderr naming every text of `mentions`, no output file.
  void expect_failure(const CommandResult& r, int status, const std::vector<std::string>& mentions) {
    EXPECT_EQ(r.status, status) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    for (const auto& m : mentions) EXPECT_NE(r.err.find(m), std::string::npos) << m << " in: " << r.err;
    EXPECT_EQ(directory_entries(out_dir()), std::vector<std::string>{}) << "an output was left";
  }

  ScratchDir dir;
};

// The CLI's output file against the reference of the same (compute-dtype) inputs.
void expect_within_bound(const LayerFiles& l, const std::string& npy, const std::string& what) {
  const HostArray y = io::parse_npy(reinterpret_cast<const unsigned char*>(npy.data()), npy.size(),
                                    what);
  const auto detail = reference::forward_detail(l.config, l.x.view(), l.weights.view());
  const auto report = accuracy::compare(l.config, l.channels, l.dtype, MathMode::exact, detail,
                                        io::converted(y, l.dtype).view());
  EXPECT_TRUE(report.ok()) << what << ": " << report.summary();
  EXPECT_EQ(report.checked, y.numel()) << what;
}

struct ChunkCase {
  LayerConfig config;
  DType dtype;
};

// Fixed layers for what must be covered (both formats and paddings, strides, dilations, the three
// dtypes, a row reduction), then random streamable layers.
std::vector<ChunkCase> chunk_cases() {
  std::vector<ChunkCase> cases;
  LayerConfig a;  // causal, dilated, channels_last, f32
  a.filters = 3, a.kernel_size = 3, a.dilation_rate = 2, a.padding = Padding::causal;
  a.activation = Activation::relu, a.depth_multiplier = 2;
  cases.push_back({a, DType::f32});
  LayerConfig b;  // valid, strided, channels_first, f16, no bias
  b.filters = 4, b.kernel_size = 4, b.strides = 3, b.padding = Padding::valid;
  b.data_format = DataFormat::channels_first, b.activation = Activation::tanh, b.use_bias = false;
  cases.push_back({b, DType::f16});
  LayerConfig c;  // causal, strided, channels_last softmax, bf16
  c.filters = 5, c.kernel_size = 5, c.strides = 2, c.padding = Padding::causal;
  c.activation = Activation::softmax;
  cases.push_back({c, DType::bf16});
  std::mt19937_64 rng(1657);
  for (int i = 0; i < 2; ++i) cases.push_back({random_stream_config(rng), DType::f32});
  return cases;
}

TEST_F(CliChunk, ChunkedRunsWriteTheWholeRunsOutput) {
  std::mt19937_64 rng(1663);
  std::vector<std::string> devices = {"cpu"};
  if (gpu_available()) devices.emplace_back("gpu");
  int compared = 0;
  for (const ChunkCase& k : chunk_cases()) {
    const std::int64_t length = effective_kernel_size(k.config) + 9;
    const LayerFiles l = write_layer(dir, k.config, k.dtype, 3, 2, length, rng);
    const std::string name = describe(k.config) + " " + std::string(to_string(k.dtype));
    for (const std::string& device : devices) {
      const std::string whole = run_to(l, device, "whole", {});
      ASSERT_FALSE(whole.empty()) << name;
      // One-step chunks, a length that leaves a short last chunk, and one chunk longer than x.
      const std::int64_t odd = 2 + static_cast<std::int64_t>(rng() % 3);
      for (const std::int64_t n : {std::int64_t{1}, odd, length + 3}) {
        const std::string what = name + ", " + device + ", --chunk " + std::to_string(n);
        const std::string chunked = run_to(l, device, "chunked", {"--chunk", std::to_string(n)});
        if (device == "cpu" || SEPCONV_SIMULATED_DEVICE) {
          EXPECT_EQ(chunked, whole) << what;  // the whole .npy file, bit for bit
        } else {
          expect_within_bound(l, chunked, what);
        }
        ++compared;
      }
      expect_within_bound(l, whole, name + ", " + device + ", whole");
      std::filesystem::remove_all(out_dir());
      std::filesystem::create_directory(out_dir());
    }
  }
  EXPECT_EQ(compared, 15 * static_cast<int>(devices.size()));
}

TEST_F(CliChunk, PrintsTheChunking) {
  std::mt19937_64 rng(1667);
  LayerConfig c;
  c.filters = 2, c.kernel_size = 3, c.padding = Padding::causal;
  const LayerFiles l = write_layer(dir, c, DType::f32, 2, 1, 8, rng);
  std::vector<std::string> args = l.flags;
  args.erase(std::find(args.begin(), args.end(), "--quiet"));
  args.insert(args.end(), {"--output", out_dir() + "/y.npy", "--chunk", "3"});
  const CommandResult r = run(args);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("chunks of 3 steps"), std::string::npos) << r.out;
}

TEST_F(CliChunk, SamePaddingCannotStream) {
  std::mt19937_64 rng(1669);
  LayerConfig c;
  c.filters = 2, c.kernel_size = 3, c.padding = Padding::same;
  const LayerFiles l = write_layer(dir, c, DType::f32, 2, 1, 8, rng);
  for (const char* device : {"cpu", "auto"}) {
    std::vector<std::string> args = l.flags;
    args.insert(args.end(), {"--output", out_dir() + "/y.npy", "--chunk", "2", "--device", device});
    expect_failure(run(args), 1, {dir.file("config.json"), "`padding`", "same"});
  }
}

TEST_F(CliChunk, ChannelsFirstSoftmaxCannotStream) {
  std::mt19937_64 rng(1693);
  LayerConfig c;
  c.filters = 2, c.kernel_size = 3, c.padding = Padding::causal;
  c.data_format = DataFormat::channels_first, c.activation = Activation::softmax;
  const LayerFiles l = write_layer(dir, c, DType::f32, 2, 1, 8, rng);
  std::vector<std::string> args = l.flags;
  args.insert(args.end(), {"--output", out_dir() + "/y.npy", "--chunk", "2"});
  expect_failure(run(args), 1, {dir.file("config.json"), "`activation`", "channels_first"});
}

TEST_F(CliChunk, BadChunkValuesAreUsageErrors) {
  std::mt19937_64 rng(1697);
  LayerConfig c;
  c.filters = 2, c.kernel_size = 3, c.padding = Padding::causal;
  const LayerFiles l = write_layer(dir, c, DType::f32, 2, 1, 8, rng);
  for (const char* value : {"0", "-2", "abc", "2.5", "3x", "99999999999999999999999"}) {
    std::vector<std::string> args = l.flags;
    args.insert(args.end(), {"--output", out_dir() + "/y.npy", std::string("--chunk=") + value});
    expect_failure(run(args), 2, {"--chunk", value, ">= 1"});
  }
  std::vector<std::string> twice = l.flags;
  twice.insert(twice.end(), {"--output", out_dir() + "/y.npy", "--chunk", "2", "--chunk", "3"});
  expect_failure(run(twice), 2, {"--chunk given twice"});
  expect_failure(run({"run", "--chunk", "4"}), 2, {"--chunk", "from files"});
}

TEST_F(CliChunk, HelpDocumentsTheFlag) {
  const CommandResult r = run({"run", "--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--chunk N"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace sepconv::test
