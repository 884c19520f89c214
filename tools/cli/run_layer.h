// sepconv1d — the one place where the CLI chooses how a layer is executed.
//
// Every forward pass of the tool (files or demo) goes through `run_layer`.
#pragma once

#include <cstdint>
#include <string>
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

/// `automatic` resolved (the GPU when sepconv::cuda_device_available(), else the CPU); `gpu`
/// without a usable device, or in a build without CUDA, throws `Unsupported`.
[[nodiscard]] Device resolve_device(Device device);

/// What ran, and how long the forward pass took: on the GPU the median of 5 forwards timed with
/// CUDA events after a warm-up (without the copies, the context and the weight upload); on the
/// CPU the wall time of the reference.
struct RunInfo {
  Device device = Device::cpu;
  double forward_ms = 0;
  std::string gpu_name;  ///< the device, for gpu runs
};

/// Validates the call (`sepconv::validate_forward`: the same errors whatever the device), runs the
/// layer on `device` and says where it ran (`automatic` resolved: the GPU when
/// sepconv::cuda_device_available(), else the CPU). Host views only. Throws `InvalidArgument` for
/// a bad argument, `Unsupported` for `gpu` without a usable device or in a build without CUDA.
/// `precision.math` and `float32_intermediate` shape the GPU's arithmetic; the CPU reference
/// computes in float64 whatever they say (the precision is validated either way).
RunInfo run_layer(const LayerConfig& config, const Precision& precision, ConstTensorView x,
                  const Weights& weights, TensorView y, Device device);

/// `sepconv1d run --chunk N`: like `run_layer`, but x runs as a stream (docs/semantics.md,
/// "Streaming") in chunks of `chunk` steps (the last one may be shorter): through
/// `reference::forward_chunk` on the CPU, `SeparableConv1D::forward_chunk` on the GPU, each chunk's
/// outputs into their slice of y. y is what `run_layer` writes on the same device: bit for bit on
/// the CPU and on the simulated device; on a GPU, where cuBLASLt may pick another algorithm for
/// another chunk length, each within the accuracy bound. Validates as `run_layer` does and, before
/// any work, that `chunk` >= 1 (InvalidArgument "chunk") and that the layer can stream
/// (`chunk_geometry`: "padding" for same padding, "activation" for softmax / log_softmax of a
/// channels_first layer). On the GPU, forward_ms is the median of 5 passes over all the chunks
/// (after a warm-up pass), each from a reset state.
RunInfo run_layer_chunked(const LayerConfig& config, const Precision& precision, ConstTensorView x,
                          const Weights& weights, TensorView y, Device device, std::int64_t chunk);

}  // namespace sepconv::cli
