// The regularizers on the device (regularize.cuh): penalty and gradient launches.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "sepconv/tensor.h"

namespace sepconv::detail {

/// Bytes of workspace launch_penalty needs for `count` elements (16 per first-pass block).
std::size_t penalty_workspace_bytes(std::int64_t count);

/// *penalty += scale * (l1 * sum |w| + l2 * sum w^2) over the checked device view w, through
/// `workspace` (penalty_workspace_bytes(w.numel()) bytes, 8-byte aligned). Two launches on
/// `stream`; none for an empty w. Throws CudaError. Defined only with a GPU API.
void launch_penalty(const ConstTensorView& w, double l1, double l2, double scale,
                    double* penalty, void* workspace, cudaStream_t stream);

/// grad += scale * (l1 * sign(w) + 2 * l2 * w) over checked device views of one shape; grad is
/// float32 or w's dtype. One launch on `stream`. Throws CudaError.
void launch_regularizer_gradient(const ConstTensorView& w, const TensorView& grad, double l1,
                                 double l2, double scale, cudaStream_t stream);

}  // namespace sepconv::detail
