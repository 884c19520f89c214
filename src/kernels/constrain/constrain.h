// The constraints on the device (constrain.cuh).
#pragma once

#include <cuda_runtime_api.h>

#include <vector>

#include "sepconv/tensor.h"
#include "sepconv/training.h"

namespace sepconv::detail {

/// Applies `c` in place to the checked device view w, norms over `axes` (checked: in [0, rank),
/// sorted, distinct). One launch on `stream` (none for an empty w). Throws CudaError. Defined
/// only with a GPU API.
void launch_constraint(const Constraint& c, const std::vector<int>& axes, const TensorView& w,
                       cudaStream_t stream);

}  // namespace sepconv::detail
