// sepconv — the backward pass's arguments: where the gradients go, and their validation
// (docs/semantics.md, "Gradients"). The CPU reference (`reference::backward`) and the GPU layer
// (`SeparableConv1D::backward`) take the same views and check them with `validate_backward`.
#pragma once

#include "sepconv/config.h"

namespace sepconv {

/// Where a backward pass writes, given dy = dLoss/dy (the output's shape):
///   input      dx = dLoss/dx: x's shape, dtype and data format, unit stride on the contiguous
///              axis (channels for channels_last, time for channels_first);
///   depthwise  dLoss/d depthwise_kernel, (k, C, M), float32;
///   pointwise  dLoss/d pointwise_kernel, (1, C*M, F), float32;
///   bias       dLoss/d bias, (F,), float32, exactly when use_bias (else an empty view).
/// The weight gradients are float32 whatever the layer's dtype, as Keras mixed precision keeps
/// its variables (and so their gradients) in float32. A layer that is not trainable computes dx
/// only: its weight views must then be empty. Every view may be strided; none may overlap another
/// or an input, and no two elements of one view may share an address. Gradients are written, not
/// accumulated.
struct Gradients {
  TensorView input;
  TensorView depthwise;
  TensorView pointwise;
  TensorView bias;
};

/// Checks a backward call before any work starts and returns its shapes: what
/// `validate_forward` checks of the config, x and the weights (all of `dtype`); dy of the
/// output's shape and `dtype` with unit stride on its contiguous axis; the gradient views
/// (argument names "grad_input", "grad_depthwise", "grad_pointwise", "grad_bias") as `Gradients`
/// says, present exactly when `trainable` (and, for the bias, use_bias). Throws `InvalidArgument`
/// naming the argument, the value and the expectation.
SEPCONV_EXPORT ProblemShape validate_backward(const LayerConfig& config, DType dtype,
                                              ConstTensorView x, const Weights& weights,
                                              ConstTensorView dy, const Gradients& gradients,
                                              bool trainable = true);

}  // namespace sepconv
