// Test support: the Keras model files of tests/data/keras_models (tools/gen_keras_golden.py
// --models; its manifest.json lists the models, their files and configs, and every
// SeparableConv1D layer with a random input and Keras's output for it).
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "io/host_array.h"
#include "sepconv/keras.h"

namespace sepconv::test::keras_models {

/// One SeparableConv1D layer of a model, as Keras built it.
struct LayerCase {
  std::string path;  ///< "block/sep"
  std::int64_t in_channels = 0;
  std::int64_t filters = 0;
  std::int64_t kernel_size = 0;
  std::string data_format;
  bool use_bias = true;
  std::string dtype_policy;   ///< "float32", "mixed_bfloat16", ...
  std::string compute_dtype;  ///< "float32", "float16", "bfloat16"
  std::string input, output;  ///< .npy files, relative to directory()
};

struct Model {
  std::string name;
  std::string framework;
  std::map<std::string, std::string> files;       ///< format key ("keras_archive", ...) -> file
  std::string model_json;                         ///< the model's to_json()
  std::map<std::string, std::string> layer_json;  ///< layer path -> its get_config() file
  std::vector<LayerCase> layers;
  std::map<std::string, std::string> other_layers;  ///< path -> class name
};

/// The folder: SEPCONV_KERAS_MODELS_DIR from the environment, else the path compiled in.
[[nodiscard]] std::string directory();
/// directory() + "/" + name.
[[nodiscard]] std::string file(const std::string& name);
/// The models of manifest.json. Throws std::runtime_error when it is missing or malformed.
[[nodiscard]] std::vector<Model> load_manifest();
/// The model `name` of the manifest (read once). Throws std::runtime_error when there is none.
[[nodiscard]] const Model& model(const std::string& name);
/// The absolute path of model `name`'s file in the format `key` ("keras_archive", ...).
[[nodiscard]] std::string model_file(const std::string& name, const std::string& key);
/// The keras::Format a manifest format key names.
[[nodiscard]] keras::Format format_of(const std::string& key);

/// One layer loaded from one file with one config: every layer of every format of every model;
/// the weights-only formats with the model's to_json() and, for the layers that have one, with
/// the layer's get_config().
struct LayerLoad {
  std::string name;    ///< a test name: "k3_model_keras_weights_layer_json_block__sep"
  std::string model;
  std::string format;  ///< the manifest key
  std::string file;    ///< absolute
  std::string config;  ///< absolute, or empty
  LayerCase layer;
};
/// Every LayerLoad (empty when the manifest cannot be read: load_manifest then says why).
[[nodiscard]] std::vector<LayerLoad> layer_loads();

/// The layer's input converted to `dtype` (float16 files stay float16; float32 files holding
/// bfloat16 values round exactly), and Keras's output as written.
[[nodiscard]] io::HostArray input(const LayerCase& layer, DType dtype);
[[nodiscard]] io::HostArray keras_output(const LayerCase& layer);
/// The compute dtype a manifest names.
[[nodiscard]] DType dtype_of(const std::string& compute_dtype);

inline void PrintTo(const LayerLoad& l, std::ostream* os) { *os << l.name; }
struct LoadName {
  template <class Info>
  std::string operator()(const Info& info) const {
    return info.param.name;
  }
};

}  // namespace sepconv::test::keras_models
