// sepconv — initializers, regularizers and constraints on the GPU (types in sepconv/training.h).
// Available when SEPCONV_WITH_CUDA is 1.
//
// Every function takes device views (sepconv/tensor.h: device or managed memory of the stream's
// device, rank 1-3, any strides) and enqueues its work on `stream` without synchronising or
// allocating (except `initialize` with an orthogonal initializer, below). Results are
// deterministic: the same inputs give the same bits on every run (fixed reduction orders, no
// atomics). Arguments are checked before anything is enqueued (InvalidArgument); launch failures
// throw CudaError.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "sepconv/export.h"
#include "sepconv/tensor.h"
#include "sepconv/training.h"

namespace sepconv {

/// Fills a device view (f32, f16 or bf16) with `init` under `seed`: the same bits as the host
/// `initialize` (a counter-based Philox4x32-10 stream, element i of the row-major order drawing
/// from counter i). orthogonal's QR runs on the host: that call allocates a temporary device
/// buffer, copies the host result into the view and synchronises `stream` before returning.
SEPCONV_EXPORT void initialize(const Initializer& init, std::uint64_t seed, const TensorView& out,
                               cudaStream_t stream);

/// Bytes of device workspace `add_penalty` needs for a tensor of `count` elements (a multiple of
/// 16; 0 for 0 elements).
[[nodiscard]] SEPCONV_EXPORT std::size_t penalty_workspace_size(std::int64_t count);
/// *penalty += scale * penalty(reg, weights), reduced in float64 in a fixed order (the same bits on
/// every run and device). `penalty`: one double of device memory (read, then written);
/// `workspace`: 8-byte aligned device memory of penalty_workspace_size(weights.numel()) bytes.
/// `weights`: any dtype.
SEPCONV_EXPORT void add_penalty(const Regularizer& reg, const ConstTensorView& weights,
                                double scale, double* penalty, void* workspace,
                                std::size_t workspace_bytes, cudaStream_t stream);
/// grad += scale * (l1 * sign(w) + 2 * l2 * w) (sign(0) = 0), computed in float64 and rounded to
/// float32 (then to a 16-bit grad's dtype): within one unit in the last place of the host's.
/// `grad`: a device view of weights' shape, float32 or weights' dtype, not overlapping weights.
SEPCONV_EXPORT void add_gradient(const Regularizer& reg, const ConstTensorView& weights,
                                 const TensorView& grad, double scale, cudaStream_t stream);
/// Activity regularization of the output y (batch first): *penalty += penalty(y) / B.
SEPCONV_EXPORT void add_activity_penalty(const Regularizer& reg, const ConstTensorView& y,
                                         double* penalty, void* workspace,
                                         std::size_t workspace_bytes, cudaStream_t stream);
/// dy += (l1 * sign(y) + 2 * l2 * y) / B; dy: y's shape, float32 or y's dtype.
SEPCONV_EXPORT void add_activity_gradient(const Regularizer& reg, const ConstTensorView& y,
                                          const TensorView& dy, cudaStream_t stream);

/// Applies `c` in place to a device view (any dtype), as the host `apply_constraint` does: norms in
/// float64 (a fixed reduction tree), the result rounded to float32 (then to a 16-bit dtype),
/// within one unit in the last place of the host's.
SEPCONV_EXPORT void apply_constraint(const Constraint& c, const TensorView& weights,
                                     cudaStream_t stream);

}  // namespace sepconv
