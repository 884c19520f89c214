// Keras model files through the library API (sepconv/keras.h), on the CPU reference:
//   * every SeparableConv1D layer of every file (.keras, .weights.h5, legacy .h5 model and
//     weights, the weights-only ones with the model's to_json() and with a layer's get_config())
//     loads with Keras's config, in-channel count and dtype, and reproduces Keras's output for a
//     random input: Keras's output and the reference's both lie within the accuracy bound of the
//     float64 reference computed from the loaded weights (sepconv/accuracy.h);
//   * listing, formats, name resolution (paths, unique names), and every error: one FileError
//     naming the file and what is wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "cli/cli_test_support.h"
#include "keras/config_json.h"
#include "keras/keras_models.h"
#include "sepconv/accuracy.h"
#include "sepconv/keras.h"
#include "sepconv/reference.h"
#include "support/host_tensor.h"

namespace sepconv::test {
namespace {

using keras_models::LayerLoad;

// The FileError a call throws (failing the test when it throws none or another type).
template <class F>
std::string file_error(F&& f, const std::string& file) {
  try {
    f();
  } catch (const keras::FileError& e) {
    EXPECT_EQ(e.path(), file) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind(file + ": ", 0), 0u) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no FileError";
  return {};
}

void expect_mentions(const std::string& message, const std::vector<std::string>& mentions) {
  for (const auto& m : mentions) {
    EXPECT_NE(message.find(m), std::string::npos) << "no '" << m << "' in: " << message;
  }
}

using keras_models::model;
using keras_models::model_file;

// ---- every layer of every file ----------------------------------------------------------------

class LayerFromFile : public ::testing::TestWithParam<LayerLoad> {};

TEST_P(LayerFromFile, ReproducesKeras) {
  const LayerLoad& l = GetParam();
  SCOPED_TRACE(l.file + (l.config.empty() ? "" : " with " + l.config) + ", layer " + l.layer.path);
  const keras::ModelFile file(l.file, l.config);
  EXPECT_EQ(file.format(), keras_models::format_of(l.format));
  const keras::LayerInfo& info = file.find(l.layer.path);
  EXPECT_EQ(info.path, l.layer.path);
  EXPECT_EQ(info.problem, "");
  EXPECT_EQ(info.in_channels, l.layer.in_channels);
  EXPECT_EQ(info.spec.layer.filters, l.layer.filters);
  EXPECT_EQ(info.spec.layer.kernel_size, l.layer.kernel_size);
  EXPECT_EQ(to_string(info.spec.layer.data_format), l.layer.data_format);
  EXPECT_EQ(info.spec.layer.use_bias, l.layer.use_bias);
  EXPECT_EQ(info.spec.dtype_name, l.layer.dtype_policy);

  const keras::Layer layer = file.load(l.layer.path);
  const DType dtype = keras_models::dtype_of(l.layer.compute_dtype);
  ASSERT_EQ(layer.precision.dtype, dtype) << "the precision does not follow the dtype policy";
  EXPECT_EQ(layer.bias.shape.empty(), !l.layer.use_bias);
  for (const auto* a : {&layer.depthwise, &layer.pointwise, &layer.bias}) EXPECT_EQ(a->dtype, dtype);

  const LayerConfig& config = layer.info.spec.layer;
  const io::HostArray x = keras_models::input(l.layer, dtype);
  const io::HostArray y_keras = keras_models::keras_output(l.layer);
  const bool last = config.data_format == DataFormat::channels_last;
  const auto out = output_shape(config, x.shape[0], x.shape[last ? 1 : 2]);
  ASSERT_EQ(y_keras.shape, std::vector<std::int64_t>(out.begin(), out.end()));

  const reference::Detail detail = reference::forward_detail(config, x.view(), layer.weights());
  const accuracy::Report keras = accuracy::compare(config, info.in_channels, layer.precision,
                                                   detail, y_keras.view());
  EXPECT_EQ(keras.checked, y_keras.numel());
  EXPECT_TRUE(keras.ok()) << "Keras's output is outside the bound of the reference on the "
                             "loaded weights: "
                          << keras.summary();

  HostTensor y = poisoned_output(config, x.shape[0], x.shape[last ? 1 : 2], dtype);
  reference::forward(config, x.view(), layer.weights(), y.view());
  const accuracy::Report ours = accuracy::compare(config, info.in_channels, layer.precision, detail,
                                                  y.view());
  EXPECT_EQ(ours.checked, y_keras.numel());
  EXPECT_TRUE(ours.ok()) << ours.summary();
  RecordProperty("keras_worst_ratio", std::to_string(keras.worst_ratio));
}

INSTANTIATE_TEST_SUITE_P(Keras, LayerFromFile, ::testing::ValuesIn(keras_models::layer_loads()),
                         keras_models::LoadName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(LayerFromFile);  // KerasModels.ManifestLoads fails

TEST(KerasModels, ManifestLoads) {
  std::vector<keras_models::Model> models;
  ASSERT_NO_THROW(models = keras_models::load_manifest());
  std::vector<keras::Format> formats;
  for (const auto& m : models) {
    for (const auto& [key, name] : m.files) formats.push_back(keras_models::format_of(key));
  }
  for (const auto f : {keras::Format::keras_archive, keras::Format::keras_weights,
                       keras::Format::legacy_model, keras::Format::legacy_weights}) {
    EXPECT_NE(std::find(formats.begin(), formats.end(), f), formats.end()) << to_string(f);
  }
  EXPECT_GE(keras_models::layer_loads().size(), 20u);
}

// ---- listing and formats ----------------------------------------------------------------------

TEST(KerasModels, ListsEveryLayerOfEveryFileInOrder) {
  for (const auto& m : keras_models::load_manifest()) {
    for (const auto& [key, name] : m.files) {
      SCOPED_TRACE(name);
      const std::string config =
          keras::weights_only(keras_models::format_of(key)) ? keras_models::file(m.model_json) : "";
      const auto layers = keras::list_layers(keras_models::file(name), config);
      ASSERT_EQ(layers.size(), m.layers.size());
      for (std::size_t i = 0; i < layers.size(); ++i) {
        EXPECT_EQ(layers[i].path, m.layers[i].path);
        EXPECT_EQ(layers[i].in_channels, m.layers[i].in_channels);
        EXPECT_EQ(layers[i].problem, "");
      }
      EXPECT_EQ(keras::detect_format(keras_models::file(name)), keras_models::format_of(key));
    }
  }
}

TEST(KerasModels, DescribeIsOneLineInKerasTerms) {
  const auto layers = keras::list_layers(model_file("k3_model", "keras_archive"));
  EXPECT_EQ(keras::describe(layers.front().spec),
            "filters=6 kernel_size=3 strides=1 padding=same data_format=channels_last "
            "dilation_rate=1 depth_multiplier=2 activation=relu use_bias=true dtype=float32");
}

TEST(KerasModels, DtypeOverride) {
  const std::string keras = model_file("k3_model", "keras_archive");
  const keras::Layer half = keras::load_layer(keras, "sep_h");
  ASSERT_EQ(half.precision.dtype, DType::f16);
  const keras::Layer wide = keras::load_layer(keras, "sep_h", "", {DType::f32});
  EXPECT_EQ(wide.precision.dtype, DType::f32);
  EXPECT_EQ(wide.depthwise.dtype, DType::f32);
  // float16 weights widen exactly.
  const auto a = HostTensor::values_of(half.depthwise.view());
  const auto b = HostTensor::values_of(wide.depthwise.view());
  EXPECT_EQ(a, b);
}

// ---- names ------------------------------------------------------------------------------------

TEST(KerasNames, UniqueNameOrPath) {
  const keras::ModelFile file(model_file("k3_model", "keras_archive"));
  EXPECT_EQ(file.find("sep_cf").path, "block/sep_cf");
  EXPECT_EQ(file.find("block/sep_cf").path, "block/sep_cf");
  EXPECT_EQ(file.find("tail/sep").path, "tail/sep");
}

TEST(KerasNames, AmbiguousName) {
  const std::string path = model_file("k3_model", "keras_archive");
  const keras::ModelFile file(path);
  expect_mentions(file_error([&] { (void)file.load("sep"); }, path),
                  {"'sep' is ambiguous", "'block/sep'", "'tail/sep'"});
}

TEST(KerasNames, UnknownName) {
  const std::string path = model_file("tk_model", "legacy_model");
  const keras::ModelFile file(path);
  expect_mentions(file_error([&] { (void)file.load("nope"); }, path),
                  {"no layer 'nope'", "'causal'", "'stage/sep_s'", "'half'"});
}

TEST(KerasNames, LayerOfAnotherType) {
  const std::string path = model_file("k3_model", "keras_archive");
  const keras::ModelFile file(path);
  expect_mentions(file_error([&] { (void)file.load("dense"); }, path),
                  {"'dense' is a Dense, not a SeparableConv1D"});
  expect_mentions(file_error([&] { (void)file.load("block/norm"); }, path),
                  {"'block/norm' is a LayerNormalization"});
  expect_mentions(file_error([&] { (void)file.load("block"); }, path),
                  {"'block' is a Sequential model, not a SeparableConv1D"});
}

TEST(KerasNames, NoNameWithSeveralLayers) {
  const std::string path = model_file("tk_model", "legacy_model");
  expect_mentions(file_error([&] { (void)keras::load_layer(path); }, path),
                  {"4 SeparableConv1D layers", "name one"});
}

// A layer's get_config() finds its weights by name: one layer of that name, so no name needed.
TEST(KerasNames, LayerConfigFindsItsWeights) {
  const auto& m = model("k3_model");
  const keras::Layer a = keras::load_layer(model_file("k3_model", "keras_weights"), "",
                                           keras_models::file(m.layer_json.at("sep_a")));
  EXPECT_EQ(a.info.path, "sep_a");
  const auto& t = model("tk_model");
  const keras::Layer s = keras::load_layer(model_file("tk_model", "legacy_weights"), "",
                                           keras_models::file(t.layer_json.at("stage/sep_s")));
  EXPECT_EQ(s.info.path, "stage/sep_s");
}

// block/sep's get_config() names "sep", which two layers have: both are listed, the other one with
// weights that do not fit this config; naming it needs its path.
TEST(KerasNames, LayerConfigWhoseNameTwoLayersHave) {
  const std::string path = model_file("k3_model", "keras_weights");
  const keras::ModelFile file(path, keras_models::file(model("k3_model").layer_json.at("block/sep")));
  ASSERT_EQ(file.layers().size(), 2u);
  EXPECT_EQ(file.layers()[0].path, "block/sep");
  EXPECT_EQ(file.layers()[0].problem, "");
  EXPECT_EQ(file.layers()[1].path, "tail/sep");
  expect_mentions(file.layers()[1].problem, {"has shape (2, 5, 2)", "expects (5, 5, 1)",
                                             "the weights do not fit the config"});
  expect_mentions(file_error([&] { (void)file.load(); }, path), {"2 SeparableConv1D layers"});
  expect_mentions(file_error([&] { (void)file.load("sep"); }, path), {"ambiguous"});
  expect_mentions(file_error([&] { (void)file.load("tail/sep"); }, path),
                  {"layer 'tail/sep'", "do not fit the config"});
  EXPECT_EQ(file.load("block/sep").info.path, "block/sep");
}

// ---- errors -----------------------------------------------------------------------------------

TEST(KerasErrors, WeightsOnlyFileWithoutConfig) {
  for (const auto& [name, key] : {std::pair{"k3_model", "keras_weights"}, std::pair{"tk_model", "legacy_weights"}}) {
    const std::string path = model_file(name, key);
    expect_mentions(file_error([&] { keras::ModelFile f(path); }, path),
                    {"holds weights only", "config must come from a JSON file"});
  }
}

TEST(KerasErrors, ConfigForAFileThatHasOne) {
  const std::string config = keras_models::file(model("k3_model").model_json);
  for (const auto& [name, key] : {std::pair{"k3_model", "keras_archive"}, std::pair{"tk_model", "legacy_model"}}) {
    expect_mentions(file_error([&] { keras::ModelFile f(model_file(name, key), config); }, config),
                    {"not used", "holds its own config"});
  }
}

TEST(KerasErrors, ConfigOfAnotherModel) {
  const std::string path = model_file("tk_model", "legacy_weights");
  const keras::ModelFile file(path, keras_models::file(model("k3_model").model_json));
  for (const auto& l : file.layers()) expect_mentions(l.problem, {"no weights for it"});
  expect_mentions(file_error([&] { (void)file.load("sep_a"); }, path), {"layer 'sep_a'", "no weights"});
}

// Keras 3 finds a layer's variables by position; the name it records must be the config's.
TEST(KerasErrors, RenamedLayerInTheConfig) {
  ScratchDir dir;
  std::string json = read_file(keras_models::file(model("k3_model").model_json));
  for (std::size_t at = json.find("\"sep_a\""); at != std::string::npos; at = json.find("\"sep_a\"", at)) {
    json.replace(at, 7, "\"sep_z\"");
  }
  write_file(dir.file("renamed.json"), json);
  const std::string path = model_file("k3_model", "keras_weights");
  const keras::ModelFile file(path, dir.file("renamed.json"));
  expect_mentions(file_error([&] { (void)file.load("sep_z"); }, path),
                  {"layer 'sep_a''s, not 'sep_z''s", "different models"});
}

TEST(KerasErrors, WeightsWhoseShapesDisagreeWithTheConfig) {
  ScratchDir dir;
  const auto& t = model("tk_model");
  std::string json = read_file(keras_models::file(t.layer_json.at("stage/sep_s")));
  const auto at = json.find("\"filters\": 5");
  ASSERT_NE(at, std::string::npos);
  json.replace(at, 12, "\"filters\": 7");
  write_file(dir.file("sep_s.json"), json);
  const std::string path = model_file("tk_model", "legacy_weights");
  const keras::ModelFile file(path, dir.file("sep_s.json"));
  expect_mentions(file_error([&] { (void)file.load(); }, path),
                  {"layer 'stage/sep_s'", "pointwise kernel", "has shape (1, 6, 5)",
                   "expects (1, 6, 7)"});
}

TEST(KerasErrors, UnsupportedLayerConfigInAModel) {
  ScratchDir dir;
  std::string json = read_file(keras_models::file(model("tk_model").model_json));
  const auto at = json.find("\"activation\": \"elu\"");
  ASSERT_NE(at, std::string::npos);
  json.replace(at, 19, "\"activation\": \"glu\"");
  write_file(dir.file("glu.json"), json);
  const std::string path = model_file("tk_model", "legacy_weights");
  const keras::ModelFile file(path, dir.file("glu.json"));
  EXPECT_NE(file.layers().front().problem.find("`activation`"), std::string::npos);
  EXPECT_EQ(file.layers()[1].problem, "");  // the others still load
  expect_mentions(file_error([&] { (void)file.load("causal"); }, path), {"layer 'causal'", "glu"});
  EXPECT_NO_THROW((void)file.load("half"));
}

TEST(KerasErrors, LayerConfigWithoutWeightsInTheFile) {
  ScratchDir dir;
  write_file(dir.file("c.json"), R"({"name": "missing", "filters": 4, "kernel_size": 3})");
  const std::string path = model_file("k3_model", "keras_weights");
  expect_mentions(file_error([&] { keras::ModelFile f(path, dir.file("c.json")); }, path),
                  {"no weights of a layer named 'missing'"});
  write_file(dir.file("unnamed.json"), R"({"filters": 4, "kernel_size": 3})");
  expect_mentions(file_error([&] { keras::ModelFile f(path, dir.file("unnamed.json")); }, path),
                  {"has no \"name\""});
}

TEST(KerasErrors, BadConfigJson) {
  ScratchDir dir;
  write_file(dir.file("bad.json"), R"({"class_name": "Dense", "config": {"units": 3}})");
  const std::string path = model_file("k3_model", "keras_weights");
  expect_mentions(file_error([&] { keras::ModelFile f(path, dir.file("bad.json")); }, dir.file("bad.json")),
                  {"`class_name`", "Dense"});
  expect_mentions(file_error([&] { keras::ModelFile f(path, dir.file("none.json")); }, dir.file("none.json")),
                  {"cannot open"});
}

std::string cut(const std::string& from, std::size_t bytes, ScratchDir& dir, const std::string& name) {
  const std::string data = read_file(from);
  write_file(dir.file(name), data.substr(0, std::min(bytes, data.size())));
  return dir.file(name);
}

TEST(KerasErrors, TruncatedArchive) {
  ScratchDir dir;
  const std::string keras = model_file("k3_model", "keras_archive");
  for (const std::size_t bytes : {std::size_t{10}, read_file(keras).size() / 2, read_file(keras).size() - 1}) {
    const std::string path = cut(keras, bytes, dir, "cut.keras");
    expect_mentions(file_error([&] { keras::ModelFile f(path); }, path),
                    {"a truncated or corrupt .keras archive"});
  }
}

TEST(KerasErrors, CorruptArchive) {
  ScratchDir dir;
  std::string data = read_file(model_file("k3_model", "keras_archive"));
  // The compressed bytes of the archive's members lie between the first local header and the
  // central directory: damage some in the middle of the file.
  for (std::size_t i = data.size() / 2; i < data.size() / 2 + 16; ++i) data[i] = static_cast<char>(data[i] ^ 0x5a);
  write_file(dir.file("bad.keras"), data);
  const std::string path = dir.file("bad.keras");
  const std::string message = file_error([&] { (void)keras::load_layer(path, "sep_a"); }, path);
  EXPECT_TRUE(message.find("damaged") != std::string::npos || message.find("corrupt") != std::string::npos ||
              message.find("HDF5") != std::string::npos)
      << message;
}

TEST(KerasErrors, TruncatedHdf5) {
  ScratchDir dir;
  for (const auto& [name, key] : {std::pair{"k3_model", "keras_weights"}, std::pair{"tk_model", "legacy_model"}}) {
    const std::string from = model_file(name, key);
    const std::string path = cut(from, read_file(from).size() / 2, dir, "cut.h5");
    expect_mentions(file_error([&] { keras::ModelFile f(path, keras_models::file(model(name).model_json)); }, path),
                    {"a truncated or corrupt HDF5 file"});
  }
}

TEST(KerasErrors, NotAModelFile) {
  ScratchDir dir;
  write_file(dir.file("x.npy"), read_file(keras_models::file(model("k3_model").layers[0].input)));
  expect_mentions(file_error([&] { (void)keras::detect_format(dir.file("x.npy")); }, dir.file("x.npy")),
                  {"neither a .keras archive (zip) nor an HDF5 file", "93 4e 55 4d"});
  write_file(dir.file("empty.keras"), "");
  expect_mentions(file_error([&] { keras::ModelFile f(dir.file("empty.keras")); }, dir.file("empty.keras")),
                  {"an empty file"});
  expect_mentions(file_error([&] { keras::ModelFile f(dir.file("missing.keras")); }, dir.file("missing.keras")),
                  {"cannot open"});
  expect_mentions(file_error([&] { keras::ModelFile f(dir.path()); }, dir.path()), {"not a regular file"});
}

// ---- internals --------------------------------------------------------------------------------

// keras.src.utils.naming.to_snake_case's results (Python) for the class names Keras saves.
TEST(KerasInternals, SnakeCaseAsKerasNamesGroups) {
  const std::pair<const char*, const char*> cases[] = {
      {"SeparableConv1D", "separable_conv1d"}, {"LayerNormalization", "layer_normalization"},
      {"ReLU", "re_lu"}, {"PReLU", "p_re_lu"}, {"BatchNormalization", "batch_normalization"},
      {"Conv1DTranspose", "conv1d_transpose"}, {"InputLayer", "input_layer"}, {"GRU", "gru"},
      {"HTTPServer", "http_server"}, {"Functional", "functional"}, {"Sequential", "sequential"},
      {"My-Layer.V2", "my_layer_v2"}, {"AbCdEf", "ab_cd_ef"}, {"", ""}};
  for (const auto& [in, want] : cases) EXPECT_EQ(keras::detail::to_snake_case(in), want) << in;
}

}  // namespace
}  // namespace sepconv::test
