#include "fuzz_support.h"

#include <fstream>
#include <iterator>
#include <map>

namespace sepconv::fuzz {

const std::vector<unsigned char>& model_data(const std::string& file) {
  static std::map<std::string, std::vector<unsigned char>> cache;
  const auto it = cache.find(file);
  if (it != cache.end()) return it->second;
  const std::string path = std::string(SEPCONV_FUZZ_MODELS_DIR) + "/" + file;
  std::ifstream in(path, std::ios::binary);
  if (!in) finding("cannot read " + path);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return cache.emplace(file, std::move(bytes)).first->second;
}

namespace {

// What a loaded layer must be: its config's, with arrays of the sizes their shapes say.
void check_layer(const keras::Layer& layer, const keras::LayerInfo& info) {
  require(layer.info.path == info.path && layer.info.problem.empty(), "load returned another layer");
  const LayerConfig& c = info.spec.layer;
  require(info.in_channels > 0, "a loaded layer without input channels");
  const auto check = [&](const keras::Array& a, std::vector<std::int64_t> shape, const char* what) {
    require(a.shape == shape, std::string(what) + " has a shape its config does not give");
    require(a.dtype == layer.precision.dtype, std::string(what) + " is not in the layer's dtype");
    std::size_t n = dtype_size(a.dtype);
    for (const auto d : a.shape) n *= static_cast<std::size_t>(d);
    require(a.bytes.size() == n, std::string(what) + " holds " + std::to_string(a.bytes.size()) +
                                     " bytes; its shape needs " + std::to_string(n));
  };
  check(layer.depthwise, {c.kernel_size, info.in_channels, c.depth_multiplier}, "depthwise");
  check(layer.pointwise, {1, info.in_channels * c.depth_multiplier, c.filters}, "pointwise");
  if (c.use_bias) {
    check(layer.bias, {c.filters}, "bias");
  } else {
    require(layer.bias.shape.empty() && layer.bias.bytes.empty(), "a bias without use_bias");
  }
  check_message(keras::describe(info.spec));
}

}  // namespace

void run_model(const unsigned char* data, std::size_t size, const std::string& name,
               std::string_view config_json) {
  try {
    const keras::ModelFile file = keras::ModelFile::from_memory(data, size, name, config_json);
    require(file.path() == name, "path() is not the name given");
    (void)keras::to_string(file.format());
    for (const keras::LayerInfo& info : file.layers()) {
      if (!info.problem.empty()) check_message(info.problem);
      try {
        const keras::LayerInfo& found = file.find(info.path);
        require(found.path == info.path, "find(path) returned another layer");
        const keras::Layer layer = file.load(info.path);
        require(info.problem.empty(), "a layer with a problem loaded: " + info.problem);
        check_layer(layer, info);
      } catch (const keras::FileError& e) {
        require(e.path() == name, "FileError::path() is not the file's name");
        check_file_message(e.what(), name);
      }
    }
    try {
      const keras::Layer layer = file.load();
      check_layer(layer, layer.info);
    } catch (const keras::FileError& e) {
      check_file_message(e.what(), name);
    }
  } catch (const keras::FileError& e) {
    require(e.path() == name, "FileError::path() is not the file's name");
    check_file_message(e.what(), name);
  }
}

}  // namespace sepconv::fuzz
