// sepconv1d — running a layer straight from a Keras model file, and listing a file's layers:
//   sepconv1d run --keras MODEL [--config CONFIG.json] [--layer NAME] --input X.npy --output Y.npy ...
//   sepconv1d layers MODEL [--config CONFIG.json]
// Both read the file through sepconv_keras (sepconv/keras.h); docs/cli.md lists every message.
#pragma once

#include <optional>
#include <string>

#include "cli_options.h"
#include "sepconv/keras.h"

namespace sepconv::cli {

/// `run --keras`: loads the layer, converts the input to the layer's compute dtype (as Keras's
/// autocast does), runs it through run_layer and writes the output. Returns the exit status;
/// throws (keras::FileError, io::FileError, sepconv::Error) with one message for the rest.
int run_keras(const Options& options);

/// Opens a Keras model file; a weights-only one needs `config` (keras::FileError naming the file
/// otherwise).
[[nodiscard]] keras::ModelFile open_model(const std::string& model,
                                          const std::optional<std::string>& config);

/// `layers MODEL`: one line per SeparableConv1D layer on stdout (path, input channels, config, and
/// why it cannot run when it cannot), after a '#' line naming the file and its format.
int list_layers(const Options& options);

/// Parses `sepconv1d layers ...` (argv[1] is "layers") into `o`. Throws UsageError.
void parse_layers_command(int argc, const char* const* argv, Options& o);

/// Usage checks of `run --keras`: --input and --output required; --depthwise, --pointwise and
/// --bias not allowed. Throws UsageError.
void check_keras_run_flags(const Options& o);

}  // namespace sepconv::cli
