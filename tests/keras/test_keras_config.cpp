// The Keras get_config parser of sepconv_keras (sepconv/keras.h): every accepted form and every
// error, one test each. Errors are InvalidArgument naming the JSON key.
#include <gtest/gtest.h>

#include "cli/cli_test_support.h"
#include "golden/golden_data.h"
#include "sepconv/error.h"
#include "sepconv/keras.h"

namespace sepconv::test {
namespace {

using keras::parse_layer_config;

// A minimal config with extra members spliced in: {"filters": 4, "kernel_size": [3] <extra>}.
std::string with(const std::string& extra) {
  return R"({"filters": 4, "kernel_size": [3])" + (extra.empty() ? "" : ", " + extra) + "}";
}

LayerConfig parse(const std::string& json) { return parse_layer_config(json).layer; }

// Expects InvalidArgument naming `key` (in argument() and in the message) with every text of
// `mentions` in the message.
void expect_rejected(const std::string& json, const std::string& key,
                     const std::vector<std::string>& mentions = {}) {
  try {
    (void)parse_layer_config(json);
    ADD_FAILURE() << "accepted: " << json;
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), key) << e.what();
    const std::string msg = e.what();
    EXPECT_NE(msg.find("`" + key + "`"), std::string::npos) << msg;
    for (const auto& m : mentions) EXPECT_NE(msg.find(m), std::string::npos) << msg;
  }
}

// ---- accepted forms -------------------------------------------------------------------------------

TEST(KerasConfig, MinimalConfigTakesKerasDefaults) {
  const LayerConfig c = parse(with(""));
  EXPECT_EQ(c.filters, 4);
  EXPECT_EQ(c.kernel_size, 3);
  EXPECT_EQ(c.strides, 1);
  EXPECT_EQ(c.dilation_rate, 1);
  EXPECT_EQ(c.depth_multiplier, 1);
  EXPECT_EQ(c.padding, Padding::valid);
  EXPECT_EQ(c.data_format, DataFormat::channels_last);
  EXPECT_EQ(c.activation, Activation::linear);
  EXPECT_TRUE(c.use_bias);
  EXPECT_FALSE(parse_layer_config(with("")).dtype.has_value());
}

TEST(KerasConfig, ListsOfOneInteger) {
  const LayerConfig c = parse(with(R"("strides": [2], "dilation_rate": [1])"));
  EXPECT_EQ(c.kernel_size, 3);
  EXPECT_EQ(c.strides, 2);
  EXPECT_EQ(c.dilation_rate, 1);
}

TEST(KerasConfig, PlainIntegers) {
  const LayerConfig c = parse(R"({"filters": 4, "kernel_size": 5, "strides": 1, "dilation_rate": 3})");
  EXPECT_EQ(c.kernel_size, 5);
  EXPECT_EQ(c.dilation_rate, 3);
}

TEST(KerasConfig, IntegralFloatsAreIntegers) {
  const LayerConfig c = parse(R"({"filters": 4.0, "kernel_size": [3.0], "depth_multiplier": 2.0})");
  EXPECT_EQ(c.filters, 4);
  EXPECT_EQ(c.kernel_size, 3);
  EXPECT_EQ(c.depth_multiplier, 2);
}

TEST(KerasConfig, PaddingAnyCase) {
  EXPECT_EQ(parse(with(R"("padding": "SAME")")).padding, Padding::same);
  EXPECT_EQ(parse(with(R"("padding": "Causal")")).padding, Padding::causal);
  EXPECT_EQ(parse(with(R"("padding": "valid")")).padding, Padding::valid);
}

TEST(KerasConfig, DataFormatNullIsChannelsLast) {
  EXPECT_EQ(parse(with(R"("data_format": null)")).data_format, DataFormat::channels_last);
  EXPECT_EQ(parse(with(R"("data_format": "Channels_First")")).data_format,
            DataFormat::channels_first);
}

TEST(KerasConfig, ActivationNullOrLinearIsLinear) {
  EXPECT_EQ(parse(with(R"("activation": null)")).activation, Activation::linear);
  EXPECT_EQ(parse(with(R"("activation": "linear")")).activation, Activation::linear);
}

TEST(KerasConfig, ActivationNamesAndAliases) {
  EXPECT_EQ(parse(with(R"("activation": "gelu")")).activation, Activation::gelu);
  EXPECT_EQ(parse(with(R"("activation": "swish")")).activation, Activation::silu);
  EXPECT_EQ(parse(with(R"("activation": "hard_swish")")).activation, Activation::hard_silu);
  EXPECT_EQ(parse(with(R"("activation": "hard_sigmoid_tf_keras")")).activation,
            Activation::hard_sigmoid_tf_keras);
}

TEST(KerasConfig, UseBiasFalse) { EXPECT_FALSE(parse(with(R"("use_bias": false)")).use_bias); }

TEST(KerasConfig, DtypeStrings) {
  const std::pair<const char*, DType> names[] = {
      {"float32", DType::f32},       {"float16", DType::f16},
      {"bfloat16", DType::bf16},     {"mixed_float16", DType::f16},
      {"mixed_bfloat16", DType::bf16}};
  for (const auto& [name, dtype] : names) {
    const auto k = parse_layer_config(with(std::string(R"("dtype": ")") + name + "\""));
    ASSERT_TRUE(k.dtype.has_value()) << name;
    EXPECT_EQ(*k.dtype, dtype) << name;
    EXPECT_EQ(k.dtype_name, name);
  }
}

TEST(KerasConfig, DtypePolicyObject) {
  const auto k = parse_layer_config(with(
      R"("dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_bfloat16"}, "registered_name": null})"));
  ASSERT_TRUE(k.dtype.has_value());
  EXPECT_EQ(*k.dtype, DType::bf16);
}

TEST(KerasConfig, DtypeNullIsAbsent) {
  EXPECT_FALSE(parse_layer_config(with(R"("dtype": null)")).dtype.has_value());
}

TEST(KerasConfig, UnknownKeysAreIgnored) {
  const LayerConfig c = parse(with(
      R"("name": "sep", "trainable": true, "groups": 1, "depthwise_initializer": {"class_name": "GlorotUniform"}, "pointwise_regularizer": null, "bias_constraint": null, "future_key": [1, 2, 3])"));
  EXPECT_EQ(c.filters, 4);
}

TEST(KerasConfig, SerializedLayerForm) {
  const LayerConfig c = parse(R"({"module": "keras.layers", "class_name": "SeparableConv1D",
      "config": {"filters": 7, "kernel_size": [2], "padding": "same"}})");
  EXPECT_EQ(c.filters, 7);
  EXPECT_EQ(c.padding, Padding::same);
}

TEST(KerasConfig, ReadsGoldenConfigsOfBothFrameworks) {
  bool keras = false;
  bool tf_keras = false;
  for (const auto& c : golden::cases_of_kind("forward")) {
    const auto k = golden::load_config(c);  // throws on any problem
    EXPECT_GT(k.layer.filters, 0);
    keras |= c.framework == "keras";
    tf_keras |= c.framework == "tf_keras";
  }
  EXPECT_TRUE(keras && tf_keras);
}

TEST(KerasConfig, ReadsAFile) {
  ScratchDir dir;
  write_file(dir.file("c.json"), with(R"("activation": "relu")"));
  EXPECT_EQ(keras::read_layer_config(dir.file("c.json")).layer.activation, Activation::relu);
}

// ---- errors ---------------------------------------------------------------------------------------

TEST(KerasConfigError, InvalidJson) {
  expect_rejected(R"({"filters": 4, "kernel_size": [3)", "config", {"not valid JSON"});
}

TEST(KerasConfigError, NotAnObject) { expect_rejected("[4, 3]", "config", {"JSON object"}); }

TEST(KerasConfigError, MissingFilters) {
  expect_rejected(R"({"kernel_size": 3})", "filters", {"required key"});
}

TEST(KerasConfigError, MissingKernelSize) {
  expect_rejected(R"({"filters": 3})", "kernel_size", {"required key"});
}

TEST(KerasConfigError, FiltersNull) {
  expect_rejected(R"({"filters": null, "kernel_size": 3})", "filters", {"null"});
}

TEST(KerasConfigError, FiltersString) {
  expect_rejected(R"({"filters": "4", "kernel_size": 3})", "filters", {"an integer"});
}

TEST(KerasConfigError, FiltersNonIntegralFloat) {
  expect_rejected(R"({"filters": 3.5, "kernel_size": 3})", "filters", {"3.5"});
}

TEST(KerasConfigError, FiltersZero) {
  expect_rejected(R"({"filters": 0, "kernel_size": 3})", "filters", {"strictly positive"});
}

TEST(KerasConfigError, FiltersBeyondInt64) {
  expect_rejected(R"({"filters": 18446744073709551615, "kernel_size": 3})", "filters",
                  {"fits in 64 bits"});
}

TEST(KerasConfigError, KernelSizeHugeFloat) {
  expect_rejected(R"({"filters": 4, "kernel_size": 1e300})", "kernel_size", {"an integer"});
}

TEST(KerasConfigError, KernelSizeTwoElements) {
  expect_rejected(R"({"filters": 4, "kernel_size": [3, 3]})", "kernel_size", {"2 elements"});
}

TEST(KerasConfigError, KernelSizeEmptyList) {
  expect_rejected(R"({"filters": 4, "kernel_size": []})", "kernel_size", {"0 elements"});
}

TEST(KerasConfigError, KernelSizeListOfString) {
  expect_rejected(R"({"filters": 4, "kernel_size": ["3"]})", "kernel_size", {"an integer"});
}

TEST(KerasConfigError, KernelSizeNegative) {
  expect_rejected(R"({"filters": 4, "kernel_size": [-3]})", "kernel_size", {"-3"});
}

TEST(KerasConfigError, StridesTwoElements) {
  expect_rejected(with(R"("strides": [1, 1])"), "strides", {"1-element list"});
}

TEST(KerasConfigError, StridesZero) { expect_rejected(with(R"("strides": [0])"), "strides"); }

TEST(KerasConfigError, DilationRateFloat) {
  expect_rejected(with(R"("dilation_rate": 2.5)"), "dilation_rate", {"2.5"});
}

TEST(KerasConfigError, StridesWithDilation) {
  expect_rejected(with(R"("strides": [2], "dilation_rate": [2])"), "strides",
                  {"dilation_rate"});
}

TEST(KerasConfigError, DepthMultiplierZero) {
  expect_rejected(with(R"("depth_multiplier": 0)"), "depth_multiplier");
}

TEST(KerasConfigError, DepthMultiplierList) {
  expect_rejected(with(R"("depth_multiplier": [2])"), "depth_multiplier", {"an integer"});
}

TEST(KerasConfigError, PaddingNotAString) {
  expect_rejected(with(R"("padding": 5)"), "padding", {"\"valid\""});
}

TEST(KerasConfigError, PaddingUnknown) {
  expect_rejected(with(R"("padding": "full")"), "padding", {"full"});
}

TEST(KerasConfigError, DataFormatUnknown) {
  expect_rejected(with(R"("data_format": "channels_middle")"), "data_format",
                  {"channels_middle"});
}

TEST(KerasConfigError, DataFormatNotAString) {
  expect_rejected(with(R"("data_format": 1)"), "data_format");
}

TEST(KerasConfigError, ActivationUnknown) {
  expect_rejected(with(R"("activation": "not_an_activation")"), "activation",
                  {"not_an_activation"});
}

TEST(KerasConfigError, ActivationGlu) {
  expect_rejected(with(R"("activation": "glu")"), "activation", {"glu"});
}

TEST(KerasConfigError, ActivationObject) {
  expect_rejected(with(R"("activation": {"class_name": "function", "config": "my_act"})"),
                  "activation", {"custom activation"});
}

TEST(KerasConfigError, UseBiasString) {
  expect_rejected(with(R"("use_bias": "true")"), "use_bias", {"true or false"});
}

TEST(KerasConfigError, UseBiasInteger) {
  expect_rejected(with(R"("use_bias": 1)"), "use_bias", {"true or false"});
}

TEST(KerasConfigError, DtypeFloat64) {
  expect_rejected(with(R"("dtype": "float64")"), "dtype", {"float64"});
}

TEST(KerasConfigError, DtypePolicyWithoutName) {
  expect_rejected(with(R"("dtype": {"class_name": "DTypePolicy", "config": {}})"), "dtype");
}

TEST(KerasConfigError, DtypeNumber) { expect_rejected(with(R"("dtype": 32)"), "dtype"); }

TEST(KerasConfigError, SerializedOtherLayer) {
  expect_rejected(R"({"class_name": "Conv1D", "config": {"filters": 4}})", "class_name",
                  {"SeparableConv1D"});
}

TEST(KerasConfigError, DeeplyNestedJsonDoesNotCrash) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  expect_rejected(deep, "config");
  // an ignored key may nest deeply
  EXPECT_EQ(parse(with(R"("depthwise_initializer": )" + deep)).filters, 4);
}

TEST(KerasConfigError, MissingFile) {
  ScratchDir dir;
  EXPECT_THROW((void)keras::read_layer_config(dir.file("none.json")), keras::FileError);
}

}  // namespace
}  // namespace sepconv::test
