#include "runtime/executor.h"

#include "kernels/depthwise/depthwise_fwd.h"
#include "kernels/epilogue/epilogue.h"
#include "runtime/nvtx.h"
#include "sepconv/error.h"

namespace sepconv::detail {

void run_window(const BoundPlan& bound, std::int64_t batch_begin, std::int64_t time_begin,
                ConstTensorView x, TensorView y, const DeviceWeights& weights, void* workspace,
                std::size_t workspace_bytes, cublasLtHandle_t handle, cudaStream_t stream) {
  const Plan& plan = bound.plan;
  if (workspace_bytes < bound.workspace_bytes()) {
    throw Error("sepconv: internal error: a window got less workspace than its plan needs");
  }
  const auto e = static_cast<std::int64_t>(dtype_size(plan.dtype));
  const bool last = plan.config.data_format == DataFormat::channels_last;
  auto* d = static_cast<unsigned char*>(workspace);
  auto* z = d + plan.d_bytes;
  auto* lt_workspace = z + plan.z_bytes;
  const std::size_t lt_bytes = workspace_bytes - static_cast<std::size_t>(plan.d_bytes + plan.z_bytes);

  {
    ScopedRange range("depthwise");
    DepthwiseArgs args;
    args.plan = plan.depthwise;
    args.plan.time_begin = time_begin;
    args.x = static_cast<const unsigned char*>(x.data) + batch_begin * x.strides[0] * e;
    args.w = weights.depthwise;
    args.d = d;
    launch_depthwise(args, stream);
  }

  // The window's first output element; the GEMM writes there, or into the scratch Z that the
  // epilogue then copies (or rounds) into y.
  const std::int64_t y_offset =
      batch_begin * y.strides[0] + time_begin * (last ? y.strides[1] : y.strides[2]);
  void* y_window = static_cast<unsigned char*>(y.data) + y_offset * e;
  {
    ScopedRange range("pointwise_gemm");
    const void* a = plan.gemm.a_is_weights ? weights.pointwise : d;
    const void* b = plan.gemm.a_is_weights ? d : weights.pointwise;
    bound.matmul.run(handle, a, b, plan.z_bytes > 0 ? static_cast<void*>(z) : y_window,
                     lt_workspace, lt_bytes, stream);
  }
  if (plan.epilogue.elementwise || plan.epilogue.row_reduction) {
    ScopedRange range("epilogue");
    launch_epilogue(plan.epilogue, y_window, z, weights.bias, stream);
  }
}

}  // namespace sepconv::detail
