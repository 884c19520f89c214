// sepconv1d — the one place where the CLI chooses how a layer is executed.
//
// Every forward pass of the tool (files or demo) goes through `run_layer`, so wiring in the GPU
// executor means changing this file's .cpp only.
#pragma once

#include <string_view>

#include "sepconv/config.h"

namespace sepconv::cli {

/// Where to run: `cpu` is the float64 CPU reference, `gpu` the CUDA path, `automatic` the GPU when
/// one can be used, else the CPU.
enum class Device { cpu, gpu, automatic };

/// "cpu", "gpu", "auto".
[[nodiscard]] std::string_view to_string(Device device) noexcept;
/// Parses "cpu", "gpu", "auto"; throws `InvalidArgument` ("device") otherwise.
[[nodiscard]] Device parse_device(std::string_view text);

/// Validates the call (`sepconv::validate_forward`: the same errors whatever the device), runs the
/// layer on `device` and returns the device that ran it (`automatic` resolved). Host views only.
/// Throws `InvalidArgument` for a bad argument and `Unsupported` for `gpu`, which is not built yet.
Device run_layer(const LayerConfig& config, DType dtype, ConstTensorView x, const Weights& weights,
                 TensorView y, Device device);

}  // namespace sepconv::cli
