// sepconv — Keras model files: a SeparableConv1D layer's config and weights, read from what Keras
// saves, ready for `SeparableConv1D::set_weights` and `reference::forward`.
//
// A separate library, `sepconv_keras` (CMake: `sepconv::keras`), so that the core library stays
// free of dependencies: it reads HDF5 with the HDF5 C library and `.keras` archives with libzip.
//
// Formats (recognised by their contents, not their names):
//   Format::keras_archive   Keras 3 `model.save("m.keras")`: a zip of config.json + model.weights.h5
//   Format::keras_weights   Keras 3 `model.save_weights("m.weights.h5")`: weights only
//   Format::legacy_model    tf.keras 2.x (or Keras 3) `model.save("m.h5")`: HDF5 with the model's
//                           config in the `model_config` attribute
//   Format::legacy_weights  tf.keras 2.x `model.save_weights("w.h5")`: weights only
// A weights-only file needs its config from a JSON file: the model's `model.to_json()`, or one
// layer's `layer.get_config()` (then the layer is found in the weights by its name).
//
// Layers are named by their path: the names of the nested models that hold them, outermost first,
// then the layer's name ("block/sep" for layer "sep" of a Sequential "block" inside the model).
// The top-level model's own name is not part of a path.
//
// Every function throws `keras::FileError` (naming the file and the problem) for a file that cannot
// be read, is malformed, or does not fit its config, and `InvalidArgument` only where documented.
// Calls into the HDF5 library are serialised by a lock (HDF5's serial build is not thread-safe);
// HDF5's own error printing is switched off while sepconv calls it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sepconv/config.h"
#include "sepconv/error.h"
#include "sepconv/keras_export.h"
#include "sepconv/types.h"

namespace sepconv::keras {

/// A file that cannot be read, or whose contents are malformed, unsupported or do not fit together
/// (a config and the weights of another model, weights whose shapes disagree with the config).
/// `what()` is "<path>: <problem>".
class SEPCONV_KERAS_EXPORT FileError : public Error {
 public:
  FileError(std::string path, const std::string& problem);
  /// The file the problem is in (the model file, or the config JSON).
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// ---- layer configs (JSON) ------------------------------------------------------------------------

/// What a Keras SeparableConv1D config says: the arguments that shape the forward pass, its dtype
/// policy and its name.
struct LayerSpec {
  LayerConfig layer;
  /// The compute dtype its `dtype` (policy) names: float32 / float16 / bfloat16, or for the mixed
  /// policies mixed_float16 / mixed_bfloat16 the 16-bit type. Absent when the config has none.
  std::optional<DType> dtype;
  /// The `dtype` policy name as written ("mixed_float16", ...), empty when absent.
  std::string dtype_name;
  /// The layer's `name`, empty when absent.
  std::string name;
};

/// Parses the JSON text of a layer config: `layer.get_config()`, or its serialized form
/// {"class_name": "SeparableConv1D", "config": {...}}. Accepted, Keras 3 and tf.keras 2.x alike:
///   filters, depth_multiplier      integers
///   kernel_size, strides,          an integer or a 1-element list [n] (get_config writes lists); a
///   dilation_rate                  float with an integral value (3.0) counts, 3.5 does not
///   padding                        "valid" / "same" / "causal", any case
///   data_format                    "channels_last" / "channels_first", any case; null or missing
///                                  means channels_last
///   activation                     a Keras activation name; null, missing or "linear" is linear
///   use_bias                       true / false
///   dtype                          "float32", "float16", "bfloat16", "mixed_float16",
///                                  "mixed_bfloat16", or a policy object {"config": {"name": ...}}
///   name                           a string
/// `filters` and `kernel_size` are required; other missing keys take Keras's defaults; unknown keys
/// are ignored. Throws `InvalidArgument` whose `argument()` is the JSON key ("config" for text that
/// is not a JSON object); the result is checked with `sepconv::validate`.
[[nodiscard]] SEPCONV_KERAS_EXPORT LayerSpec parse_layer_config(std::string_view json_text);

/// Reads and parses a layer config file. Throws `FileError` when it cannot be read or is larger
/// than 64 MiB, and `InvalidArgument` for its contents.
[[nodiscard]] SEPCONV_KERAS_EXPORT LayerSpec read_layer_config(const std::string& path);

/// The sepconv dtype of a Keras dtype or policy name ("float32", "mixed_bfloat16", ...), or
/// nothing for a name sepconv cannot compute in ("float64", "int8_from_float32", ...).
[[nodiscard]] SEPCONV_KERAS_EXPORT std::optional<DType> dtype_from_name(std::string_view name);

// ---- model files ---------------------------------------------------------------------------------

enum class Format { keras_archive, keras_weights, legacy_model, legacy_weights };

/// "Keras 3 .keras archive", "Keras 3 weights file (.weights.h5)", "legacy HDF5 model (.h5)",
/// "legacy HDF5 weights file (.h5)".
[[nodiscard]] SEPCONV_KERAS_EXPORT std::string_view to_string(Format format) noexcept;

/// True for the weights-only formats, which need a config JSON.
[[nodiscard]] SEPCONV_KERAS_EXPORT bool weights_only(Format format) noexcept;

/// The format of a file, from its first bytes and (for HDF5) its top-level attributes and groups.
/// Throws `FileError` for a file that is none of the four.
[[nodiscard]] SEPCONV_KERAS_EXPORT Format detect_format(const std::string& path);

/// One SeparableConv1D layer of a model file.
struct LayerInfo {
  std::string path;  ///< "block/sep": the nested models' names, then the layer's
  LayerSpec spec;    ///< its config (meaningful when `problem` is empty or about the weights)
  std::int64_t in_channels = 0;  ///< C, from the depthwise kernel's shape (0 when unknown)
  /// Empty when the layer can be loaded; else why not (a config sepconv does not support, missing
  /// weights, weights whose shapes disagree with the config), as `load` would report it.
  std::string problem;
};

/// An owning host array in C order (rank 1 to 3).
struct Array {
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::vector<unsigned char> bytes;  ///< product(shape) * dtype_size(dtype) bytes
  /// A view of the array; an empty view when the array is empty (no shape).
  [[nodiscard]] SEPCONV_KERAS_EXPORT ConstTensorView view() const;
};

/// A layer's config and weights.
struct Layer {
  LayerInfo info;
  /// The precision to run it in: the dtype its policy computes in (or the one asked for with
  /// `LoadOptions::dtype`); float32 when the config names none.
  Precision precision;
  /// Keras layouts in `precision.dtype`, converted from what the file stores (round to nearest
  /// even, as Keras's autocast does for the mixed policies): depthwise (k, C, M), pointwise
  /// (1, C*M, F), bias (F) or empty when `use_bias` is false.
  Array depthwise, pointwise, bias;
  /// Views of the three arrays, as `SeparableConv1D::set_weights` and `reference::forward` take.
  [[nodiscard]] SEPCONV_KERAS_EXPORT Weights weights() const;
};

struct LoadOptions {
  /// Convert the weights to this dtype instead of the policy's compute dtype.
  std::optional<DType> dtype;
};

/// A Keras model file opened for reading: its format, every SeparableConv1D layer, and loading one.
/// Opening reads the config and the weights' shapes (not their values); `load` reads one layer's
/// values. Move-only.
class SEPCONV_KERAS_EXPORT ModelFile {
 public:
  /// Opens `path`. `config_path` is the config JSON a weights-only file needs (a model's
  /// `to_json()` or a layer's `get_config()`); it must be empty for the formats that hold their
  /// config. Throws `FileError` naming the file: unreadable, neither zip nor HDF5, a truncated or
  /// corrupt archive or HDF5 file, a weights-only file without a config (or a full file with
  /// one), a config that is not a Keras model or SeparableConv1D config, a layer-only config whose
  /// name has no weights in the file.
  explicit ModelFile(const std::string& path, const std::string& config_path = {});
  /// Opens a model file held in memory (embedded in a binary, received over a network): the same
  /// formats, checks and errors as the constructor, with `name` in place of the path (in messages,
  /// `FileError::path()` and `path()`). `config_json` is the text of the config JSON a
  /// weights-only file needs (what the constructor reads from `config_path`); it must be empty for
  /// the formats that hold their config; its problems are reported against `name` too. The bytes
  /// are copied as needed: they need not outlive the call.
  [[nodiscard]] static ModelFile from_memory(const unsigned char* data, std::size_t size,
                                             const std::string& name,
                                             std::string_view config_json = {});
  ~ModelFile();
  ModelFile(ModelFile&&) noexcept;
  ModelFile& operator=(ModelFile&&) noexcept;
  ModelFile(const ModelFile&) = delete;
  ModelFile& operator=(const ModelFile&) = delete;

  [[nodiscard]] const std::string& path() const noexcept;
  [[nodiscard]] Format format() const noexcept;
  /// Every SeparableConv1D layer, in the model's order (nested models' layers where they stand).
  [[nodiscard]] const std::vector<LayerInfo>& layers() const noexcept;
  /// The layer `name` is: a path ("block/sep"), or a layer's name when exactly one layer has it;
  /// empty: the only SeparableConv1D layer. Throws `FileError` for an unknown name (listing the
  /// layers there are), an ambiguous one (listing the paths it could mean), a layer of another
  /// type, or (empty name) a file with no or several SeparableConv1D layers.
  [[nodiscard]] const LayerInfo& find(std::string_view name = {}) const;
  /// Reads the layer `name` (as `find` resolves it) and its weights. Throws `FileError` for the
  /// errors of `find`, a layer with a `problem`, and weights that cannot be read.
  [[nodiscard]] Layer load(std::string_view name = {}, const LoadOptions& options = {}) const;

 private:
  struct Impl;
  // Both public constructors: a file at `name`, or `in_memory` the bytes at `data`.
  ModelFile(const std::string& name, bool in_memory, const unsigned char* data, std::size_t size,
            const std::string& config_path, std::string_view config_json);
  std::unique_ptr<Impl> impl_;
};

/// `ModelFile(path, config_path).load(name, options)`.
[[nodiscard]] SEPCONV_KERAS_EXPORT Layer load_layer(const std::string& path,
                                                    std::string_view name = {},
                                                    const std::string& config_path = {},
                                                    const LoadOptions& options = {});

/// `ModelFile(path, config_path).layers()`.
[[nodiscard]] SEPCONV_KERAS_EXPORT std::vector<LayerInfo> list_layers(
    const std::string& path, const std::string& config_path = {});

/// One line describing a config: "filters=6 kernel_size=3 strides=1 padding=same
/// data_format=channels_last dilation_rate=1 depth_multiplier=2 activation=relu use_bias=true
/// dtype=float32" (Keras's argument names; dtype as written, "-" when absent).
[[nodiscard]] SEPCONV_KERAS_EXPORT std::string describe(const LayerSpec& spec);

}  // namespace sepconv::keras
