// A Keras config JSON walked into its layers: a model's config (Functional, Sequential, nested
// models) or one SeparableConv1D layer's.
#include <cctype>
#include <map>

#include "keras/config_json.h"
#include "keras/text.h"

namespace sepconv::keras::detail {
namespace {

using nlohmann::json;

// Models nested deeper than this are refused (a real model nests a few levels).
constexpr int kMaxNesting = 32;

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_word(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Keras's unique names in one container: the first "x", then "x_1", "x_2", ...
std::string unique_name(const std::string& name, std::map<std::string, int>& used) {
  const auto it = used.find(name);
  if (it == used.end()) {
    used.emplace(name, 0);
    return name;
  }
  return str(name, "_", ++it->second);
}

const json* member(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// The channel count of the input a layer was built for: Keras 3's build_config.input_shape, the
// last axis for channels_last, axis 1 for channels_first.
std::optional<std::int64_t> built_channels(const json& entry, const LayerSpec& spec) {
  const json* build = member(entry, "build_config");
  if (build == nullptr || !build->is_object()) return std::nullopt;
  const json* shape = member(*build, "input_shape");
  if (shape == nullptr || !shape->is_array() || shape->size() != 3) return std::nullopt;
  const json& c = (*shape)[spec.layer.data_format == DataFormat::channels_last ? 2 : 1];
  if (!c.is_number_integer() || c.get<std::int64_t>() <= 0) return std::nullopt;
  return c.get<std::int64_t>();
}

class Walker {
 public:
  explicit Walker(ModelConfig& out) : out_(out) {}

  void walk(const json& layers, const std::string& prefix, const std::string& v3_prefix,
            int depth) {
    if (depth > kMaxNesting) {
      fail("config", str("models nested more than ", kMaxNesting, " deep"),
           "a Keras model config");
    }
    std::map<std::string, int> used;
    for (const json& entry : layers) {
      if (!entry.is_object()) {
        fail("layers", shown(entry), "a layer entry {\"class_name\": ..., \"config\": {...}}");
      }
      const json* class_name = member(entry, "class_name");
      const json* config = member(entry, "config");
      if (class_name == nullptr || !class_name->is_string()) {
        fail("class_name", class_name ? shown(*class_name) : "no such key",
             "the class name of a layer in \"layers\"");
      }
      if (config == nullptr || !config->is_object()) {
        fail("config", config ? shown(*config) : "no such key",
             str("the config object of layer entry ", in_quotes(class_name->get<std::string>())));
      }
      const json* name = member(*config, "name");
      if (name == nullptr || !name->is_string()) name = member(entry, "name");
      if (name == nullptr || !name->is_string() || name->get<std::string>().empty()) {
        fail("name", name ? shown(*name) : "no such key",
             str("the name of a ", in_quotes(class_name->get<std::string>()), " layer"));
      }

      ConfigNode node;
      node.name = name->get<std::string>();
      node.class_name = class_name->get<std::string>();
      node.path = prefix + node.name;
      node.v3_group = v3_prefix + "layers/" + unique_name(to_snake_case(node.class_name), used);
      const json* inner = member(*config, "layers");
      if (inner != nullptr && inner->is_array()) {
        node.is_model = true;
        const std::string path = node.path;
        const std::string group = node.v3_group;
        out_.nodes.push_back(std::move(node));
        walk(*inner, path + "/", group + "/", depth + 1);
        continue;
      }
      if (is_separable_conv1d(node.class_name)) {
        try {
          node.spec = parse_layer_object(*config);
          node.built_channels = built_channels(entry, *node.spec);
        } catch (const InvalidArgument& e) {
          node.problem = str("its config: ", e.what());
        }
      }
      out_.nodes.push_back(std::move(node));
    }
  }

 private:
  ModelConfig& out_;
};

}  // namespace

std::string to_snake_case(std::string_view class_name) {
  // re.sub(r"\W+", "", name)
  std::string a;
  for (char c : class_name) {
    if (is_word(c)) a += c;
  }
  // re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name): matches scanned left to right, not overlapping.
  std::string b;
  for (std::size_t i = 0; i < a.size();) {
    if (i + 2 < a.size() && is_upper(a[i + 1]) && is_lower(a[i + 2])) {
      std::size_t j = i + 2;
      while (j < a.size() && is_lower(a[j])) ++j;
      b += a[i];
      b += '_';
      b.append(a, i + 1, j - i - 1);
      i = j;
    } else {
      b += a[i++];
    }
  }
  // re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
  std::string c;
  for (std::size_t i = 0; i < b.size(); ++i) {
    c += b[i];
    if (is_lower(b[i]) && i + 1 < b.size() && is_upper(b[i + 1])) c += '_';
  }
  for (char& ch : c) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return c;
}

ModelConfig parse_model_config(std::string_view json_text) {
  const json root = parse_json(
      json_text, "a Keras config: model.to_json() or json.dump(layer.get_config())");
  if (!root.is_object()) {
    fail("config", shown(root), "a JSON object (model.to_json() or layer.get_config())");
  }
  ModelConfig out;
  const json* config = member(root, "config");
  const json* layers = config != nullptr && config->is_object() ? member(*config, "layers") : nullptr;
  if (layers != nullptr && layers->is_array() && member(root, "filters") == nullptr) {
    Walker(out).walk(*layers, "", "", 0);
    return out;
  }
  // One layer: get_config(), or its serialized form.
  out.layer_only = true;
  const json* obj = &root;
  if (member(root, "filters") == nullptr && config != nullptr) {
    const json* cls = member(root, "class_name");
    if (cls == nullptr || !cls->is_string() || !is_separable_conv1d(cls->get<std::string>())) {
      fail("class_name", cls ? shown(*cls) : "no such key",
           "\"SeparableConv1D\", or a model config with \"layers\"");
    }
    if (!config->is_object()) fail("config", shown(*config), "a JSON object (the layer's config)");
    obj = config;
  }
  ConfigNode node;
  node.class_name = "SeparableConv1D";
  node.spec = parse_layer_object(*obj);
  node.name = node.spec->name;
  node.path = node.name;
  out.nodes.push_back(std::move(node));
  return out;
}

}  // namespace sepconv::keras::detail
