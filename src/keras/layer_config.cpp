// Keras layer configs (JSON) read into a LayerSpec; the model-config walk (model_config.cpp) uses
// parse_layer_object for every SeparableConv1D it finds.
#include <cmath>
#include <limits>

#include "keras/config_json.h"
#include "keras/files.h"
#include "keras/text.h"
#include "sepconv/keras.h"

namespace sepconv::keras {
namespace {

using detail::fail;
using detail::shown;
using detail::str;
using nlohmann::json;

std::int64_t integer(const json& v, std::string_view key) {
  if (v.is_number_unsigned()) {
    if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail(key, shown(v), "an integer that fits in 64 bits");
    }
    return static_cast<std::int64_t>(v.get<std::uint64_t>());
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    // JSON has one number type: 3.0 is the integer 3. Only values exactly representable as
    // integers in a double (|v| <= 2^53) are taken.
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) <= 9007199254740992.0) {
      return static_cast<std::int64_t>(d);
    }
    fail(key, shown(v), "an integer (a float only with an integral value, like 3.0)");
  }
  fail(key, shown(v), "an integer");
}

// kernel_size, strides, dilation_rate: n or [n] (get_config writes 1-tuples as lists).
std::int64_t integer_or_tuple(const json& v, std::string_view key) {
  if (v.is_array()) {
    if (v.size() != 1) {
      fail(key, str(shown(v), " with ", v.size(), " elements"),
           "an integer or a 1-element list [n] (SeparableConv1D has one spatial axis)");
    }
    return integer(v[0], key);
  }
  if (!v.is_number()) fail(key, shown(v), "an integer or a 1-element list [n]");
  return integer(v, key);
}

std::string text(const json& v, std::string_view key, std::string_view expected) {
  if (!v.is_string()) fail(key, shown(v), std::string(expected));
  return v.get<std::string>();
}

// The dtype key: a name, a dtype-policy object {"config": {"name": ...}}, or null.
void parse_dtype(const json& v, LayerSpec& out) {
  constexpr const char* kExpected =
      "\"float32\", \"float16\", \"bfloat16\", \"mixed_float16\", \"mixed_bfloat16\", a Keras "
      "dtype policy {\"class_name\": \"DTypePolicy\", \"config\": {\"name\": ...}} or null";
  if (v.is_null()) return;
  const json* name = &v;
  if (v.is_object()) {
    const auto config = v.find("config");
    if (config == v.end() || !config->is_object() || !config->contains("name")) {
      fail("dtype", shown(v), kExpected);
    }
    name = &(*config)["name"];
  }
  const std::string s = text(*name, "dtype", kExpected);
  const auto dtype = dtype_from_name(s);
  if (!dtype) fail("dtype", str('"', detail::printable(s), '"'), kExpected);
  out.dtype = dtype;
  out.dtype_name = s;
}

}  // namespace

std::optional<DType> dtype_from_name(std::string_view name) {
  if (name == "float32") return DType::f32;
  if (name == "float16" || name == "mixed_float16") return DType::f16;
  if (name == "bfloat16" || name == "mixed_bfloat16") return DType::bf16;
  return std::nullopt;
}

namespace detail {

json parse_json(std::string_view json_text, std::string_view expected) {
  try {
    return json::parse(json_text.begin(), json_text.end());
  } catch (const json::exception& e) {
    // e.what() may quote raw bytes of a binary file: keep messages ASCII.
    fail("config", str("text that is not valid JSON (", printable(e.what(), 200), ")"),
         std::string(expected));
  }
}

std::string shown(const json& v) {
  bool flat = v.is_primitive() || (v.is_array() && v.size() <= 8);
  if (v.is_array()) {
    for (const auto& e : v) flat = flat && e.is_primitive();
  }
  if (!flat) return str("a JSON ", v.type_name(), " of ", v.size(), " elements");
  std::string s = v.dump(-1, ' ', true, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s + " (" + v.type_name() + ")";
}

bool is_separable_conv1d(std::string_view class_name) {
  return class_name == "SeparableConv1D" || class_name == "SeparableConvolution1D";
}

LayerSpec parse_layer_object(const json& obj) {
  const auto find = [&](const char* key) -> const json* {
    const auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  };
  const auto required = [&](const char* key) -> const json& {
    const json* v = find(key);
    if (v == nullptr) fail(key, "no such key", str("the required key \"", key, "\""));
    return *v;
  };

  LayerSpec out;
  LayerConfig& c = out.layer;
  c.filters = integer(required("filters"), "filters");  // null and strings are not numbers
  c.kernel_size = integer_or_tuple(required("kernel_size"), "kernel_size");
  if (const json* v = find("strides")) c.strides = integer_or_tuple(*v, "strides");
  if (const json* v = find("dilation_rate")) c.dilation_rate = integer_or_tuple(*v, "dilation_rate");
  if (const json* v = find("depth_multiplier")) c.depth_multiplier = integer(*v, "depth_multiplier");
  if (const json* v = find("padding")) {
    c.padding = parse_padding(text(*v, "padding", "\"valid\", \"same\" or \"causal\""));
  }
  if (const json* v = find("data_format"); v != nullptr && !v->is_null()) {
    c.data_format = parse_data_format(
        text(*v, "data_format", "\"channels_last\", \"channels_first\" or null"));
  }
  if (const json* v = find("activation"); v != nullptr && !v->is_null()) {
    c.activation = parse_activation(text(
        *v, "activation",
        "the name of a Keras activation or null (custom activation objects are not supported)"));
  }
  if (const json* v = find("use_bias")) {
    if (!v->is_boolean()) fail("use_bias", shown(*v), "true or false");
    c.use_bias = v->get<bool>();
  }
  if (const json* v = find("dtype")) parse_dtype(*v, out);
  if (const json* v = find("name"); v != nullptr && !v->is_null()) {
    out.name = text(*v, "name", "the layer's name, a string");
  }
  validate(c);
  return out;
}

}  // namespace detail

LayerSpec parse_layer_config(std::string_view json_text) {
  const json root =
      detail::parse_json(json_text, "a JSON object as written by json.dump(layer.get_config())");
  if (!root.is_object()) fail("config", detail::shown(root), "a JSON object (layer.get_config())");
  const json* obj = &root;
  // The serialized form {"class_name": ..., "config": {...}} (keras.saving.serialize_keras_object).
  if (!root.contains("filters") && root.contains("class_name") && root.contains("config")) {
    const json& cls = root["class_name"];
    if (!cls.is_string() || !detail::is_separable_conv1d(cls.get<std::string>())) {
      fail("class_name", detail::shown(cls), "\"SeparableConv1D\"");
    }
    obj = &root["config"];
    if (!obj->is_object()) fail("config", detail::shown(*obj), "a JSON object (the layer's config)");
  }
  return detail::parse_layer_object(*obj);
}

LayerSpec read_layer_config(const std::string& path) {
  return parse_layer_config(detail::read_text_file(path, "a layer config"));
}

}  // namespace sepconv::keras
