// sepconv_bench on a GPU: the card's ceilings, then every selected shape x format x mode x stage.
#pragma once

#include "output.h"

namespace sepconv::bench {

/// Times `selection` on CUDA device 0. First the ceilings (a device-to-device copy, the FP32 FMA
/// kernel, a large cuBLASLt GEMM per selected mode), then each row: depthwise alone and pointwise
/// alone through the internal APIs (make_plan + launch_depthwise; LtMatmul from the plan's
/// GemmPlan) on buffers allocated here, the whole forward through SeparableConv1D::forward. Every
/// timed run follows an L2 flush, inputs rotate among copies that together exceed the L2 several
/// times over, and the median of the runs is reported (CUDA events). A row that fails keeps its
/// error and the run goes on.
[[nodiscard]] Report run_gpu(const Selection& selection);

}  // namespace sepconv::bench
