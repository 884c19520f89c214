#include "keras_commands.h"

#include <cstdio>
#include <string_view>

#include "cli_support.h"
#include "io/npy.h"
#include "run_layer.h"
#include "sepconv/keras.h"
#include "text.h"

namespace sepconv::cli {
namespace {

using io::HostArray;

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// The file an InvalidArgument of run_layer is about.
const std::string& file_of(const std::string& argument, const Options& o) {
  if (argument == "x" || argument == "length" || argument == "in_channels") return *o.input;
  if (argument == "y") return *o.output;
  return *o.keras;
}

}  // namespace

keras::ModelFile open_model(const std::string& model, const std::optional<std::string>& config) {
  if (!config && keras::weights_only(keras::detect_format(model))) {
    throw keras::FileError(model, str("a ", keras::to_string(keras::detect_format(model)),
                                      " holds weights only: give the layer's config with --config "
                                      "CONFIG.json (the model's to_json() or the layer's "
                                      "get_config(), as JSON)"));
  }
  return keras::ModelFile(model, config.value_or(""));
}

void check_keras_run_flags(const Options& o) {
  for (const auto& [flag, given] : {std::pair{"--depthwise", o.depthwise.has_value()},
                                    std::pair{"--pointwise", o.pointwise.has_value()},
                                    std::pair{"--bias", o.bias.has_value()}}) {
    if (given) {
      throw UsageError(str(flag, " with --keras: the weights come from the model file"));
    }
  }
  std::string missing;
  if (!o.input) missing += "--input";
  if (!o.output) missing += missing.empty() ? "--output" : ", --output";
  if (!missing.empty()) {
    throw UsageError("missing " + missing + " (running a layer of a Keras model file needs --keras, "
                     "--input and --output)");
  }
}

void parse_layers_command(int argc, const char* const* argv, Options& o) {
  o.command = Options::Command::layers;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      o.command = Options::Command::run_help;
      return;
    }
  }
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--") {
      if (o.keras) throw UsageError("unexpected argument " + quoted(arg) + " after the model file");
      if (arg.empty()) throw UsageError("empty model file name");
      o.keras = std::string(arg);
      continue;
    }
    const FlagValue flag = split_flag(std::string(arg));
    if (flag.name != "--config") throw UsageError("unknown flag " + quoted(flag.name) + " for 'layers'");
    std::string value = take_value(flag, argc, argv, i);
    if (o.config) throw UsageError("--config given twice");
    o.config = std::move(value);
  }
  if (!o.keras) throw UsageError("missing MODEL: 'sepconv1d layers MODEL [--config CONFIG.json]'");
}

int run_keras(const Options& o) {
  check_output_path(o);
  const keras::ModelFile model = open_model(*o.keras, o.config);
  const keras::Layer layer = model.load(o.layer.value_or(""), {o.dtype});
  const LayerConfig& config = layer.info.spec.layer;
  const DType dtype = layer.precision.dtype;
  // Keras casts a layer's floating-point input to its compute dtype: so does this.
  const HostArray x = io::converted(io::read_npy(*o.input), dtype);

  HostArray y;
  RunInfo run;
  try {
    if (x.shape.size() != 3) {
      fail("x", "shape " + io::shape_tuple(x.shape),
           config.data_format == DataFormat::channels_last ? "rank 3: (batch, steps, channels)"
                                                           : "rank 3: (batch, channels, steps)");
    }
    const bool last = config.data_format == DataFormat::channels_last;
    if (x.shape[last ? 2 : 1] != layer.info.in_channels) {
      fail("in_channels", str(x.shape[last ? 2 : 1], " (axis ", last ? 2 : 1, " of the input's shape ",
                              io::shape_tuple(x.shape), ")"),
           str(layer.info.in_channels, ", the input channels of the layer's weights"));
    }
    const auto out = output_shape(config, x.shape[0], x.shape[last ? 1 : 2]);
    y = HostArray::zeros(dtype, {out[0], out[1], out[2]});
    const Precision precision{dtype, o.math, o.float32_intermediate};
    run = o.chunk ? run_layer_chunked(config, precision, x.view(), layer.weights(), y.view(),
                                      o.device, *o.chunk)
                  : run_layer(config, precision, x.view(), layer.weights(), y.view(), o.device);
  } catch (const InvalidArgument& e) {
    const bool input = &file_of(e.argument(), o) == &*o.input;
    throw io::FileError(file_of(e.argument(), o),
                        input ? str(e.what(), " (layer ", quoted(layer.info.path), " of ", *o.keras,
                                    " has ", layer.info.in_channels, " input channels)")
                              : std::string(e.what()));
  }
  io::write_npy(*o.output, io::converted(y, dtype == DType::bf16 ? DType::f32 : dtype));
  if (!o.quiet) {
    const std::string policy = layer.info.spec.dtype_name.empty() ? "none" : layer.info.spec.dtype_name;
    std::printf("sepconv1d: %s layer %s (%s): %s\n", o.keras->c_str(), quoted(layer.info.path).c_str(),
                std::string(keras::to_string(model.format())).c_str(), describe(config).c_str());
    std::printf("  dtype  %s (Keras dtype policy %s%s)\n", std::string(to_string(dtype)).c_str(),
                policy.c_str(), o.dtype ? ", overridden by --dtype" : "");
    std::printf("  input  %s %s\n", o.input->c_str(), io::shape_tuple(x.shape).c_str());
    std::printf("  output %s %s\n", o.output->c_str(), io::shape_tuple(y.shape).c_str());
    std::printf("  device %s: %.3f ms\n", device_note(run).c_str(), run.forward_ms);
    if (o.chunk) print_chunk_note(*o.chunk);
  }
  return 0;
}

int list_layers(const Options& o) {
  const keras::ModelFile model = open_model(*o.keras, o.config);
  const auto& layers = model.layers();
  std::printf("# %s: %s, %zu SeparableConv1D layer%s\n", o.keras->c_str(),
              std::string(keras::to_string(model.format())).c_str(), layers.size(),
              layers.size() == 1 ? "" : "s");
  for (const auto& l : layers) {
    std::printf("%s\tin_channels=%lld\t%s%s%s\n", l.path.c_str(),
                static_cast<long long>(l.in_channels), keras::describe(l.spec).c_str(),
                l.problem.empty() ? "" : "\tcannot run: ", l.problem.c_str());
  }
  return 0;
}

}  // namespace sepconv::cli
