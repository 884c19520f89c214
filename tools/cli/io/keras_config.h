// sepconv_io — a Keras SeparableConv1D configuration (what `layer.get_config()` returns, saved as
// JSON) read into a `sepconv::LayerConfig`.
//
// Accepted forms, Keras 3 and tf.keras 2.x alike:
//   filters, depth_multiplier      integers
//   kernel_size, strides,          an integer or a 1-element list [n] (get_config writes lists);
//   dilation_rate                  a float with an integral value (3.0) is accepted, since JSON
//                                  has one number type; 3.5, 1e300, lists of other lengths are not
//   padding                        "valid" / "same" / "causal", any case
//   data_format                    "channels_last" / "channels_first", any case; null or missing
//                                  means channels_last (Keras's default image_data_format)
//   activation                     a Keras activation name; null, missing or "linear" is linear
//   use_bias                       true / false
//   dtype                          "float32", "float16", "bfloat16", "mixed_float16",
//                                  "mixed_bfloat16", or a dtype-policy object
//                                  {"class_name": "DTypePolicy", "config": {"name": ...}} (Keras 3)
//                                  — the compute dtype (float16 / bfloat16 for the mixed policies)
// `filters` and `kernel_size` are required; other missing keys take Keras's defaults; unknown keys
// (name, trainable, initializers, regularizers, constraints, groups, ...) are ignored. The
// serialized form {"class_name": "SeparableConv1D", "config": {...}} is accepted too.
//
// Every problem with the contents throws `sepconv::InvalidArgument` whose `argument()` is the JSON
// key ("config" for JSON that does not parse or is not an object); the result is checked with
// `sepconv::validate`, so a config Keras rejects at construction is rejected here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sepconv/config.h"

namespace sepconv::io {

struct KerasLayerConfig {
  LayerConfig layer;
  /// The compute dtype the config's `dtype` names, if it has one (only a default for the CLI).
  std::optional<DType> dtype;
  /// The `dtype` name as written ("mixed_float16", ...), empty when absent.
  std::string dtype_name;
};

/// Parses the JSON text of a layer config. Throws `InvalidArgument` naming the key.
[[nodiscard]] KerasLayerConfig parse_keras_config(std::string_view json_text);

/// Reads and parses a config file. Throws `FileError` (npy.h) when the file cannot be read or is
/// larger than 16 MiB, and `InvalidArgument` for its contents.
[[nodiscard]] KerasLayerConfig read_keras_config(const std::string& path);

/// The sepconv dtype of a Keras dtype or dtype-policy name ("float32", "mixed_bfloat16", ...), or
/// nothing for a name sepconv cannot compute in.
[[nodiscard]] std::optional<DType> dtype_from_keras_name(std::string_view name);

}  // namespace sepconv::io
