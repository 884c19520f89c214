#include "keras/keras_models.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "io/npy.h"

namespace sepconv::test::keras_models {

std::string directory() {
  if (const char* env = std::getenv("SEPCONV_KERAS_MODELS_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return SEPCONV_KERAS_MODELS_DIR;
}

std::string file(const std::string& name) { return directory() + "/" + name; }

std::vector<Model> load_manifest() {
  const std::string path = file("manifest.json");
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<Model> models;
  try {
    const auto manifest = nlohmann::json::parse(in);
    for (const auto& m : manifest.at("models")) {
      Model model;
      model.name = m.at("name").get<std::string>();
      model.framework = m.at("framework").get<std::string>();
      model.files = m.at("files").get<std::map<std::string, std::string>>();
      model.model_json = m.at("model_json").get<std::string>();
      model.layer_json = m.at("layer_json").get<std::map<std::string, std::string>>();
      for (const auto& l : m.at("layers")) {
        LayerCase c;
        c.path = l.at("path").get<std::string>();
        c.in_channels = l.at("in_channels").get<std::int64_t>();
        c.filters = l.at("filters").get<std::int64_t>();
        c.kernel_size = l.at("kernel_size").get<std::int64_t>();
        c.data_format = l.at("data_format").get<std::string>();
        c.use_bias = l.at("use_bias").get<bool>();
        c.dtype_policy = l.at("dtype_policy").get<std::string>();
        c.compute_dtype = l.at("compute_dtype").get<std::string>();
        c.input = l.at("input").get<std::string>();
        c.output = l.at("output").get<std::string>();
        model.layers.push_back(c);
      }
      for (const auto& o : m.at("other_layers")) {
        model.other_layers[o.at("path").get<std::string>()] = o.at("class_name").get<std::string>();
      }
      models.push_back(std::move(model));
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  return models;
}

const Model& model(const std::string& name) {
  static const std::vector<Model> models = load_manifest();
  for (const auto& m : models) {
    if (m.name == name) return m;
  }
  throw std::runtime_error("no model " + name + " in the manifest");
}

std::string model_file(const std::string& name, const std::string& key) {
  return file(model(name).files.at(key));
}

keras::Format format_of(const std::string& key) {
  if (key == "keras_archive") return keras::Format::keras_archive;
  if (key == "keras_weights") return keras::Format::keras_weights;
  if (key == "legacy_model") return keras::Format::legacy_model;
  if (key == "legacy_weights") return keras::Format::legacy_weights;
  throw std::runtime_error("unknown format key " + key);
}

namespace {
std::string stem(const std::string& path) {
  std::string s;
  for (char c : path) s += c == '/' ? std::string("__") : std::string(1, c);
  return s;
}
}  // namespace

std::vector<LayerLoad> layer_loads() {
  std::vector<LayerLoad> out;
  std::vector<Model> models;
  try {
    models = load_manifest();
  } catch (const std::exception&) {
    return out;
  }
  for (const auto& m : models) {
    for (const auto& [key, name] : m.files) {
      const bool weights_only = keras::weights_only(format_of(key));
      for (const auto& l : m.layers) {
        const std::string base = m.name + "_" + key + "_";
        out.push_back({base + (weights_only ? "model_json_" : "") + stem(l.path), m.name, key,
                       file(name), weights_only ? file(m.model_json) : std::string(), l});
        const auto it = m.layer_json.find(l.path);
        if (weights_only && it != m.layer_json.end()) {
          out.push_back({base + "layer_json_" + stem(l.path), m.name, key, file(name),
                         file(it->second), l});
        }
      }
    }
  }
  return out;
}

DType dtype_of(const std::string& compute_dtype) {
  if (compute_dtype == "float32") return DType::f32;
  if (compute_dtype == "float16") return DType::f16;
  if (compute_dtype == "bfloat16") return DType::bf16;
  throw std::runtime_error("unknown compute dtype " + compute_dtype);
}

io::HostArray input(const LayerCase& layer, DType dtype) {
  return io::converted(io::read_npy(file(layer.input)), dtype);
}

io::HostArray keras_output(const LayerCase& layer) { return io::read_npy(file(layer.output)); }

}  // namespace sepconv::test::keras_models
