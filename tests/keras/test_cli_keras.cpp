// The sepconv1d binary on Keras model files, end to end:
//   run --keras MODEL [--config CONFIG.json] [--layer NAME] --input X.npy --output Y.npy
//   layers MODEL [--config CONFIG.json]
// Every layer of every file, on the CPU reference and on the GPU (the simulated device in a
// simulated build): the output file and Keras's output both lie within the accuracy bound of the
// reference on the weights the library loads. Every error: exit 1 (data) or 2 (usage), one line on
// stderr naming the file and the problem, no output file.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <sstream>

#include "cli/sepconv1d_runner.h"
#include "io/npy.h"
#include "keras/keras_models.h"
#include "sepconv/accuracy.h"
#include "sepconv/keras.h"
#include "sepconv/reference.h"
#include "sepconv/version.h"
#include "support/device.h"

namespace sepconv::test {
namespace {

using keras_models::LayerLoad;

using keras_models::model;
using keras_models::model_file;

class CliKeras : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directory(out_dir()); }
  CliResult run(const std::vector<std::string>& args) { return run_sepconv1d(args, dir); }
  std::string out_dir() const { return dir.file("out"); }
  std::string output() const { return out_dir() + "/y.npy"; }
  void expect_failure(const CliResult& r, int status, const std::vector<std::string>& mentions) {
    expect_cli_failure(r, status, mentions, out_dir());
  }
  // run --keras FILE [--config C] [--layer L] --input X --output Y, plus `extra`.
  std::vector<std::string> keras_args(const std::string& file, const std::string& config,
                                      const std::string& layer, const std::string& input,
                                      const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"run", "--keras", file};
    if (!config.empty()) args.insert(args.end(), {"--config", config});
    if (!layer.empty()) args.insert(args.end(), {"--layer", layer});
    args.insert(args.end(), {"--input", input, "--output", output()});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  ScratchDir dir;
};

// ---- every layer of every file, on the CPU and the GPU ------------------------------------------

struct DeviceLoad {
  LayerLoad load;
  std::string device;  // "cpu" or "gpu"
};
void PrintTo(const DeviceLoad& d, std::ostream* os) { *os << d.load.name << "_" << d.device; }

std::vector<DeviceLoad> device_loads() {
  std::vector<DeviceLoad> out;
  for (const auto& l : keras_models::layer_loads()) {
    for (const char* device : {"cpu", "gpu"}) out.push_back({l, device});
  }
  return out;
}

class CliKerasLayer : public CliKeras, public ::testing::WithParamInterface<DeviceLoad> {};

TEST_P(CliKerasLayer, ReproducesKeras) {
  const LayerLoad& l = GetParam().load;
  const std::string& device = GetParam().device;
  if (device == "gpu" && !gpu_available()) GTEST_SKIP() << "no CUDA device";
  const CliResult r = run(keras_args(l.file, l.config, l.layer.path, keras_models::file(l.layer.input),
                                     {"--device", device, "--quiet"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "");

  const keras::Layer layer = keras::load_layer(l.file, l.layer.path, l.config);
  const DType dtype = layer.precision.dtype;
  const io::HostArray y = io::read_npy(output());
  EXPECT_EQ(y.dtype, dtype == DType::f16 ? DType::f16 : DType::f32) << "the output file's dtype";
  const io::HostArray y_keras = keras_models::keras_output(l.layer);
  ASSERT_EQ(y.shape, y_keras.shape);
  const LayerConfig& config = layer.info.spec.layer;
  const io::HostArray x = keras_models::input(l.layer, dtype);
  const auto detail = reference::forward_detail(config, x.view(), layer.weights());
  for (const auto* out : {&y, &y_keras}) {
    const auto report = accuracy::compare(config, layer.info.in_channels, layer.precision, detail, out->view());
    EXPECT_EQ(report.checked, y.numel());
    EXPECT_TRUE(report.ok()) << (out == &y ? "sepconv1d: " : "Keras: ") << report.summary();
  }
}

struct DeviceLoadName {
  template <class Info>
  std::string operator()(const Info& i) const {
    return i.param.load.name + "_" + i.param.device;
  }
};
INSTANTIATE_TEST_SUITE_P(Keras, CliKerasLayer, ::testing::ValuesIn(device_loads()), DeviceLoadName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CliKerasLayer);

// `run --keras ... --chunk N` streams the layer (docs/cli.md): the same output file as the whole
// run for every layer that can stream (bit for bit on the CPU and on the simulated device, within
// the accuracy bound on a GPU), and the library's error for one that cannot (same padding).
TEST_F(CliKeras, ChunkedRunsWriteTheWholeRunsOutput) {
  int streamed = 0;
  int refused = 0;
  for (const auto& l : keras_models::layer_loads()) {
    if (l.format != "keras_archive" && l.format != "legacy_model") continue;
    const keras::Layer layer = keras::load_layer(l.file, l.layer.path, l.config);
    const LayerConfig& config = layer.info.spec.layer;
    const bool row = config.data_format == DataFormat::channels_first &&
                     (config.activation == Activation::softmax ||
                      config.activation == Activation::log_softmax);
    const bool streams = config.padding != Padding::same && !row;
    for (const char* device : {"cpu", "gpu"}) {
      if (std::string(device) == "gpu" && !gpu_available()) continue;
      SCOPED_TRACE(l.name + " on " + device);
      const std::string input = keras_models::file(l.layer.input);
      const std::vector<std::string> flags = {"--device", device, "--quiet"};
      std::vector<std::string> chunked = flags;
      chunked.insert(chunked.end(), {"--chunk", "2"});
      if (!streams) {
        expect_failure(run(keras_args(l.file, l.config, l.layer.path, input, chunked)), 1,
                       {l.file, config.padding == Padding::same ? "padding" : "softmax"});
        ++refused;
        continue;
      }
      const CliResult whole = run(keras_args(l.file, l.config, l.layer.path, input, flags));
      ASSERT_EQ(whole.status, 0) << whole.err;
      const std::string whole_bytes = read_file(output());
      std::filesystem::remove(output());
      const CliResult r = run(keras_args(l.file, l.config, l.layer.path, input, chunked));
      ASSERT_EQ(r.status, 0) << r.err;
      if (std::string(device) == "cpu" || SEPCONV_SIMULATED_DEVICE) {
        EXPECT_EQ(read_file(output()), whole_bytes) << "the chunked run wrote another output";
      } else {
        const io::HostArray x = keras_models::input(l.layer, layer.precision.dtype);
        const auto detail = reference::forward_detail(config, x.view(), layer.weights());
        const auto report = accuracy::compare(config, layer.info.in_channels, layer.precision,
                                              detail, io::read_npy(output()).view());
        EXPECT_TRUE(report.ok()) << report.summary();
      }
      std::filesystem::remove(output());
      ++streamed;
    }
  }
  EXPECT_GT(streamed, 0) << "no generated layer can stream";
  EXPECT_GT(refused, 0) << "no generated layer has same padding";
}

// `backward --keras MODEL`: the layer and its weights from the file, x and dy cast to the layer's
// dtype; on the CPU the files hold exactly reference::backward's gradients of the loaded layer
// (the GPU path behind it is checked by test_sepconv1d_backward), rounded into the input's dtype.
TEST_F(CliKeras, BackwardFromAModelFileIsTheReferenceBackward) {
  std::mt19937 rng(20261202);
  int checked = 0;
  for (const auto& l : keras_models::layer_loads()) {
    if (l.format != "keras_archive" && l.format != "legacy_weights") continue;
    SCOPED_TRACE(l.name);
    const keras::Layer layer = keras::load_layer(l.file, l.layer.path, l.config);
    const LayerConfig& config = layer.info.spec.layer;
    const DType dtype = layer.precision.dtype;
    const DType file = dtype == DType::f16 ? DType::f16 : DType::f32;
    const io::HostArray x = keras_models::input(l.layer, dtype);
    const bool last = config.data_format == DataFormat::channels_last;
    const auto shape = output_shape(config, x.shape[0], x.shape[last ? 1 : 2]);
    io::HostArray dy = io::HostArray::zeros(DType::f32, {shape[0], shape[1], shape[2]});
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    auto* values = reinterpret_cast<float*>(dy.bytes.data());
    for (std::int64_t i = 0; i < dy.numel(); ++i) values[i] = uniform(rng);
    dy = io::converted(dy, file);
    io::write_npy(dir.file("dy.npy"), dy);

    std::vector<std::string> args = {"backward", "--keras", l.file, "--layer", l.layer.path,
                                     "--input", keras_models::file(l.layer.input),
                                     "--grad-output", dir.file("dy.npy"),
                                     "--grad-input", out_dir() + "/dx.npy",
                                     "--grad-depthwise", out_dir() + "/ddw.npy",
                                     "--grad-pointwise", out_dir() + "/dpw.npy",
                                     "--device", "cpu", "--quiet"};
    if (!l.config.empty()) args.insert(args.end(), {"--config", l.config});
    if (config.use_bias) args.insert(args.end(), {"--grad-bias", out_dir() + "/db.npy"});
    const CliResult r = run(args);
    ASSERT_EQ(r.status, 0) << r.err;

    const io::HostArray dy_layer = io::converted(dy, dtype);
    io::HostArray dx = io::HostArray::zeros(dtype, x.shape);
    io::HostArray ddw = io::HostArray::zeros(DType::f32, layer.depthwise.shape);
    io::HostArray dpw = io::HostArray::zeros(DType::f32, layer.pointwise.shape);
    io::HostArray db = io::HostArray::zeros(DType::f32, {config.filters});
    reference::backward(config, x.view(), layer.weights(), dy_layer.view(),
                        {dx.view(), ddw.view(), dpw.view(),
                         config.use_bias ? db.view() : TensorView{}});
    std::vector<std::pair<std::string, const io::HostArray*>> expected = {
        {"dx", &dx}, {"ddw", &ddw}, {"dpw", &dpw}};
    if (config.use_bias) expected.emplace_back("db", &db);
    for (const auto& [name, want] : expected) {
      const io::HostArray got = io::read_npy(out_dir() + "/" + name + ".npy");
      EXPECT_EQ(got.dtype, file) << name;
      EXPECT_EQ(got.shape, want->shape) << name;
      EXPECT_TRUE(got.bytes == io::converted(*want, file).bytes) << name << " differs";
      std::filesystem::remove(out_dir() + "/" + name + ".npy");
    }
    ++checked;
  }
  EXPECT_GE(checked, 8) << "too few layers of the generated model files";
}

TEST_F(CliKeras, BackwardFromAModelFileErrors) {
  const auto& m = model("k3_model");
  const std::string archive = model_file("k3_model", "keras_archive");
  const std::string weights = model_file("k3_model", "keras_weights");
  const std::string input = keras_models::file(m.layers[0].input);
  const std::vector<std::string> outputs = {"--grad-output", input,
                                            "--grad-input", out_dir() + "/dx.npy",
                                            "--grad-depthwise", out_dir() + "/ddw.npy",
                                            "--grad-pointwise", out_dir() + "/dpw.npy"};
  const auto args = [&](std::vector<std::string> head) {
    head.insert(head.begin(), "backward");
    head.insert(head.end(), {"--input", input});
    head.insert(head.end(), outputs.begin(), outputs.end());
    return head;
  };
  expect_failure(run(args({"--keras", archive, "--layer", "sep_a", "--depthwise", input})), 2,
                 {"--depthwise with --keras"});
  expect_failure(run(args({"--config", keras_models::file(m.model_json), "--depthwise", input,
                           "--pointwise", input, "--layer", "sep_a"})),
                 2, {"--layer without --keras"});
  expect_failure(run(args({"--keras", weights, "--layer", "sep_a"})), 1,
                 {weights, "--config"});
  expect_failure(run(args({"--keras", archive, "--layer", "nope"})), 1, {archive, "nope"});
  // sep_a has a bias: --grad-bias is required, and the message names the model file.
  expect_failure(run(args({"--keras", archive, "--layer", "sep_a"})), 1,
                 {archive, "--grad-bias"});
}

// ---- sepconv1d layers ---------------------------------------------------------------------------

TEST_F(CliKeras, LayersListsEveryLayerOfEveryFile) {
  for (const auto& m : keras_models::load_manifest()) {
    for (const auto& [key, name] : m.files) {
      std::vector<std::string> args = {"layers", keras_models::file(name)};
      if (keras::weights_only(keras_models::format_of(key))) {
        args.insert(args.end(), {"--config", keras_models::file(m.model_json)});
      }
      const CliResult r = run(args);
      ASSERT_EQ(r.status, 0) << r.err;
      std::istringstream lines(r.out);
      std::string line;
      ASSERT_TRUE(std::getline(lines, line));
      EXPECT_EQ(line, "# " + keras_models::file(name) + ": " +
                          std::string(keras::to_string(keras_models::format_of(key))) + ", " +
                          std::to_string(m.layers.size()) + " SeparableConv1D layers");
      for (const auto& l : m.layers) {
        ASSERT_TRUE(std::getline(lines, line)) << r.out;
        EXPECT_EQ(line.rfind(l.path + "\tin_channels=" + std::to_string(l.in_channels) +
                                 "\tfilters=" + std::to_string(l.filters) + " kernel_size=" +
                                 std::to_string(l.kernel_size) + " ",
                             0),
                  0u)
            << line;
        EXPECT_NE(line.find(" dtype=" + l.dtype_policy), std::string::npos) << line;
        EXPECT_EQ(line.find("cannot run"), std::string::npos) << line;
      }
      EXPECT_FALSE(std::getline(lines, line)) << "an extra line: " << line;
    }
  }
}

TEST_F(CliKeras, LayersShowsWhatCannotRun) {
  const std::string file = model_file("k3_model", "keras_weights");
  const CliResult r = run({"layers", file, "--config=" + keras_models::file(model("k3_model").layer_json.at("block/sep"))});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("block/sep\tin_channels=7\t"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tail/sep\tin_channels=5\t"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\tcannot run: its depthwise kernel"), std::string::npos) << r.out;
}

TEST_F(CliKeras, LayersOfAWeightsFileNeedsItsConfig) {
  const std::string file = model_file("tk_model", "legacy_weights");
  expect_failure(run({"layers", file}), 1, {file + ": ", "holds weights only", "--config CONFIG.json"});
}

// ---- run --keras --------------------------------------------------------------------------------

TEST_F(CliKeras, TheOnlyLayerNeedsNoName) {
  const auto& m = model("k3_model");
  const CliResult r = run(keras_args(model_file("k3_model", "keras_weights"),
                                     keras_models::file(m.layer_json.at("sep_a")), "",
                                     keras_models::file(m.layers.front().input), {"--device", "cpu"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("layer 'sep_a' (Keras 3 weights file (.weights.h5))"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dtype  float32 (Keras dtype policy float32)"), std::string::npos) << r.out;
}

TEST_F(CliKeras, DtypeFlagOverridesThePolicy) {
  const auto& l = model("k3_model").layers.at(3);
  ASSERT_EQ(l.path, "sep_h");
  const CliResult r = run(keras_args(model_file("k3_model", "keras_archive"), "", "sep_h",
                                     keras_models::file(l.input), {"--dtype", "f32", "--device", "cpu"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("overridden by --dtype"), std::string::npos) << r.out;
  EXPECT_EQ(io::read_npy(output()).dtype, DType::f32);
}

TEST_F(CliKeras, UnknownLayer) {
  const std::string file = model_file("tk_model", "legacy_model");
  expect_failure(run(keras_args(file, "", "nope", keras_models::file(model("tk_model").layers[0].input))), 1,
                 {file + ": ", "no layer 'nope'", "'stage/sep_s'"});
}

TEST_F(CliKeras, AmbiguousLayer) {
  const std::string file = model_file("k3_model", "keras_archive");
  expect_failure(run(keras_args(file, "", "sep", keras_models::file(model("k3_model").layers[0].input))), 1,
                 {file + ": ", "'sep' is ambiguous", "'block/sep'", "'tail/sep'"});
}

TEST_F(CliKeras, LayerOfAnotherType) {
  const std::string file = model_file("tk_model", "legacy_model");
  expect_failure(run(keras_args(file, "", "bn", keras_models::file(model("tk_model").layers[0].input))), 1,
                 {file + ": ", "'bn' is a BatchNormalization, not a SeparableConv1D"});
}

TEST_F(CliKeras, SeveralLayersAndNoName) {
  const std::string file = model_file("k3_model", "keras_archive");
  expect_failure(run(keras_args(file, "", "", keras_models::file(model("k3_model").layers[0].input))), 1,
                 {file + ": ", "6 SeparableConv1D layers; name one"});
}

TEST_F(CliKeras, WeightsOnlyFileWithoutConfig) {
  const std::string file = model_file("k3_model", "keras_weights");
  expect_failure(run(keras_args(file, "", "sep_a", keras_models::file(model("k3_model").layers[0].input))), 1,
                 {file + ": ", "holds weights only", "--config CONFIG.json"});
}

TEST_F(CliKeras, TruncatedArchive) {
  const std::string data = read_file(model_file("k3_model", "keras_archive"));
  write_file(dir.file("cut.keras"), data.substr(0, data.size() * 2 / 3));
  expect_failure(run(keras_args(dir.file("cut.keras"), "", "sep_a", keras_models::file(model("k3_model").layers[0].input))),
                 1, {dir.file("cut.keras") + ": ", "a truncated or corrupt .keras archive"});
}

// Damaged files of every format: one message naming the file, exit 1, no output.
TEST_F(CliKeras, DamagedFiles) {
  const auto& k3 = model("k3_model");
  const auto& tk = model("tk_model");
  const std::string archive = read_file(model_file("k3_model", "keras_archive"));
  std::string flipped = archive;  // bytes of a member's data changed: its CRC no longer matches
  for (std::size_t i = archive.size() / 3; i < archive.size() / 3 + 64; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  const std::string legacy = read_file(model_file("tk_model", "legacy_model"));
  const std::string weights = read_file(model_file("k3_model", "keras_weights"));
  struct Case {
    std::string file, bytes, config, layer, input, problem;
  };
  const std::vector<Case> cases = {
      {"corrupt.keras", flipped, "", "sep_a", k3.layers[0].input, "a truncated or corrupt .keras archive"},
      {"cut.h5", legacy.substr(0, legacy.size() / 2), "", "causal", tk.layers[0].input,
       "a truncated or corrupt HDF5 file"},
      {"cut.weights.h5", weights.substr(0, weights.size() / 2), keras_models::file(k3.model_json), "sep_a",
       k3.layers[0].input, "a truncated or corrupt HDF5 file"},
      {"text.keras", "not a model, just text\n", "", "sep_a", k3.layers[0].input,
       "neither a .keras archive (zip) nor an HDF5 file (.h5)"},
      {"empty.h5", "", "", "sep_a", k3.layers[0].input, "an empty file"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string path = dir.file(c.file);
    write_file(path, c.bytes);
    expect_failure(run(keras_args(path, c.config, c.layer, keras_models::file(c.input))), 1, {path + ": ", c.problem});
    expect_failure(run({"layers", path}), 1, {path + ": "});
  }
}

TEST_F(CliKeras, ConfigForAFileThatHoldsItsOwn) {
  const auto& m = model("k3_model");
  const std::string file = model_file("k3_model", "keras_archive");
  const std::string config = keras_models::file(m.model_json);
  expect_failure(run(keras_args(file, config, "sep_a", keras_models::file(m.layers[0].input))), 1,
                 {config + ": ", "not used", "holds its own config"});
}

TEST_F(CliKeras, WeightsWhoseShapesDisagreeWithTheConfig) {
  std::string json = read_file(keras_models::file(model("k3_model").layer_json.at("sep_a")));
  const auto at = json.find("\"kernel_size\": [\n  3\n ]");
  ASSERT_NE(at, std::string::npos) << json;
  json[json.find('3', at)] = '4';
  write_file(dir.file("k4.json"), json);
  const std::string file = model_file("k3_model", "keras_weights");
  expect_failure(run(keras_args(file, dir.file("k4.json"), "", keras_models::file(model("k3_model").layers[0].input))),
                 1, {file + ": ", "layer 'sep_a'", "depthwise kernel", "has shape (3, 5, 2)",
                     "expects (4, 5, 2)", "do not fit the config"});
}

TEST_F(CliKeras, InputWithOtherChannels) {
  const auto& m = model("k3_model");
  const std::string input = keras_models::file(m.layers.at(1).input);  // block/sep's: 7 channels
  expect_failure(run(keras_args(model_file("k3_model", "keras_archive"), "", "sep_a", input)), 1,
                 {input + ": ", "in_channels", "layer 'sep_a'", "has 5 input channels"});
}

TEST_F(CliKeras, AFailedRunLeavesAnExistingOutputAlone) {
  write_file(output(), "old");
  const std::string file = model_file("k3_model", "keras_archive");
  const CliResult r = run(keras_args(file, "", "nope", keras_models::file(model("k3_model").layers[0].input)));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(read_file(output()), "old");
}

TEST_F(CliKeras, UsageErrors) {
  const std::string file = model_file("k3_model", "keras_archive");
  const std::string x = keras_models::file(model("k3_model").layers[0].input);
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"run", "--keras", file, "--depthwise", x, "--input", x, "--output", output()}, "--depthwise with --keras"},
      {{"run", "--keras", file, "--bias", x, "--input", x, "--output", output()}, "--bias with --keras"},
      {{"run", "--keras", file, "--input", x}, "missing --output"},
      {{"run", "--keras", file, "--output", output()}, "missing --input"},
      {{"run", "--layer", "sep_a", "--input", x, "--output", output()}, "--layer without --keras"},
      {{"run", "--keras", file, "--keras", file, "--input", x, "--output", output()}, "--keras given twice"},
      {{"layers"}, "missing MODEL"},
      {{"layers", file, file}, "unexpected argument"},
      {{"layers", file, "--layer", "sep_a"}, "unknown flag '--layer' for 'layers'"},
      {{"layers", file, "--config"}, "missing value for --config"},
      {{"list", file}, "unknown command 'list'"},
  };
  for (const auto& [args, message] : cases) {
    SCOPED_TRACE(message);
    expect_failure(run(args), 2, {message});
  }
}

TEST_F(CliKeras, HelpDocumentsTheKerasCommands) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"}, {"layers", "--help"}}) {
    const CliResult r = run(args);
    EXPECT_EQ(r.status, 0);
    for (const char* text : {"run --keras MODEL [--config CONFIG.json] [--layer NAME] --input X.npy",
                             "sepconv1d layers MODEL", "--layer NAME"}) {
      EXPECT_NE(r.out.find(text), std::string::npos) << text;
    }
  }
}

}  // namespace
}  // namespace sepconv::test
