// The constraints' launch wrapper: one kernel per storage type (3 instantiations).
#include "kernels/constrain/constrain.h"

#include <algorithm>

#include "kernels/constrain/constrain.cuh"
#include "kernels/launch.cuh"

namespace sepconv::detail {

void launch_constraint(const Constraint& c, const std::vector<int>& axes, const TensorView& w,
                       cudaStream_t stream) {
  if (w.numel() == 0) return;
  ConstraintSpec spec;
  switch (c.kind) {
    case ConstraintKind::max_norm: spec.kind = ConstraintSpec::Kind::max_norm; break;
    case ConstraintKind::non_neg: spec.kind = ConstraintSpec::Kind::non_neg; break;
    case ConstraintKind::unit_norm: spec.kind = ConstraintSpec::Kind::unit_norm; break;
    case ConstraintKind::min_max_norm: spec.kind = ConstraintSpec::Kind::min_max_norm; break;
  }
  spec.min_value = c.min_value;
  spec.max_value = c.max_value;
  spec.rate = c.rate;
  // Split the view's axes into kept (the fibers) and reduced (within a fiber), each padded to
  // rank 3 with leading extents of 1 (NonNeg: every axis kept, fibers of one element).
  ConstTensorView kept_view = w;
  ConstTensorView reduced_view = w;
  kept_view.rank = 0;
  reduced_view.rank = 0;
  for (int d = 0; d < w.rank; ++d) {
    ConstTensorView& to =
        std::find(axes.begin(), axes.end(), d) != axes.end() ? reduced_view : kept_view;
    to.shape[to.rank] = w.shape[d];
    to.strides[to.rank] = w.strides[d];
    ++to.rank;
  }
  const std::int64_t fibers = kept_view.numel();
  const std::int64_t length = reduced_view.numel();
  int team_log2 = 0;  // about 4 elements per thread, at most a block per fiber
  while ((std::int64_t{1} << team_log2) * 4 < length && (1 << team_log2) < kTrainingThreads) {
    ++team_log2;
  }
  const std::int64_t teams = kTrainingThreads >> team_log2;
  const std::int64_t blocks =
      std::clamp<std::int64_t>((fibers + teams - 1) / teams, 1, std::int64_t{1} << 12);
  const LaunchShape shape{blocks, kTrainingThreads, sizeof(double) * kTrainingThreads, false};
  dispatch_storage_type(w.dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    ConstraintKernel<S> k;
    k.w = static_cast<S*>(w.data);
    k.kept = strided_of(kept_view);
    k.reduced = strided_of(reduced_view);
    k.fibers = fibers;
    k.length = length;
    k.team_log2 = team_log2;
    k.spec = spec;
    launch_kernel(k, shape, stream);
  });
}

}  // namespace sepconv::detail
