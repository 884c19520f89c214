// Internal to sepconv_keras: Keras configs as JSON. A layer's config (layer_config.cpp) and a
// model's (model_config.cpp: every layer and nested model, with where Keras 3 saves its weights).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sepconv/keras.h"

namespace sepconv::keras::detail {

/// Parses JSON text; throws InvalidArgument ("config") naming the parse error and `expected`.
[[nodiscard]] nlohmann::json parse_json(std::string_view json_text, std::string_view expected);

/// A JSON value as it appears in messages: scalars and short flat lists in full (shortened),
/// anything else by its type and size (never dumping a nested value).
[[nodiscard]] std::string shown(const nlohmann::json& v);

/// "SeparableConv1D" (and tf.keras's alias "SeparableConvolution1D").
[[nodiscard]] bool is_separable_conv1d(std::string_view class_name);

/// A SeparableConv1D config object (the dict get_config() returns). Throws InvalidArgument naming
/// the key.
[[nodiscard]] LayerSpec parse_layer_object(const nlohmann::json& config);

/// Keras's naming of a saved object's group (keras.src.utils.naming.to_snake_case):
/// "SeparableConv1D" -> "separable_conv1d", "LayerNormalization" -> "layer_normalization".
[[nodiscard]] std::string to_snake_case(std::string_view class_name);

/// One entry of a model config: a layer, or a nested model.
struct ConfigNode {
  std::string path;        ///< "block/sep"
  std::string name;        ///< "sep"
  std::string class_name;  ///< "SeparableConv1D", "Sequential", "Dense", ...
  bool is_model = false;   ///< a nested model (its config has "layers")
  /// Where Keras 3 saves its variables (saving_lib's naming: class names in snake case, numbered
  /// per container in the container's order): "layers/sequential/layers/separable_conv1d".
  std::string v3_group;
  /// SeparableConv1D only: its config, when sepconv accepts it; else `problem` says why not.
  std::optional<LayerSpec> spec;
  std::string problem;
  /// The channel count of the input it was built for (Keras 3's build_config), when recorded.
  std::optional<std::int64_t> built_channels;
};

/// A config JSON: a model's (`to_json()`, a .keras archive's config.json, a legacy file's
/// model_config), or one SeparableConv1D layer's `get_config()`.
struct ModelConfig {
  bool layer_only = false;  ///< one layer's config: `nodes` is that layer alone
  std::vector<ConfigNode> nodes;  ///< every layer and nested model, depth first, in the model's order
};

/// Parses a config JSON. Throws InvalidArgument for text that is neither a model config nor a
/// SeparableConv1D config (a layer-only config must parse; in a model, a SeparableConv1D layer
/// sepconv does not accept gets a `problem` instead).
[[nodiscard]] ModelConfig parse_model_config(std::string_view json_text);

}  // namespace sepconv::keras::detail
