// The epilogue passes on the host, with the kernels' own per-element and per-row functions.
#include "cuda/epilogue.h"
#include "cuda/epilogue_rows.cuh"

namespace sepconv::detail {

void apply_epilogue_host(const EpiloguePlan& plan, void* y, const void* bias) {
  const RowLayout rows = row_layout(plan);
  dispatch_storage(plan.dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    S* const out = static_cast<S*>(y);
    const S* const b = plan.add_bias ? static_cast<const S*>(bias) : nullptr;
    if (plan.elementwise) {
      dispatch_activation(elementwise_activation(plan), [&](auto act) {
        for (std::int64_t r = 0; r < rows.count(); ++r) {
          elementwise_row(act, out + rows.offset(r), RowBias<S>(b, rows, rows.row_in_batch(r)),
                          rows.length, 0, 1);
        }
      });
    }
    if (plan.row_reduction) {
      const bool log = plan.activation == Activation::log_softmax;
      for (std::int64_t r = 0; r < rows.count(); ++r) {
        S* const row = out + rows.offset(r);
        const float max = row_partial_max(row, rows.length, 0, 1);
        const float sum = row_partial_sum(row, rows.length, max, 0, 1);
        if (log) {
          row_write<S, true>(row, rows.length, max, row_denominator<true>(sum), 0, 1);
        } else {
          row_write<S, false>(row, rows.length, max, row_denominator<false>(sum), 0, 1);
        }
      }
    }
  });
}

}  // namespace sepconv::detail
