// Internal to sepconv_keras: where a SeparableConv1D layer's variables are in the HDF5 file, for
// the two layouts Keras writes.
//
// Keras 3 (.keras archives' model.weights.h5, .weights.h5): each saved object has a group named by
// its class in snake case, numbered per container ("layers/separable_conv1d_1"); nested models'
// layers are under their model's "layers" group; the variables are datasets "0", "1", "2" of its
// "vars" group (depthwise, pointwise, bias: the order the layer creates them), and Keras 3.15
// records the layer's name in the "vars" group's attribute "name".
//
// Legacy HDF5 (tf.keras 2.x and Keras 3 `.h5`): one group per top-level layer, listed by the
// attribute "layer_names" of the weights root ("model_weights" in a full-model file, the root in a
// weights file); each group's attribute "weight_names" lists its variables' names, which are also
// their datasets' paths under the group: "sep/depthwise_kernel:0" (tf.keras), a nested model's
// layers' too ("sep_s/bias:0" in group "stage"; Keras 3: "stage/sep_s/bias").
#pragma once

#include <string>
#include <vector>

#include "keras/config_json.h"
#include "keras/hdf5.h"

namespace sepconv::keras::detail {

/// Where a layer's variables are.
struct WeightsLocation {
  std::string path;                   ///< the layer's path ("stage/sep_s")
  std::vector<std::string> datasets;  ///< depthwise, pointwise, and the bias when there is one
};

/// Keras 3: the variables of the layer `node` of a model config (at its `v3_group`, whose recorded
/// name must be the layer's). Throws Problem when they are not there.
[[nodiscard]] WeightsLocation v3_locate(const hdf5::File& file, const ConfigNode& node);

/// Keras 3: every layer whose recorded name is `name`, anywhere in the file (nested models too).
[[nodiscard]] std::vector<WeightsLocation> v3_find(const hdf5::File& file, const std::string& name);

/// Legacy: the variables of the layer `node` under the weights root `root`. Throws Problem.
[[nodiscard]] WeightsLocation legacy_locate(const hdf5::File& file, const std::string& root,
                                            const ConfigNode& node);

/// Legacy: every layer named `name` under the weights root `root`.
[[nodiscard]] std::vector<WeightsLocation> legacy_find(const hdf5::File& file,
                                                       const std::string& root,
                                                       const std::string& name);

/// An attribute as Keras's legacy code writes it: `name`, or when it was too large for one HDF5
/// attribute, the chunks `name0`, `name1`, ...; none when neither exists.
[[nodiscard]] std::vector<std::string> chunked_strings(const hdf5::File& file,
                                                       const std::string& path,
                                                       const std::string& name);

}  // namespace sepconv::keras::detail
