// sepconv — the CPU reference implementation.
//
// A deliberately simple implementation written straight from docs/semantics.md, accumulating in float64.
// It is the CPU fallback and the yardstick every other path (the GPU kernels, the CPU emulator of
// their tile code, the descriptor-driven GEMM) is checked against; it is itself checked against
// outputs of real Keras. All views must be host memory. Functions are reentrant.
#pragma once

#include <cstdint>
#include <vector>

#include "sepconv/backward.h"
#include "sepconv/config.h"

namespace sepconv::reference {

/// y = SeparableConv1D(x). Inputs of any dtype are converted to float64, every sum is taken in
/// float64, and the result is rounded once to y's dtype. Validates everything with
/// `validate_forward(config, x.dtype, ...)` before writing y. Views may be strided.
SEPCONV_EXPORT void forward(const LayerConfig& config, ConstTensorView x, const Weights& weights, TensorView y);

/// A window of outputs: batches [batch_begin, batch_begin + batch_count) and output steps
/// [time_begin, time_begin + time_count). A count of -1 means "to the end".
struct Window {
  std::int64_t batch_begin = 0;
  std::int64_t batch_count = -1;
  std::int64_t time_begin = 0;
  std::int64_t time_count = -1;
};

/// Float64 results for a window of outputs, with what the accuracy check needs.
/// Arrays are row-major over the window in the layer's output layout: (batch_count, time_count,
/// filters) for channels_last, (batch_count, filters, time_count) for channels_first.
struct Detail {
  Window window;               ///< resolved: no -1 counts
  std::int64_t filters = 0;
  DataFormat data_format = DataFormat::channels_last;
  std::vector<double> output;         ///< after bias and activation
  std::vector<double> preactivation;  ///< z = pointwise result + bias
  /// S = sum_q |pw[q,f]| * T_q + |bias[f]|, with T_q = sum_j |dw[j,q] * x_j| the absolute sum of
  /// the depthwise terms that formed mid_q: the magnitude the rounding error of z scales with.
  std::vector<double> magnitude;

  /// Position of (window-relative batch b, step t, filter f) in the arrays.
  [[nodiscard]] std::int64_t index(std::int64_t b, std::int64_t t, std::int64_t f) const {
    return data_format == DataFormat::channels_last
               ? (b * window.time_count + t) * filters + f
               : (b * filters + f) * window.time_count + t;
  }
};

/// Computes a window of outputs alone, in float64, so huge tensors can be checked on samples.
/// softmax / log_softmax need whole rows: with channels_first (rows along time) the window must
/// cover all output steps, else `InvalidArgument` ("window"). Validates like `forward`, except that
/// no output view is involved.
[[nodiscard]] SEPCONV_EXPORT Detail forward_detail(const LayerConfig& config, ConstTensorView x,
                                    const Weights& weights, const Window& window = {});

/// The depthwise intermediate of a window in float64: mid[b][t][q] (row-major over
/// (batch_count, time_count, C*M) whatever the data format, q = c*M + m) and, beside it, the
/// absolute term sums T[b][t][q].
struct Intermediate {
  Window window;
  std::int64_t mid_channels = 0;
  std::vector<double> mid;
  std::vector<double> abs_sum;
  [[nodiscard]] std::int64_t index(std::int64_t b, std::int64_t t, std::int64_t q) const {
    return (b * window.time_count + t) * mid_channels + q;
  }
};

/// The depthwise step alone (no bias, no activation), for the window's outputs.
[[nodiscard]] SEPCONV_EXPORT Intermediate depthwise(const LayerConfig& config, ConstTensorView x,
                                     ConstTensorView depthwise_weights, const Window& window = {});

/// An elementwise activation in float64, written from docs/semantics.md ("Activations"). Throws `InvalidArgument`
/// ("activation") for softmax and log_softmax, which are not elementwise.
[[nodiscard]] SEPCONV_EXPORT double activation(Activation activation, double z);

// ---- streaming (docs/semantics.md, "Streaming") ---------------------------------------------------

class StreamState;
/// The next chunk of a stream: x (B, n, C) / (B, C, n) with the state's rows and channels and any
/// n >= 1 steps, y (B, m, F) / (B, F, m) with m = state.output_steps(n) (0 is allowed). Writes
/// exactly the outputs the whole sequence's `forward` writes for those steps (bitwise: the same
/// float64 sums), then carries the last d*(k-1) steps and advances the position. Validates
/// everything (`validate_chunk`; x of the state's dtype) before writing y or the state.
SEPCONV_EXPORT void forward_chunk(StreamState& state, ConstTensorView x, const Weights& weights,
                                  TensorView y);

/// A stream's state on the CPU: per batch row, the last d*(k-1) input steps (zeros before the
/// stream's first step), and the stream's position, the steps every row has consumed (rows
/// advance together). Host memory; copyable.
class SEPCONV_EXPORT StreamState {
 public:
  /// A state for `batch` rows of a layer with `config` and `in_channels`, inputs of `dtype`: every
  /// row's history zero, position 0. Throws InvalidArgument for a layer that cannot stream (same
  /// padding; softmax / log_softmax of a channels_first layer) or a batch < 1.
  StreamState(const LayerConfig& config, std::int64_t in_channels, std::int64_t batch,
              DType dtype = DType::f32);

  [[nodiscard]] const LayerConfig& config() const noexcept { return config_; }
  [[nodiscard]] std::int64_t in_channels() const noexcept { return in_channels_; }
  [[nodiscard]] std::int64_t batch() const noexcept { return batch_; }
  [[nodiscard]] DType dtype() const noexcept { return dtype_; }
  /// Input steps every row has consumed since the last reset().
  [[nodiscard]] std::int64_t position() const noexcept { return position_; }
  /// Outputs the next chunk of `steps` steps produces (chunk_geometry at this position).
  [[nodiscard]] std::int64_t output_steps(std::int64_t steps) const;
  /// The carried steps, (batch, d*(k-1), C) or (batch, C, d*(k-1)) in the state's dtype.
  [[nodiscard]] ConstTensorView history() const noexcept;

  /// Every row starts a new sequence: histories zero, position 0.
  void reset();
  /// Row `row` starts a new sequence at the current position (its history zero; the other rows
  /// go on). With strides s > 1 only on a stride boundary (position a multiple of s), else
  /// InvalidArgument ("position"). With valid padding, the row's outputs whose windows start
  /// before the reset read zeros there: a valid layer's new sequence has no such outputs (its
  /// first is the one whose window starts at the reset), so the caller drops them.
  void reset_row(std::int64_t row);

 private:
  friend void forward_chunk(StreamState&, ConstTensorView, const Weights&, TensorView);
  LayerConfig config_;
  std::int64_t in_channels_ = 0;
  std::int64_t batch_ = 0;
  DType dtype_ = DType::f32;
  std::int64_t steps_ = 0;  // d*(k-1)
  std::int64_t position_ = 0;
  std::vector<unsigned char> history_;
};

// ---- the backward pass (docs/semantics.md, "Gradients") ----------------------------------------

/// What `backward_detail` computes beyond the forward's inputs.
struct BackwardOptions {
  /// false: dx only (a layer that is not trainable); the weight gradients stay empty.
  bool trainable = true;
  /// The pre-activations z = pointwise result + bias at which the activation's derivative is
  /// taken: a host view of the output's shape ((B, Lout, F) or (B, F, Lout)), any dtype. Empty:
  /// the reference's own forward computes them. The GPU tests pass the z the GPU's training
  /// forward kept, so that the derivative is taken at the same point on both sides (a rounding
  /// difference at a kink, relu at 0, would otherwise flip it).
  ConstTensorView preactivation;
};

/// The gradients of a backward pass in float64, with what the accuracy check needs. Every array is
/// row-major in the Keras layout of its tensor: input in x's ((B, L, C) or (B, C, L)), depthwise
/// (k, C, M), pointwise (C*M, F), bias (F) (empty without use_bias; the weight gradients empty
/// when not trainable), preactivation_gradient dz = dLoss/dz in y's.
/// The magnitudes are the absolute sums of the terms that formed each gradient, with dz's terms
/// measured by what its own rounding scales with (|dy| times the derivative's evaluation scale;
/// for softmax p_i(|dy_i| + sum_j p_j |dy_j|), for log_softmax |dy_i| + p_i sum_j |dy_j|) and the
/// depthwise result by the absolute sum of its terms: what the gradient accuracy rule
/// (`accuracy::compare_gradients`) scales each gradient's error with.
struct GradientDetail {
  std::vector<double> input;
  std::vector<double> depthwise;
  std::vector<double> pointwise;
  std::vector<double> bias;
  std::vector<double> input_magnitude;
  std::vector<double> depthwise_magnitude;
  std::vector<double> pointwise_magnitude;
  std::vector<double> bias_magnitude;
  std::vector<double> preactivation_gradient;
};

/// The gradients of the layer at x for an output gradient dy (x's dtype, the output's shape), in
/// float64 (docs/semantics.md, "Gradients"). Validates x, the weights and dy like
/// `validate_backward` (x's dtype is the layer's), and the preactivation view's shape.
[[nodiscard]] SEPCONV_EXPORT GradientDetail backward_detail(const LayerConfig& config,
                                                            ConstTensorView x,
                                                            const Weights& weights,
                                                            ConstTensorView dy,
                                                            const BackwardOptions& options = {});

/// The backward pass on the CPU: `backward_detail`, each gradient rounded once to its view's
/// dtype. Validates everything with `validate_backward(config, x.dtype, ...)` before writing.
SEPCONV_EXPORT void backward(const LayerConfig& config, ConstTensorView x, const Weights& weights,
                             ConstTensorView dy, const Gradients& gradients,
                             bool trainable = true);

}  // namespace sepconv::reference
