// The regularizers' launch wrappers: the penalty's two passes (3 storage types + 1) and the
// gradient for (weights, gradient) storage pairs (f32, f32), (f16, f32), (bf16, f32), (f16, f16),
// (bf16, bf16): 9 instantiations.
#include "kernels/regularize/regularize.h"

#include <type_traits>

#include "kernels/launch.cuh"
#include "kernels/regularize/regularize.cuh"

namespace sepconv::detail {

std::size_t penalty_workspace_bytes(std::int64_t count) {
  if (count <= 0) return 0;
  return static_cast<std::size_t>(penalty_blocks(count)) * sizeof(PenaltySums);
}

void launch_penalty(const ConstTensorView& w, double l1, double l2, double scale,
                    double* penalty, void* workspace, cudaStream_t stream) {
  const std::int64_t count = w.numel();
  if (count == 0) return;
  const std::int64_t blocks = penalty_blocks(count);
  auto* partials = static_cast<PenaltySums*>(workspace);
  const std::size_t shared = sizeof(PenaltySums) * kTrainingThreads;
  dispatch_storage_type(w.dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    PenaltyPartialKernel<S> k;
    k.w = static_cast<const S*>(w.data);
    k.layout = strided_of(w);
    k.count = count;
    k.partials = partials;
    launch_kernel(k, LaunchShape{blocks, kTrainingThreads, shared, false}, stream);
  });
  PenaltyFinishKernel finish;
  finish.partials = partials;
  finish.count = blocks;
  finish.l1 = l1;
  finish.l2 = l2;
  finish.scale = scale;
  finish.penalty = penalty;
  launch_kernel(finish, LaunchShape{1, kTrainingThreads, shared, false}, stream);
}

void launch_regularizer_gradient(const ConstTensorView& w, const TensorView& grad, double l1,
                                 double l2, double scale, cudaStream_t stream) {
  const std::int64_t count = w.numel();
  if (count == 0) return;
  const auto launch = [&](auto w_tag, auto g_tag) {
    using W = typename decltype(w_tag)::type;
    using G = typename decltype(g_tag)::type;
    RegularizerGradientKernel<W, G> k;
    k.w = static_cast<const W*>(w.data);
    k.w_layout = strided_of(w);
    k.grad = static_cast<G*>(grad.data);
    k.grad_layout = strided_of(grad);
    k.count = count;
    k.l1 = l1;
    k.l2 = l2;
    k.scale = scale;
    launch_kernel(k, elementwise_launch(count), stream);
  };
  dispatch_storage_type(w.dtype, [&](auto w_tag) {
    if (grad.dtype == DType::f32) {
      launch(w_tag, TypeTag<float>{});
    } else if constexpr (!std::is_same_v<typename decltype(w_tag)::type, float>) {
      launch(w_tag, w_tag);  // the caller checked grad.dtype == w.dtype
    }
  });
}

}  // namespace sepconv::detail
