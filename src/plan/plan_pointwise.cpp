// The pointwise GEMM in cuBLASLt's column-major terms, and the passes after it.
#include "detail/checks.h"
#include "plan/plan.h"

namespace sepconv::detail {

void plan_pointwise(const PlanRequest& r, Plan& plan) {
  const LayerConfig& c = r.config;
  const DepthwisePlan& dw = plan.depthwise;
  const LaunchWindow& w = plan.window;
  GemmPlan& g = plan.gemm;
  const std::int64_t cm = dw.channels * dw.multiplier;
  const bool ones = plan.bias == BiasMode::ones_row;
  const bool last = c.data_format == DataFormat::channels_last;
  // The GEMM computes in D's type. With a float32 intermediate (a 16-bit layer) it reads float32
  // D and weights and writes float32 into the scratch Z, laid out like y's window but
  // contiguous; a final pass rounds Z into y. When cuBLASLt has no algorithm for y itself, it
  // writes Z in y's type and the pass copies it. Otherwise it writes y in place.
  const bool scratch = plan.float32_intermediate || r.gemm_to_scratch;
  g.dtype = dw.d_dtype;
  g.math = g.dtype == DType::f32 ? r.math : MathMode::exact;
  g.k = cm + (ones ? 1 : 0);
  g.align_bias = r.bias_align;
  const auto e = static_cast<std::uint64_t>(dtype_size(g.dtype));
  const std::int64_t window_elements = w.batch_count * w.time_count * c.filters;
  plan.z_bytes = scratch ? (window_elements * static_cast<std::int64_t>(e) + 255) / 256 * 256 : 0;
  // Output batch stride and row stride (time stride for channels_last, filter stride for
  // channels_first) and the output's alignment: y's, or Z's.
  const std::int64_t y_batch =
      scratch ? w.time_count * c.filters : r.y_strides[0];
  const std::int64_t y_row = scratch ? (last ? c.filters : w.time_count) : r.y_strides[1];
  const int y_align = scratch ? 256 : r.y_align;

  if (last) {
    // Y(F x N) = Wp'(F x K) * D(K x N): A = Wp' (row-major (K, F) is column-major F x K, lda F),
    // B = D (column-major K x steps, ldb = d_ld), C = y (ldc = y's time stride).
    g.a_is_weights = true;
    g.m = c.filters;
    g.lda = c.filters;
    g.ldb = dw.d_ld;
    g.ldc = y_row;
    g.align_a = 256;
    if (w.time_count == 1) {
      // One step per batch: the columns are the batches (D's batch stride is d_ld). y's time
      // stride means nothing here and may be anything a view allows (even 0), so it must not
      // become ldc: cuBLASLt needs ldc >= m.
      g.n = w.batch_count;
      g.batch_count = 1;
      g.ldc = w.batch_count > 1 ? y_batch : c.filters;
    } else if (w.batch_count <= 1 || y_batch == w.time_count * y_row) {
      // One GEMM over every step of every batch: y's batches follow one another.
      g.n = w.batch_count * w.time_count;
      g.batch_count = 1;
    } else {
      // Strided-batched fallback for other output views.
      g.n = w.time_count;
      g.batch_count = w.batch_count;
      g.stride_b = dw.d_batch_stride;
      g.stride_c = y_batch;
    }
    g.align_b = alignment_of(256, g.stride_b * e);
    g.align_c = alignment_of(static_cast<std::uint64_t>(y_align), g.stride_c * e);
  } else {
    // Y[b](T x F) = D[b](T x K) * Wp'(K x F): A = D[b] (column-major T x K, lda = d_ld),
    // B = Wp' seen as column-major F x K (ldb = F) transposed, shared by every batch (stride 0),
    // C = y[b] (column-major T x F, ldc = y's filter stride).
    g.a_is_weights = false;
    g.m = w.time_count;
    g.n = c.filters;
    g.lda = dw.d_ld;
    g.trans_b = true;
    g.ldb = c.filters;
    // With one filter y's filter stride means nothing (a view may give any value): ldc = m.
    g.ldc = c.filters > 1 ? y_row : w.time_count;
    g.batch_count = w.batch_count;
    g.stride_a = w.batch_count > 1 ? dw.d_batch_stride : 0;
    g.stride_b = 0;
    g.stride_c = w.batch_count > 1 ? y_batch : 0;
    g.align_a = alignment_of(256, g.stride_a * e);
    g.align_b = 256;
    g.align_c = alignment_of(static_cast<std::uint64_t>(y_align), g.stride_c * e);
  }
  if (g.batch_count > 2147483647) {
    fail("x", str(g.batch_count, " batches in one strided-batched GEMM"),
         "at most 2^31-1: process the batch in chunks");
  }

  // What the GEMM's epilogue takes, and what a pass after it must do. Into a scratch the GEMM
  // adds only the bias and one pass (elementwise, or the row pass) writes y.
  const bool relu = c.activation == Activation::relu && !scratch;
  const bool bias_in_gemm = plan.bias == BiasMode::gemm_epilogue;
  g.epilogue = relu ? (bias_in_gemm ? GemmEpilogue::relu_bias : GemmEpilogue::relu)
                    : (bias_in_gemm ? GemmEpilogue::bias : GemmEpilogue::none);
  EpiloguePlan& ep = plan.epilogue;
  ep.dtype = r.dtype;
  ep.activation = c.activation;
  ep.format = c.data_format;
  ep.batch = w.batch_count;
  ep.steps = w.time_count;
  ep.filters = c.filters;
  ep.y_batch_stride = r.y_strides[0];
  ep.y_row_stride = r.y_strides[1];
  ep.separate_source = scratch;
  ep.src_dtype = g.dtype;
  ep.src_batch_stride = y_batch;
  ep.src_row_stride = y_row;
  ep.add_bias = plan.bias == BiasMode::elementwise;
  ep.row_reduction = is_row_reduction(c.activation);
  if (ep.row_reduction && c.data_format == DataFormat::channels_first &&
      w.time_count != plan.geometry.out_length) {
    // softmax / log_softmax of a channels_first layer reduce along time: a launch that splits
    // the time axis would normalise each piece on its own.
    fail("window", str("output steps [", w.time_begin, ", +", w.time_count, ")"),
         str("all ", plan.geometry.out_length, " output steps: ", to_string(c.activation),
             " of a channels_first layer reduces along time"));
  }
  if (ep.add_bias && relu) {  // the bias must come before the relu: the pass does both
    g.epilogue = GemmEpilogue::none;
  }
  ep.elementwise = !ep.row_reduction &&
                   (scratch || ep.add_bias ||
                    (c.activation != Activation::linear && g.epilogue != GemmEpilogue::relu &&
                     g.epilogue != GemmEpilogue::relu_bias));
  if (ep.row_reduction && ep.add_bias) ep.elementwise = true;  // bias first, then the rows
}

}  // namespace sepconv::detail
