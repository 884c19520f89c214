// sepconv1d backward — the gradients of a Keras SeparableConv1D layer for a given output gradient,
// from the same files as `sepconv1d run` (docs/cli.md, "sepconv1d backward"):
//
//   sepconv1d backward --config CONFIG.json --depthwise DW.npy --pointwise PW.npy [--bias B.npy]
//       --input X.npy --grad-output DY.npy --grad-input DX.npy --grad-depthwise DDW.npy
//       --grad-pointwise DPW.npy [--grad-bias DB.npy] [--device cpu|gpu|auto] [--dtype ...]
//   sepconv1d backward --keras MODEL [--config CONFIG.json] [--layer NAME] --input X.npy ...
#pragma once

#include <optional>
#include <string>

#include "run_layer.h"
#include "sepconv/backward.h"

namespace sepconv::cli {

/// The command line of `sepconv1d backward`.
struct BackwardOptions {
  bool help = false;
  std::optional<std::string> config, depthwise, pointwise, bias, input, grad_output;
  std::optional<std::string> grad_input, grad_depthwise, grad_pointwise, grad_bias;
  /// --keras MODEL [--layer NAME]: the layer and its weights from a Keras model file (--config
  /// then only for a weights-only file), in place of --config/--depthwise/--pointwise/--bias.
  std::optional<std::string> keras, layer;
  Device device = Device::automatic;
  std::optional<DType> dtype;
  MathMode math = MathMode::exact;
  bool float32_intermediate = false;
  bool quiet = false;
};

/// Parses argv (argv[1] is "backward"). Throws `UsageError` (cli_options.h) with a one-line
/// message: an unknown flag, a flag without its value or given twice, a missing required flag.
[[nodiscard]] BackwardOptions parse_backward_options(int argc, const char* const* argv);

/// The text of `sepconv1d backward --help`.
[[nodiscard]] const char* backward_help_text();

/// Where a backward ran.
struct BackwardRun {
  Device device = Device::cpu;
  std::string gpu_name;
};

/// Validates the call (`sepconv::validate_backward` of the layer's dtype: the same errors
/// whatever the device), then computes the gradients on `device` (`automatic`: the GPU when one
/// is usable, else the CPU): the float64 CPU reference (`reference::backward`), or the GPU layer
/// (`SeparableConv1D::forward_training` then `backward`, on device 0). Host views only; the
/// weight gradients are float32 as `Gradients` says. Throws `InvalidArgument` for a bad argument,
/// `Unsupported` for `gpu` without a usable device.
BackwardRun run_backward(const LayerConfig& config, const Precision& precision, ConstTensorView x,
                         const Weights& weights, ConstTensorView dy, const Gradients& gradients,
                         Device device);

/// `sepconv1d backward ...`: parses, reads the files, runs, writes the gradient files (all or
/// none) and prints a summary. Returns the exit status: 0, 1 for a data error, 2 for a usage
/// error (one message on stderr).
int backward_main(int argc, const char* const* argv);

}  // namespace sepconv::cli
