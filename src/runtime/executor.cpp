#include "runtime/executor.h"

#include <algorithm>
#include <variant>

#include "kernels/activation_grad/activation_grad.h"
#include "kernels/depthwise/depthwise_fwd.h"
#include "kernels/depthwise_grad/depthwise_grad.h"
#include "kernels/epilogue/epilogue.h"
#include "kernels/reduce/reduce.h"
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

namespace {

// The one executor: every step of a plan in order, each buffer resolved to a pointer. x and y are
// the window's (offset already applied); `time_begin` is the window's first output step.
void run_steps(const BoundPlan& bound, std::int64_t time_begin, const Bindings& t,
               const DeviceWeights& weights, void* workspace, std::size_t workspace_bytes,
               cublasLtHandle_t handle, cudaStream_t stream) {
  const Plan& plan = bound.plan;
  if (workspace_bytes < bound.workspace_bytes()) {
    throw Error("sepconv: internal error: a window got less workspace than its plan needs");
  }
  auto* const base = static_cast<unsigned char*>(workspace);
  const auto own = static_cast<std::size_t>(plan.workspace_bytes());
  auto slice = [&](const std::vector<WorkspaceSlice>& slices, unsigned char* from, Buffer b) {
    for (const auto& s : slices) {
      if (s.buffer == b && from != nullptr) return static_cast<void*>(from + s.offset);
    }
    throw Error(std::string("sepconv: internal error: the plan has no ") + buffer_name(b));
  };
  auto at = [&](Buffer b) -> void* {
    switch (b) {
      case Buffer::x: return const_cast<void*>(t.x.data);
      case Buffer::y: return t.y.data;
      case Buffer::depthwise_weights: return const_cast<void*>(weights.depthwise);
      case Buffer::pointwise_weights: return const_cast<void*>(weights.pointwise);
      case Buffer::bias: return const_cast<void*>(weights.bias);
      case Buffer::gemm_workspace: return base + own;
      case Buffer::history:
        if (t.history != nullptr) return t.history;
        break;
      case Buffer::dy: return const_cast<void*>(t.dy.data);
      case Buffer::dx: return t.dx.data;
      case Buffer::grad_depthwise: return t.grad_depthwise.data;
      case Buffer::grad_pointwise: return t.grad_pointwise.data;
      case Buffer::grad_bias: return t.grad_bias.data;
      case Buffer::saved_z:
      case Buffer::saved_d: return slice(plan.state, static_cast<unsigned char*>(t.state), b);
      case Buffer::none: return nullptr;  // a reduction over no terms reads nothing
      default: return slice(plan.workspace, base, b);  // d, z, dz, dmid, the partial sums
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
            args.d = at(step.output);
            launch_depthwise(args, stream);
          } else if constexpr (std::is_same_v<S, GemmStep>) {
            ScopedRange range("pointwise_gemm");
            const LtMatmul& matmul = *bound.matmuls[i];
            if (step.bias_gradient != Buffer::none) {
              matmul.run(handle, at(step.a), at(step.b), at(step.c), at(step.bias_gradient),
                         at(Buffer::gemm_workspace), workspace_bytes - own, stream);
            } else {
              matmul.run(handle, at(step.a), at(step.b), at(step.c), at(Buffer::gemm_workspace),
                         workspace_bytes - own, stream);
            }
          } else if constexpr (std::is_same_v<S, EpilogueStep>) {
            ScopedRange range("epilogue");
            launch_epilogue(step.plan, at(Buffer::y), at(step.source),
                            step.plan.add_bias ? at(Buffer::bias) : nullptr, stream);
          } else if constexpr (std::is_same_v<S, StreamCopyStep>) {
            ScopedRange range("stream_copy");
            launch_stream_copy(step.plan, step.plan.split > 0 ? at(step.src0) : nullptr,
                               at(step.src1), at(step.dst), stream);
          } else if constexpr (std::is_same_v<S, ActivationGradStep>) {
            ScopedRange range("activation_gradient");
            launch_activation_grad(step.plan, at(Buffer::dy),
                                   step.plan.has_z ? at(Buffer::saved_z) : nullptr,
                                   at(Buffer::dz), stream);
          } else if constexpr (std::is_same_v<S, DepthwiseGradStep>) {
            ScopedRange range("depthwise_gradient");
            const bool input = step.plan.kind == DepthwiseGradPlan::Kind::input;
            launch_depthwise_grad(step.plan, static_cast<const float*>(at(Buffer::dmid)),
                                  input ? at(Buffer::depthwise_weights) : nullptr,
                                  input ? nullptr : at(Buffer::x), input ? at(Buffer::dx) : nullptr,
                                  input ? nullptr : static_cast<float*>(at(Buffer::ddw_partial)),
                                  stream);
          } else {
            static_assert(std::is_same_v<S, ReduceStep>, "a step kind without its case");
            ScopedRange range("gradient_reduction");
            launch_reduce(step.plan, at(step.source), static_cast<float*>(at(step.target)), stream);
          }
        },
        plan.steps[i]);
  }
}

}  // namespace

void run_window(const BoundPlan& bound, std::int64_t batch_begin, std::int64_t time_begin,
                ConstTensorView x, TensorView y, const DeviceWeights& weights, void* workspace,
                std::size_t workspace_bytes, cublasLtHandle_t handle, cudaStream_t stream,
                void* history) {
  const Plan& plan = bound.plan;
  const auto e = static_cast<std::int64_t>(dtype_size(plan.precision.dtype));
  const bool last = plan.config.data_format == DataFormat::channels_last;
  // x and y at the window's first batch and step.
  Bindings t;
  t.x = x;
  t.x.data = static_cast<const unsigned char*>(x.data) + batch_begin * x.strides[0] * e;
  t.y = y;
  t.y.data = static_cast<unsigned char*>(y.data) +
             (batch_begin * y.strides[0] + time_begin * (last ? y.strides[1] : y.strides[2])) * e;
  t.history = history;
  run_steps(bound, time_begin, t, weights, workspace, workspace_bytes, handle, stream);
}

void run_plan(const BoundPlan& bound, const Bindings& tensors, const DeviceWeights& weights,
              void* workspace, std::size_t workspace_bytes, cublasLtHandle_t handle,
              cudaStream_t stream) {
  run_steps(bound, 0, tensors, weights, workspace, workspace_bytes, handle, stream);
}

}  // namespace sepconv::detail
