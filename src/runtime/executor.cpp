#include "runtime/executor.h"

#include <algorithm>
#include <variant>

#include "kernels/depthwise/depthwise_fwd.h"
#include "kernels/epilogue/epilogue.h"
#include "kernels/stream/stream_copy.h"
#include "runtime/nvtx.h"
#include "sepconv/error.h"

namespace sepconv::detail {

BoundPlan::BoundPlan(Plan p) : plan(std::move(p)) {
  matmuls.resize(plan.steps.size());
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    if (const auto* g = std::get_if<GemmStep>(&plan.steps[i])) matmuls[i].emplace(g->plan);
  }
}

std::size_t BoundPlan::gemm_workspace_bytes() const {
  std::size_t most = 0;
  for (const auto& m : matmuls) {
    if (m) most = std::max(most, m->workspace_size());
  }
  return most;
}

void run_window(const BoundPlan& bound, std::int64_t batch_begin, std::int64_t time_begin,
                ConstTensorView x, TensorView y, const DeviceWeights& weights, void* workspace,
                std::size_t workspace_bytes, cublasLtHandle_t handle, cudaStream_t stream,
                void* history) {
  const Plan& plan = bound.plan;
  if (workspace_bytes < bound.workspace_bytes()) {
    throw Error("sepconv: internal error: a window got less workspace than its plan needs");
  }
  const auto e = static_cast<std::int64_t>(dtype_size(plan.precision.dtype));
  const bool last = plan.config.data_format == DataFormat::channels_last;
  auto* const base = static_cast<unsigned char*>(workspace);
  const auto own = static_cast<std::size_t>(plan.workspace_bytes());
  // Where each buffer of the window lives: x and y at the window's first batch and step.
  auto at = [&](Buffer b) -> void* {
    switch (b) {
      case Buffer::x:
        return const_cast<unsigned char*>(static_cast<const unsigned char*>(x.data)) +
               batch_begin * x.strides[0] * e;
      case Buffer::y:
        return static_cast<unsigned char*>(y.data) +
               (batch_begin * y.strides[0] + time_begin * (last ? y.strides[1] : y.strides[2])) * e;
      case Buffer::depthwise_weights: return const_cast<void*>(weights.depthwise);
      case Buffer::pointwise_weights: return const_cast<void*>(weights.pointwise);
      case Buffer::bias: return const_cast<void*>(weights.bias);
      case Buffer::gemm_workspace: return base + own;
      case Buffer::history:
        if (history != nullptr) return history;
        break;
      case Buffer::d:
      case Buffer::z:
      case Buffer::stream_input:
        for (const auto& s : plan.workspace) {
          if (s.buffer == b) return base + s.offset;
        }
        break;
    }
    throw Error(std::string("sepconv: internal error: the plan has no ") + buffer_name(b));
  };
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    std::visit(
        [&](const auto& step) {
          using S = std::decay_t<decltype(step)>;
          if constexpr (std::is_same_v<S, DepthwiseStep>) {
            ScopedRange range("depthwise");
            DepthwiseArgs args;
            args.plan = step.plan;
            args.plan.time_begin = time_begin;
            args.x = at(step.source);
            args.w = at(Buffer::depthwise_weights);
            args.d = at(Buffer::d);
            launch_depthwise(args, stream);
          } else if constexpr (std::is_same_v<S, GemmStep>) {
            ScopedRange range("pointwise_gemm");
            bound.matmuls[i]->run(handle, at(step.a), at(step.b), at(step.c),
                                  at(Buffer::gemm_workspace), workspace_bytes - own, stream);
          } else if constexpr (std::is_same_v<S, EpilogueStep>) {
            ScopedRange range("epilogue");
            launch_epilogue(step.plan, at(Buffer::y), at(step.source),
                            step.plan.add_bias ? at(Buffer::bias) : nullptr, stream);
          } else {
            ScopedRange range("stream_copy");
            launch_stream_copy(step.plan, step.plan.split > 0 ? at(step.src0) : nullptr,
                               at(step.src1), at(step.dst), stream);
          }
        },
        plan.steps[i]);
  }
}

}  // namespace sepconv::detail
