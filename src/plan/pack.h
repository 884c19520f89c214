// Weights in the layouts the kernels read, derived from Keras layouts (any strides, any dtype of
// the layer) on the host. The GPU layer uploads these; the emulator tests use them directly.
#pragma once

#include <cstdint>
#include <vector>

#include "plan/plan.h"
#include "sepconv/config.h"

namespace sepconv::detail {

/// Depthwise weights (k, C, M) repacked as W[m][j][c] (channels contiguous), in the layer's dtype,
/// as raw bytes.
std::vector<unsigned char> pack_depthwise(const LayerConfig& config, std::int64_t in_channels,
                                          ConstTensorView depthwise);

/// The pointwise matrix Wp' the GEMM reads: row-major (K, F) with rows in D's multiplier-major
/// order (row m*C + c holds Keras row c*M + m) and, for BiasMode::ones_row, the bias as row C*M
/// (K = C*M + 1). Raw bytes of `out_dtype`: the GEMM's type (the layer's dtype, or float32 with a
/// float32 intermediate).
std::vector<unsigned char> pack_pointwise(const LayerConfig& config, std::int64_t in_channels,
                                          ConstTensorView pointwise, ConstTensorView bias,
                                          BiasMode bias_mode, DType out_dtype);

}  // namespace sepconv::detail
