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

// ---- streaming (docs/semantics.md, "Streaming") ---------------------------------------------------

/// Input steps a stream carries from one chunk to the next: d*(k-1), the steps before an output's
/// own that its window reads. Validates the config.
[[nodiscard]] SEPCONV_EXPORT std::int64_t stream_history(const LayerConfig& config);

/// What the next chunk of a stream produces: the outputs whose windows end inside it. Chunks of
/// any lengths, one after the other, produce exactly the whole sequence's outputs, in order.
struct ChunkGeometry {
  std::int64_t first_output = 0;  ///< index of its first output in the whole sequence's output
  /// Outputs it produces: 0 while a valid layer waits for its first whole window, or for a chunk
  /// that falls between two strides.
  std::int64_t out_length = 0;
  /// Where its first output's window starts, relative to the chunk's first step: negative when it
  /// starts in the steps before the chunk (which the stream's state carries).
  std::int64_t window_start = 0;
};

/// The chunk of `steps` input steps (>= 1) that follows `position` steps (>= 0) of a stream.
/// Throws InvalidArgument for a layer that cannot stream: "padding" for same padding (an output's
/// window reaches past its own step), "activation" for softmax / log_softmax of a channels_first
/// layer (they normalise along the whole time axis).
[[nodiscard]] SEPCONV_EXPORT ChunkGeometry chunk_geometry(const LayerConfig& config,
                                                          std::int64_t position,
                                                          std::int64_t steps);

/// validate_forward for the chunk of x's steps that follows `position` steps of a stream: the
/// same checks, except that y has chunk_geometry's out_length steps (possibly 0), and a layer that
/// cannot stream is refused (chunk_geometry). The ProblemShape's geometry.pad.left is
/// -window_start: the steps before x's first that the chunk's first output reads.
SEPCONV_EXPORT ProblemShape validate_chunk(const LayerConfig& config, DType dtype,
                                           ConstTensorView x, const Weights& weights, TensorView y,
                                           std::int64_t position);

/// Throws `InvalidArgument` ("precision") for TF32 on a GEMM that is not float32: a 16-bit layer
/// without float32_intermediate (its GEMM runs on half-precision tensor cores).
SEPCONV_EXPORT void validate(const Precision& precision);

/// The weight checks of `validate_forward` alone, for `in_channels` input channels.
SEPCONV_EXPORT void validate_weights(const LayerConfig& config, DType dtype, std::int64_t in_channels,
                      const Weights& weights);

}  // namespace sepconv
