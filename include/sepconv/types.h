// sepconv — enumerations shared by the whole API and their string forms (Keras spellings).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sepconv/export.h"

namespace sepconv {

/// Element type of a tensor. One storage type per layer: input, weights and output.
enum class DType : std::uint8_t {
  f32,   ///< IEEE float32
  f16,   ///< IEEE float16 (`__half`)
  bf16,  ///< bfloat16 (`__nv_bfloat16`)
};

/// Size of one element in bytes.
[[nodiscard]] SEPCONV_EXPORT std::size_t dtype_size(DType dtype) noexcept;
/// "float32", "float16" or "bfloat16" (the Keras dtype names).
[[nodiscard]] SEPCONV_EXPORT std::string_view to_string(DType dtype) noexcept;

/// Arithmetic of float32 GEMMs: exact float32 (the default) or TF32 tensor cores (inputs rounded to
/// a 10-bit mantissa, float32 accumulation). Ignored by float16 / bfloat16 layers, whose GEMMs
/// always run on tensor cores with float32 accumulation.
enum class MathMode : std::uint8_t { exact, tf32 };

/// How a layer computes, beyond the Keras arguments.
struct Precision {
  /// Storage type of input, weights and output. The depthwise kernel accumulates in float32 and
  /// the GEMM's compute type is float32 (tensor cores for float16 / bfloat16).
  DType dtype = DType::f32;
  /// float32 GEMMs: exact float32 (default) or TF32 tensor cores.
  MathMode math = MathMode::exact;
  /// float16 / bfloat16 layers: keep the depthwise result D in float32 instead of the layer's
  /// dtype. cuBLASLt needs one type for both GEMM inputs, so the pointwise GEMM then runs in
  /// float32 (or TF32 with `math`) on upcast weights, writes float32, and a final pass rounds to
  /// the output type. More accurate, slower: no half-precision tensor cores. Ignored for float32.
  bool float32_intermediate = false;
};

/// Keras `padding`. Parsed case-insensitively from "valid", "same", "causal".
enum class Padding : std::uint8_t { valid, same, causal };

/// Keras `data_format`. channels_last: (batch, steps, channels); channels_first: (batch, channels,
/// steps).
enum class DataFormat : std::uint8_t { channels_last, channels_first };

/// Keras string activations (docs/semantics.md, "Activations"), applied after the bias. `gelu` is the exact erf
/// form; `hard_sigmoid` is Keras 3's relu6(x+3)/6 and `hard_sigmoid_tf_keras` is tf.keras 2.x's
/// clip(0.2x+0.5, 0, 1). `softmax` and `log_softmax` reduce along the last axis of the output (the
/// time axis for channels_first), as Keras does. "swish" and "hard_swish" parse to `silu` and
/// `hard_silu`; "glu", "threshold" and "sparsemax" are rejected.
enum class Activation : std::uint8_t {
  linear,
  relu,
  relu6,
  leaky_relu,  ///< negative slope 0.2 (the activation-function default, not the layer's 0.3)
  elu,         ///< alpha 1
  selu,
  softplus,
  softsign,
  silu,
  gelu,
  tanh,
  sigmoid,
  exponential,
  hard_sigmoid,
  hard_sigmoid_tf_keras,
  hard_silu,
  mish,
  celu,  ///< alpha 1
  squareplus,  ///< b = 4
  soft_shrink,  ///< threshold 0.5
  hard_shrink,  ///< threshold 0.5
  tanh_shrink,
  hard_tanh,
  sparse_plus,
  sparse_sigmoid,
  log_sigmoid,
  softmax,
  log_softmax,
};

/// Number of `Activation` values (for iterating over all of them).
inline constexpr int kActivationCount = static_cast<int>(Activation::log_softmax) + 1;

/// The canonical Keras name of a value ("valid", "channels_first", "hard_sigmoid_tf_keras", ...).
[[nodiscard]] SEPCONV_EXPORT std::string_view to_string(Padding padding) noexcept;
[[nodiscard]] SEPCONV_EXPORT std::string_view to_string(DataFormat data_format) noexcept;
[[nodiscard]] SEPCONV_EXPORT std::string_view to_string(Activation activation) noexcept;
[[nodiscard]] SEPCONV_EXPORT std::string_view to_string(MathMode mode) noexcept;

/// Parsers with Keras's rules; each throws `InvalidArgument` naming the argument ("padding",
/// "data_format", "activation"), the string given and the accepted values.
/// Padding and data_format are case-insensitive (Keras lower-cases them); activation names are
/// case-sensitive, as Keras's registry lookup is. An empty string or "None" is not accepted by
/// `parse_activation`: callers map a missing activation (JSON null, Python None) to `linear`.
[[nodiscard]] SEPCONV_EXPORT Padding parse_padding(std::string_view text);
[[nodiscard]] SEPCONV_EXPORT DataFormat parse_data_format(std::string_view text);
[[nodiscard]] SEPCONV_EXPORT Activation parse_activation(std::string_view text);

/// True for softmax and log_softmax: they reduce along the last axis instead of acting
/// elementwise.
[[nodiscard]] constexpr bool is_row_reduction(Activation a) noexcept {
  return a == Activation::softmax || a == Activation::log_softmax;
}

}  // namespace sepconv
