// The public API of sepconv_keras (sepconv/keras.h): files in, FileError out.
#include <algorithm>
#include <cstring>

#include "keras/archive.h"
#include "keras/files.h"
#include "keras/hdf5.h"
#include "keras/model.h"
#include "keras/text.h"
#include "sepconv/keras.h"

namespace sepconv::keras {
namespace {

using detail::printable;
using detail::Problem;
using detail::str;

enum class Container { zip, hdf5 };

// Where a model file's bytes are: a file at `name`, or memory (`name` only names it in messages).
struct Source {
  const std::string& name;
  bool in_memory = false;
  const unsigned char* data = nullptr;
  std::size_t size = 0;
};

// Which container a file is, from its first bytes. Throws FileError for neither.
Container container_of(const Source& source) {
  const std::string& path = source.name;
  const auto head = source.in_memory
                        ? std::vector<unsigned char>(source.data, source.data + std::min<std::size_t>(source.size, 8))
                        : detail::read_prefix(path, 8);
  if (head.size() >= 4 && head[0] == 'P' && head[1] == 'K' &&
      ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
    return Container::zip;
  }
  if (head.size() == 8 && std::memcmp(head.data(), hdf5::kSignature, 8) == 0) return Container::hdf5;
  if (head.empty()) throw FileError(path, "an empty file, not a Keras model file");
  std::string hex;
  for (const unsigned char b : head) hex += str(hex.empty() ? "" : " ", "0123456789abcdef"[b >> 4], "0123456789abcdef"[b & 15]);
  throw FileError(path, str("neither a .keras archive (zip) nor an HDF5 file (.h5): it starts with "
                            "the bytes ", hex));
}

hdf5::File open_hdf5(const Source& source) {
  try {
    return source.in_memory ? hdf5::File::open_image(source.data, source.size)
                            : hdf5::File::open(source.name);
  } catch (const hdf5::Error& e) {
    throw FileError(source.name, str("a truncated or corrupt HDF5 file: ", e.what()));
  }
}

detail::ArchiveContents read_archive(const Source& source) {
  try {
    return detail::read_archive(source.in_memory ? zip::Archive::open_memory(source.data, source.size)
                                                 : zip::Archive::open(source.name));
  } catch (const zip::Error& e) {
    throw FileError(source.name, str("a truncated or corrupt .keras archive: ", e.what()));
  } catch (const Problem& e) {
    throw FileError(source.name, e.what());
  }
}

detail::ModelConfig parse_config(const std::string& text, const std::string& file,
                                 const std::string& what) {
  try {
    return detail::parse_model_config(text);
  } catch (const InvalidArgument& e) {
    throw FileError(file, what + e.what());
  }
}

}  // namespace

FileError::FileError(std::string path, const std::string& problem)
    : Error(path + ": " + problem), path_(std::move(path)) {}

ConstTensorView Array::view() const {
  ConstTensorView v;
  if (shape.empty()) return v;
  v.data = bytes.data();
  v.dtype = dtype;
  v.rank = static_cast<int>(shape.size());
  std::int64_t stride = 1;
  for (int i = v.rank - 1; i >= 0; --i) {
    v.shape[i] = shape[i];
    v.strides[i] = stride;
    stride *= shape[i];
  }
  return v;
}

Weights Layer::weights() const { return {depthwise.view(), pointwise.view(), bias.view()}; }

std::string_view to_string(Format format) noexcept {
  switch (format) {
    case Format::keras_archive: return "Keras 3 .keras archive";
    case Format::keras_weights: return "Keras 3 weights file (.weights.h5)";
    case Format::legacy_model: return "legacy HDF5 model (.h5)";
    case Format::legacy_weights: return "legacy HDF5 weights file (.h5)";
  }
  return "?";
}

bool weights_only(Format format) noexcept {
  return format == Format::keras_weights || format == Format::legacy_weights;
}

Format detect_format(const std::string& path) {
  const Source source{path};
  if (container_of(source) == Container::zip) return Format::keras_archive;
  const hdf5::File file = open_hdf5(source);
  try {
    return detail::hdf5_format(file);
  } catch (const Problem& e) {
    throw FileError(path, e.what());
  }
}

struct ModelFile::Impl {
  std::string path;
  std::optional<detail::Model> model;
};

ModelFile::ModelFile(const std::string& path, const std::string& config_path)
    : ModelFile(path, false, nullptr, 0, config_path, {}) {}

ModelFile ModelFile::from_memory(const unsigned char* data, std::size_t size,
                                 const std::string& name, std::string_view config_json) {
  return ModelFile(name, true, data, size, {}, config_json);
}

// One of `config_path` (a file) and `config_json` (its text) at most is given.
ModelFile::ModelFile(const std::string& name, bool in_memory, const unsigned char* data,
                     std::size_t size, const std::string& config_path, std::string_view config_json)
    : impl_(std::make_unique<Impl>()) {
  const Source source{name, in_memory, data, size};
  const std::string& path = name;
  impl_->path = path;
  const auto refuse_config = [&](Format format) {
    if (!config_path.empty()) {
      throw FileError(config_path, str("not used: ", path, " is a ", to_string(format),
                                       ", which holds its own config; a config JSON is only for "
                                       "weights-only files"));
    }
    if (!config_json.empty()) {
      throw FileError(path, str("a config JSON was given with it, but it is a ", to_string(format),
                                ", which holds its own config; a config JSON is only for "
                                "weights-only files"));
    }
  };
  std::optional<hdf5::File> file;
  detail::ModelConfig config;
  Format format = Format::keras_archive;
  if (container_of(source) == Container::zip) {
    refuse_config(format);
    const detail::ArchiveContents contents = read_archive(source);
    try {
      file.emplace(hdf5::File::open_image(contents.weights.data(), contents.weights.size()));
    } catch (const hdf5::Error& e) {
      throw FileError(path, str("its model.weights.h5 is not a readable HDF5 file: ", e.what()));
    }
    config = parse_config(contents.config, path, "its config.json: ");
  } else {
    file.emplace(open_hdf5(source));
    try {
      format = detail::hdf5_format(*file);
      if (format == Format::legacy_model) {
        refuse_config(format);
        config = parse_config(detail::legacy_model_config(*file), path, "its model_config: ");
      }
    } catch (const Problem& e) {
      throw FileError(path, e.what());
    }
    if (weights_only(format)) {
      if (!config_path.empty()) {
        config = parse_config(detail::read_text_file(config_path, "a config"), config_path, "");
      } else if (!config_json.empty()) {
        config = parse_config(std::string(config_json), path, "its config JSON: ");
      } else {
        throw FileError(path, str("a ", to_string(format), " holds weights only: its config must "
                                  "come from a JSON file (the model's to_json() or the layer's "
                                  "get_config())"));
      }
    }
  }
  try {
    impl_->model.emplace(format, std::move(*file), std::move(config));
  } catch (const Problem& e) {
    throw FileError(path, e.what());
  }
}

ModelFile::~ModelFile() = default;
ModelFile::ModelFile(ModelFile&&) noexcept = default;
ModelFile& ModelFile::operator=(ModelFile&&) noexcept = default;

const std::string& ModelFile::path() const noexcept { return impl_->path; }
Format ModelFile::format() const noexcept { return impl_->model->format(); }
const std::vector<LayerInfo>& ModelFile::layers() const noexcept { return impl_->model->layers(); }

const LayerInfo& ModelFile::find(std::string_view name) const {
  try {
    return impl_->model->find(name);
  } catch (const Problem& e) {
    throw FileError(impl_->path, e.what());
  }
}

Layer ModelFile::load(std::string_view name, const LoadOptions& options) const {
  try {
    return impl_->model->load(name, options);
  } catch (const Problem& e) {
    throw FileError(impl_->path, e.what());
  }
}

Layer load_layer(const std::string& path, std::string_view name, const std::string& config_path,
                 const LoadOptions& options) {
  return ModelFile(path, config_path).load(name, options);
}

std::vector<LayerInfo> list_layers(const std::string& path, const std::string& config_path) {
  return ModelFile(path, config_path).layers();
}

std::string describe(const LayerSpec& spec) {
  const LayerConfig& c = spec.layer;
  return str("filters=", c.filters, " kernel_size=", c.kernel_size, " strides=", c.strides,
             " padding=", to_string(c.padding), " data_format=", to_string(c.data_format),
             " dilation_rate=", c.dilation_rate, " depth_multiplier=", c.depth_multiplier,
             " activation=", to_string(c.activation), " use_bias=", c.use_bias ? "true" : "false",
             " dtype=", spec.dtype_name.empty() ? std::string("-") : printable(spec.dtype_name));
}

}  // namespace sepconv::keras
