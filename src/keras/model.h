// Internal to sepconv_keras: a model's layers from its config and its HDF5 weights, and loading
// one. `keras::ModelFile` is this plus reading the files; the fuzz targets use it on bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keras/archive.h"
#include "keras/config_json.h"
#include "keras/hdf5.h"
#include "keras/weights.h"
#include "sepconv/keras.h"

namespace sepconv::keras::detail {

/// The format of an open HDF5 file: legacy_model (a model_config attribute), legacy_weights (a
/// layer_names attribute) or keras_weights (a "layers" or "vars" group). Throws Problem otherwise.
[[nodiscard]] Format hdf5_format(const hdf5::File& file);

/// A legacy model file's config JSON (its model_config attribute).
[[nodiscard]] std::string legacy_model_config(const hdf5::File& file);

/// The members of a .keras archive sepconv reads.
struct ArchiveContents {
  std::string config;                   ///< config.json
  std::vector<unsigned char> weights;   ///< model.weights.h5
};
/// Reads them (bounded sizes, CRC-checked). Throws Problem for a missing or damaged member.
[[nodiscard]] ArchiveContents read_archive(const zip::Archive& archive);

class Model {
 public:
  /// The layers of `config` located in `file`; per-layer problems go into each LayerInfo. Throws
  /// Problem when nothing of a layer-only config's name is in the file.
  Model(Format format, hdf5::File file, ModelConfig config);

  [[nodiscard]] Format format() const noexcept { return format_; }
  [[nodiscard]] const std::vector<LayerInfo>& layers() const noexcept { return layers_; }
  /// See ModelFile::find. Throws Problem.
  [[nodiscard]] const LayerInfo& find(std::string_view name) const;
  /// See ModelFile::load. Throws Problem.
  [[nodiscard]] Layer load(std::string_view name, const LoadOptions& options) const;

 private:
  // A named entry of the model: every layer and nested model (for names and their types), and
  // for SeparableConv1D layers the index of their LayerInfo.
  struct Entry {
    std::string path;
    std::string class_name;
    bool is_model = false;
    int layer = -1;
  };
  void add_layer(const ConfigNode& node, std::optional<WeightsLocation> at, std::string problem);
  [[nodiscard]] std::string weights_root() const;

  Format format_;
  hdf5::File file_;
  std::vector<Entry> entries_;
  std::vector<LayerInfo> layers_;
  std::vector<std::vector<std::string>> datasets_;  // per layer: depthwise, pointwise[, bias]
};

}  // namespace sepconv::keras::detail
