// The pointwise GEMM in cuBLASLt's column-major terms, and the passes after it.
#include "detail/activations.h"
#include "detail/message.h"
#include "plan/plan.h"

namespace sepconv::detail {
namespace {

/// What follows the products, decided in one place: what cuBLASLt's epilogue applies, then an
/// elementwise pass (the bias where the GEMM cannot add it, the activation where the epilogue
/// cannot, a copy out of a scratch), then a row pass (softmax / log_softmax).
struct EpilogueDecision {
  GemmEpilogue gemm_epilogue = GemmEpilogue::none;
  bool elementwise = false;
  Activation elementwise_activation = Activation::linear;
  bool add_bias = false;
  bool row_reduction = false;
};

EpilogueDecision decide_epilogue(Activation activation, BiasMode bias, bool scratch) {
  const ActivationInfo& a = activation_info(activation);
  EpilogueDecision d;
  d.row_reduction = a.row_reduction;
  d.add_bias = bias == BiasMode::elementwise;
  // cuBLASLt applies what it can (its bias before its relu); into a scratch the GEMM adds only
  // the bias, the pass that writes y applies the activation.
  const bool bias_in_gemm = bias == BiasMode::gemm_epilogue;
  const bool relu_in_gemm = a.gemm_relu && !scratch && !d.add_bias;
  d.gemm_epilogue = relu_in_gemm ? (bias_in_gemm ? GemmEpilogue::relu_bias : GemmEpilogue::relu)
                                 : (bias_in_gemm ? GemmEpilogue::bias : GemmEpilogue::none);
  const bool activation_left = !a.row_reduction && activation != Activation::linear &&
                               !relu_in_gemm;
  // (A row pass reads a scratch itself: no copy before it.)
  d.elementwise = d.add_bias || activation_left || (scratch && !a.row_reduction);
  d.elementwise_activation = activation_left ? activation : Activation::linear;
  return d;
}

}  // namespace

void plan_pointwise(const PlanRequest& r, Plan& plan) {
  const LayerConfig& c = r.config;
  const DepthwisePlan& dw = plan.depthwise();
  const LaunchWindow& w = plan.window;
  GemmStep step;
  GemmPlan& g = step.plan;
  const std::int64_t cm = dw.in_channels * dw.depth_multiplier;
  const bool ones = plan.bias == BiasMode::ones_row;
  const bool last = c.data_format == DataFormat::channels_last;
  // The GEMM computes in D's type. With a float32 intermediate (a 16-bit layer) it reads float32
  // D and weights and writes float32 into the scratch Z, laid out like y's window but
  // contiguous; a final pass rounds Z into y. When cuBLASLt has no algorithm for y itself, it
  // writes Z in y's type and the pass copies it. Otherwise it writes y in place.
  const bool scratch = plan.float32_intermediate() || r.gemm_to_scratch;
  g.dtype = dw.d_dtype;
  g.math = g.dtype == DType::f32 ? r.precision.math : MathMode::exact;
  g.k = cm + (ones ? 1 : 0);
  g.align_bias = r.bias_align;
  const auto e = static_cast<std::uint64_t>(dtype_size(g.dtype));
  const std::int64_t window_elements = w.batch_count * w.time_count * c.filters;
  if (scratch) {
    const WorkspaceSlice& d = plan.workspace.back();
    plan.workspace.push_back({Buffer::z, d.offset + d.bytes,
                              (window_elements * static_cast<std::int64_t>(e) + 255) / 256 * 256});
  }
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

  const EpilogueDecision decision = decide_epilogue(c.activation, plan.bias, scratch);
  g.epilogue = decision.gemm_epilogue;
  step.a = g.a_is_weights ? Buffer::pointwise_weights : Buffer::d;
  step.b = g.a_is_weights ? Buffer::d : Buffer::pointwise_weights;
  step.c = scratch ? Buffer::z : Buffer::y;
  plan.steps.emplace_back(std::move(step));
  if (!decision.elementwise && !decision.row_reduction) return;

  EpilogueStep pass;
  pass.source = scratch ? Buffer::z : Buffer::y;
  EpiloguePlan& ep = pass.plan;
  ep.dtype = r.precision.dtype;
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
  ep.elementwise = decision.elementwise;
  ep.elementwise_activation = decision.elementwise_activation;
  ep.add_bias = decision.add_bias;
  ep.row_reduction = decision.row_reduction;
  ep.row_activation = decision.row_reduction ? c.activation : Activation::softmax;
  plan.steps.emplace_back(std::move(pass));
}

}  // namespace sepconv::detail
