// The epilogue passes on the host, with the kernels' own per-element and per-row functions.
#include "cuda/epilogue.h"
#include "cuda/epilogue_rows.cuh"

namespace sepconv::detail {

void apply_epilogue_host(const EpiloguePlan& plan, void* y, void* source, const void* bias) {
  const RowLayout rows = row_layout(plan);
  const RowLayout src_rows = source_row_layout(plan);
  dispatch_pass_types(plan, [&](auto in_tag, auto out_tag) {
    using In = typename decltype(in_tag)::type;
    using Out = typename decltype(out_tag)::type;
    Out* const out = static_cast<Out*>(y);
    // In place on y, or from the scratch Z (which an elementwise pass followed by a row pass
    // updates in place first).
    In* const in = plan.separate_source ? static_cast<In*>(source) : reinterpret_cast<In*>(out);
    const In* const b = plan.add_bias ? static_cast<const In*>(bias) : nullptr;
    if (plan.elementwise) {
      dispatch_activation(elementwise_activation(plan), [&](auto act) {
        for (std::int64_t r = 0; r < rows.count(); ++r) {
          const In* const from = in + src_rows.offset(r);
          const RowBias<In> row_bias(b, rows, rows.row_in_batch(r));
          if (plan.row_reduction) {  // the row pass follows: update the source in place
            elementwise_row(act, from, in + src_rows.offset(r), row_bias, rows.length, 0, 1);
          } else {
            elementwise_row(act, from, out + rows.offset(r), row_bias, rows.length, 0, 1);
          }
        }
      });
    }
    if (plan.row_reduction) {
      const bool log = plan.activation == Activation::log_softmax;
      for (std::int64_t r = 0; r < rows.count(); ++r) {
        const In* const from = in + src_rows.offset(r);
        Out* const to = out + rows.offset(r);
        const float max = row_partial_max(from, rows.length, 0, 1);
        const float sum = row_partial_sum(from, rows.length, max, 0, 1);
        if (log) {
          row_write<In, Out, true>(from, to, rows.length, max, row_denominator<true>(sum), 0, 1);
        } else {
          row_write<In, Out, false>(from, to, rows.length, max, row_denominator<false>(sum), 0, 1);
        }
      }
    }
  });
}

}  // namespace sepconv::detail
