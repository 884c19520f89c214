#include "keras/model.h"

#include <algorithm>

#include "keras/files.h"
#include "keras/text.h"
#include "keras/weights.h"

namespace sepconv::keras::detail {
namespace {

// The largest weights file read out of a .keras archive into memory.
constexpr std::uint64_t kMaxArchiveWeightsBytes = std::uint64_t{16} << 30;

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

const char* const kVariable[] = {"depthwise kernel", "pointwise kernel", "bias"};

// The variables' shapes and types against the config; returns C (from the depthwise kernel).
// Throws Problem naming the variable, its dataset, its shape and what the config expects.
std::int64_t check_shapes(const LayerSpec& spec, const std::vector<std::string>& datasets,
                          const std::vector<hdf5::DatasetInfo>& infos) {
  const LayerConfig& c = spec.layer;
  if (datasets.size() < 2 || datasets.size() > 3) {
    throw Problem(str("the file holds ", datasets.size(), " variables for it; a SeparableConv1D has "
                      "2 or 3 (depthwise and pointwise kernels, and a bias with use_bias)"));
  }
  for (std::size_t i = 0; i < infos.size(); ++i) {
    if (!infos[i].readable) {
      throw Problem(str("its ", kVariable[i], " /", printable(datasets[i]), " holds ",
                        infos[i].type_name, "; sepconv reads float32, float16 and Keras's bfloat16"));
    }
  }
  const auto& dw = infos[0].shape;
  const std::int64_t channels = dw.size() == 3 ? dw[1] : 0;
  // C * depth_multiplier; the config's depth_multiplier may be any positive int64.
  std::int64_t mid = 0;
  const bool mid_overflows = __builtin_mul_overflow(channels, c.depth_multiplier, &mid);
  const auto expect = [&](std::size_t i, const std::vector<std::int64_t>& want, const std::string& from) {
    if (infos[i].shape != want) {
      throw Problem(str("its ", kVariable[i], " /", printable(datasets[i]), " has shape ",
                        shape_text(infos[i].shape), "; its config (", from, ") expects ",
                        shape_text(want), ": the weights do not fit the config"));
    }
  };
  if (dw.size() != 3 || channels <= 0 || mid_overflows) {
    throw Problem(str("its depthwise kernel /", printable(datasets[0]), " has shape ",
                      shape_text(dw), "; expected (kernel_size, in_channels, depth_multiplier) = (",
                      c.kernel_size, ", C, ", c.depth_multiplier, ") with C > 0",
                      mid_overflows ? " and C * depth_multiplier within 64 bits" : ""));
  }
  expect(0, {c.kernel_size, channels, c.depth_multiplier},
         str("kernel_size ", c.kernel_size, ", depth_multiplier ", c.depth_multiplier));
  expect(1, {1, mid, c.filters},
         str("filters ", c.filters, ", ", channels, " input channels x depth_multiplier ",
             c.depth_multiplier));
  if (c.use_bias && datasets.size() < 3) {
    throw Problem("its config has use_bias true, but the file holds no bias for it");
  }
  if (!c.use_bias && datasets.size() > 2) {
    throw Problem(str("its config has use_bias false, but the file holds ", datasets.size(),
                      " variables for it (a bias, or not a SeparableConv1D's)"));
  }
  if (c.use_bias) expect(2, {c.filters}, str("filters ", c.filters));
  return channels;
}

}  // namespace

Format hdf5_format(const hdf5::File& file) {
  if (file.has_attribute("", "model_config")) return Format::legacy_model;
  if (file.has_attribute("", "layer_names")) return Format::legacy_weights;
  if (file.kind("layers") == hdf5::Kind::group || file.kind("vars") == hdf5::Kind::group) {
    return Format::keras_weights;
  }
  throw Problem("an HDF5 file, but not one Keras wrote: it has no model_config or layer_names "
                "attribute (legacy .h5) and no layers group (Keras 3 .weights.h5)");
}

std::string legacy_model_config(const hdf5::File& file) {
  const auto config = file.strings("", "model_config");
  if (config.size() != 1) {
    throw Problem(str("its model_config attribute holds ", config.size(), " strings; expected one JSON text"));
  }
  return config.front();
}

ArchiveContents read_archive(const zip::Archive& archive) {
  for (const char* name : {"config.json", "model.weights.h5"}) {
    if (!archive.contains(name)) {
      const bool sharded = archive.contains("model.weights.json");
      throw Problem(str("a zip archive without ", name, ", so not a Keras 3 .keras model",
                        sharded ? " sepconv reads (its weights are sharded: model.weights.json)" : ""));
    }
  }
  ArchiveContents out;
  const auto config = archive.read("config.json", kMaxConfigBytes);
  out.config.assign(config.begin(), config.end());
  out.weights = archive.read("model.weights.h5", kMaxArchiveWeightsBytes);
  return out;
}

Model::Model(Format format, hdf5::File file, ModelConfig config)
    : format_(format), file_(std::move(file)) {
  const bool v3 = format_ == Format::keras_archive || format_ == Format::keras_weights;
  if (config.layer_only) {
    // One layer's get_config(): find its weights by its name.
    const ConfigNode& node = config.nodes.front();
    if (node.name.empty()) {
      throw Problem("the layer config has no \"name\", so its weights cannot be found in the file "
                    "(add the layer's name, or use the model's to_json())");
    }
    const auto found = v3 ? v3_find(file_, node.name) : legacy_find(file_, weights_root(), node.name);
    if (found.empty()) {
      throw Problem(str("it holds no weights of a layer named ", in_quotes(node.name),
                        " (the name in the layer config)"));
    }
    for (const auto& at : found) {
      ConfigNode copy = node;
      copy.path = at.path;
      add_layer(copy, at, {});
    }
    return;
  }
  for (const ConfigNode& node : config.nodes) {
    if (!is_separable_conv1d(node.class_name)) {
      entries_.push_back({node.path, node.class_name, node.is_model, -1});
      continue;
    }
    if (!node.problem.empty()) {
      add_layer(node, std::nullopt, node.problem);
      continue;
    }
    try {
      add_layer(node, v3 ? v3_locate(file_, node) : legacy_locate(file_, weights_root(), node), {});
    } catch (const Problem& e) {
      add_layer(node, std::nullopt, e.what());
    }
  }
}

std::string Model::weights_root() const {
  return format_ == Format::legacy_model ? "model_weights" : "";
}

void Model::add_layer(const ConfigNode& node, std::optional<WeightsLocation> at, std::string problem) {
  LayerInfo info;
  info.path = node.path;
  if (node.spec) info.spec = *node.spec;
  std::vector<std::string> datasets;
  if (problem.empty() && at) {
    datasets = at->datasets;
    try {
      std::vector<hdf5::DatasetInfo> infos;
      for (const auto& d : datasets) infos.push_back(file_.dataset(d));
      if (!infos.empty() && infos[0].shape.size() == 3) info.in_channels = infos[0].shape[1];
      info.in_channels = check_shapes(info.spec, datasets, infos);
      if (node.built_channels && *node.built_channels != info.in_channels) {
        throw Problem(str("its weights have ", info.in_channels, " input channels, but its config "
                          "says it was built for ", *node.built_channels));
      }
    } catch (const Problem& e) {
      problem = e.what();
    }
  }
  info.problem = std::move(problem);
  entries_.push_back({info.path, node.class_name, false, static_cast<int>(layers_.size())});
  layers_.push_back(std::move(info));
  datasets_.push_back(std::move(datasets));
}

const LayerInfo& Model::find(std::string_view name) const {
  const auto list = [](const std::vector<const Entry*>& entries) {
    std::string s;
    for (std::size_t i = 0; i < entries.size() && i < 20; ++i) s += (i ? ", " : "") + in_quotes(entries[i]->path);
    if (entries.size() > 20) s += str(" and ", entries.size() - 20, " more");
    return s;
  };
  std::vector<const Entry*> layers;
  for (const auto& e : entries_) {
    if (e.layer >= 0) layers.push_back(&e);
  }
  if (name.empty()) {
    if (layers.size() == 1) return layers_[static_cast<std::size_t>(layers.front()->layer)];
    if (layers.empty()) throw Problem("it has no SeparableConv1D layer");
    throw Problem(str("it has ", layers.size(), " SeparableConv1D layers; name one (", list(layers), ")"));
  }
  std::vector<const Entry*> matches;
  for (const auto& e : entries_) {
    if (e.path == name) matches.push_back(&e);
  }
  if (matches.empty()) {
    for (const auto& e : entries_) {
      const auto slash = e.path.rfind('/');
      if (slash != std::string::npos && std::string_view(e.path).substr(slash + 1) == name) {
        matches.push_back(&e);
      }
    }
  }
  if (matches.empty()) {
    throw Problem(str("it has no layer ", in_quotes(name), "; its SeparableConv1D layers are ",
                      layers.empty() ? std::string("none") : list(layers)));
  }
  if (matches.size() > 1) {
    throw Problem(str("the layer name ", in_quotes(name), " is ambiguous: it could be ", list(matches),
                      "; give the path"));
  }
  const Entry& e = *matches.front();
  if (e.layer < 0) {
    throw Problem(str("layer ", in_quotes(e.path), " is a ", printable(e.class_name),
                      e.is_model ? " model" : "", ", not a SeparableConv1D"));
  }
  return layers_[static_cast<std::size_t>(e.layer)];
}

Layer Model::load(std::string_view name, const LoadOptions& options) const {
  const LayerInfo& info = find(name);
  if (!info.problem.empty()) {
    throw Problem(str("layer ", in_quotes(info.path), ": ", info.problem));
  }
  const auto index = static_cast<std::size_t>(&info - layers_.data());
  const auto& datasets = datasets_[index];
  Layer layer;
  layer.info = info;
  layer.precision.dtype = options.dtype.value_or(info.spec.dtype.value_or(DType::f32));
  Array* targets[] = {&layer.depthwise, &layer.pointwise, &layer.bias};
  for (Array* a : targets) a->dtype = layer.precision.dtype;
  for (std::size_t i = 0; i < datasets.size(); ++i) {
    const hdf5::DatasetInfo stored = file_.dataset(datasets[i]);
    Array file_array;
    file_array.dtype = stored.dtype;
    file_array.shape = stored.shape;
    file_array.bytes = file_.read(datasets[i], stored);
    Array& out = *targets[i];
    out.dtype = layer.precision.dtype;
    out.shape = stored.shape;
    out.bytes.assign(static_cast<std::size_t>(stored.numel()) * dtype_size(out.dtype), 0);
    const ConstTensorView from = file_array.view();
    convert(from, TensorView{out.bytes.data(), out.dtype, from.rank, from.shape, from.strides});
  }
  try {
    validate_weights(info.spec.layer, layer.precision.dtype, info.in_channels, layer.weights());
  } catch (const InvalidArgument& e) {  // check_shapes let through what sepconv rejects
    throw Problem(str("layer ", in_quotes(info.path), ": ", e.what()));
  }
  return layer;
}

}  // namespace sepconv::keras::detail
