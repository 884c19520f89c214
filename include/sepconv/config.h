// sepconv — the layer's configuration (Keras arguments) and its shape arithmetic.
#pragma once

#include <array>
#include <cstdint>

#include "sepconv/tensor.h"
#include "sepconv/types.h"

namespace sepconv {

/// The arguments of Keras `SeparableConv1D` that affect the forward result, with Keras's
/// defaults. Initializers, regularizers and constraints do not change the forward pass and are
/// not part of it. `filters` and `kernel_size` have no default in Keras: 0 here, rejected by
/// `validate`.
struct LayerConfig {
  std::int64_t filters = 0;           ///< F, output channels, > 0
  std::int64_t kernel_size = 0;       ///< k, taps of the depthwise filter, > 0
  std::int64_t strides = 1;           ///< s, > 0; > 1 only with dilation_rate == 1
  Padding padding = Padding::valid;
  DataFormat data_format = DataFormat::channels_last;
  std::int64_t dilation_rate = 1;     ///< d, > 0
  std::int64_t depth_multiplier = 1;  ///< M, > 0
  Activation activation = Activation::linear;
  bool use_bias = true;
};

/// Throws `InvalidArgument` for a configuration Keras rejects at construction: non-positive
/// filters, kernel_size, strides, dilation_rate or depth_multiplier; strides > 1 together with
/// dilation_rate > 1; or an effective kernel size d*(k-1)+1 that does not fit in 64 bits.
SEPCONV_EXPORT void validate(const LayerConfig& config);

/// Zeros added before and after the time axis (never materialised: the kernels resolve them by
/// index arithmetic).
struct PaddingAmounts {
  std::int64_t left = 0;
  std::int64_t right = 0;
};

/// The shape arithmetic of one call: docs/semantics.md, "Output length and padding", in 64-bit integers.
struct Geometry {
  std::int64_t effective_kernel = 0;  ///< d*(k-1)+1
  std::int64_t out_length = 0;        ///< Lout
  PaddingAmounts pad;
};

/// Effective kernel size d*(k-1)+1 of a validated config.
[[nodiscard]] SEPCONV_EXPORT std::int64_t effective_kernel_size(const LayerConfig& config);

/// Output length and padding for an input of `length` steps. Validates the config; throws
/// `InvalidArgument` ("length") for length <= 0 and, for valid padding, length < d*(k-1)+1.
///   valid:        Lout = (L - effk) / s + 1,   pad 0 / 0
///   same:         Lout = (L + s - 1) / s,      pad_total = max((Lout-1)*s + effk - L, 0),
///                 left = pad_total / 2, right = pad_total - left (odd extra zero on the right)
///   causal:       Lout = (L + s - 1) / s,      pad d*(k-1) / 0
[[nodiscard]] SEPCONV_EXPORT Geometry geometry(const LayerConfig& config, std::int64_t length);

/// Output length alone (see `geometry`).
[[nodiscard]] SEPCONV_EXPORT std::int64_t output_length(const LayerConfig& config, std::int64_t length);

/// The shapes of one forward call, read from the input view and the config.
struct ProblemShape {
  std::int64_t batch = 0;        ///< B (0 is valid and does nothing)
  std::int64_t length = 0;       ///< L, input steps
  std::int64_t in_channels = 0;  ///< C
  Geometry geometry;             ///< Lout and padding
  /// Intermediate channels C*M.
  [[nodiscard]] std::int64_t mid_channels(const LayerConfig& c) const {
    return in_channels * c.depth_multiplier;
  }
};

/// Layer weights in Keras layouts: depthwise (k, C, M), pointwise (1, C*M, F), bias (F) or an
/// empty view when use_bias is false. Any strides are accepted.
struct Weights {
  ConstTensorView depthwise;
  ConstTensorView pointwise;
  ConstTensorView bias;
};

/// The expected shape of the input (rank 3, in the config's data format) for a batch and length.
/// Throws on overflow.
[[nodiscard]] SEPCONV_EXPORT std::array<std::int64_t, 3> input_shape(const LayerConfig& config,
                                                      std::int64_t batch, std::int64_t length,
                                                      std::int64_t in_channels);
/// The expected output shape (B, Lout, F) or (B, F, Lout) for an input of `length` steps.
[[nodiscard]] SEPCONV_EXPORT std::array<std::int64_t, 3> output_shape(const LayerConfig& config,
                                                       std::int64_t batch, std::int64_t length);

/// Checks everything one forward call needs before any work starts, and returns its shapes:
/// the config; x's rank (3), dtype, extents and strides (the contiguous axis — channels for
/// channels_last, time for channels_first — must have stride 1); the weights' shapes against the
/// config and x's channel count (bias present exactly when use_bias); y's shape and strides; that
/// no view is null while it has elements; that x and y do not overlap and y's elements do not
/// overlap one another. Throws `InvalidArgument` naming the argument, the value and the
/// expectation. `dtype` is the layer's storage type every view must have.
SEPCONV_EXPORT ProblemShape validate_forward(const LayerConfig& config, DType dtype, ConstTensorView x,
                              const Weights& weights, TensorView y);

/// Throws `InvalidArgument` ("precision") for TF32 on a GEMM that is not float32: a 16-bit layer
/// without float32_intermediate (its GEMM runs on half-precision tensor cores).
SEPCONV_EXPORT void validate(const Precision& precision);

/// The weight checks of `validate_forward` alone, for `in_channels` input channels.
SEPCONV_EXPORT void validate_weights(const LayerConfig& config, DType dtype, std::int64_t in_channels,
                      const Weights& weights);

}  // namespace sepconv
