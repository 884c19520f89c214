// The backward strategy (docs/architecture.md, "The backward"): its steps and their workspace.
//
//   dz      = dy * f'(z)                            ActivationGradStep (z from the training state)
//   D                                               kept by the training forward, or recomputed
//                                                   (DepthwiseStep into the workspace)
//   dmid    = dz Wp'^T                              GemmStep (cuBLASLt; float32 output)
//   dx      = transposed depthwise conv of dmid     DepthwiseGradStep (input)
// and when trainable:
//   dpw     = D^T dz  (+ dbias)                     GemmStep: channels_last one GEMM over every
//                                                   (batch, step) with the BGRADB epilogue
//                                                   summing dz into the bias gradient;
//                                                   channels_first one GEMM per batch (strided
//                                                   batch), D's ones row giving each batch's bias
//                                                   gradient as one more row of the result
//   ddw     per chunk of (batch, step) pairs         DepthwiseGradStep (weights)
//   the caller's gradients                          ReduceSteps: the chunks' and batches' sums,
//                                                   written in Keras layouts
//
// cuBLASLt is column-major. D and dmid use D's layout (channels_last [b][t][q'], channels_first
// [b][q'][t], q' = m*C + c); dz is [b][t][f] or [b][f][t] with rows padded to 8 elements. The
// packed pointwise matrix Wp' is row-major (K', F): column-major F x K' with ld F.
#include <algorithm>

#include "detail/checked_math.h"
#include "detail/message.h"
#include "plan/plan.h"

namespace sepconv::detail {
namespace {

std::int64_t round_up(std::int64_t a, std::int64_t b) { return (a + b - 1) / b * b; }
std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
int log2_ceil(std::int64_t v) {
  int l = 0;
  while ((std::int64_t{1} << l) < v) ++l;
  return l;
}

// Appends a workspace slice after the others.
void add_slice(Plan& plan, Buffer b, std::int64_t bytes) {
  plan.workspace.push_back({b, plan.workspace_bytes(), round_up(bytes, 256)});
}

// A cuBLASLt dimension: "usually only values that can be expressed as int32_t are supported".
void check_gemm_dimension(std::int64_t v, const char* what) {
  if (v > 2147483647) {
    fail("x", str(v, " ", what, " in one backward GEMM"),
          "at most 2^31-1: run the backward on smaller batches");
  }
}

// Threads per group of a reduction over `count` values: enough lanes to share a long sum, one
// for short ones (then a CTA takes 256 outputs).
int lanes_for(std::int64_t count) { return std::min(log2_ceil(std::max<std::int64_t>(count, 1)), 8); }

ReducePlan reduce_plan(DType in, std::array<std::int64_t, 3> extent,
                       std::array<std::int64_t, 3> in_stride, std::array<std::int64_t, 3> out_stride,
                       std::int64_t in_offset, std::int64_t r_count, std::int64_t r_stride,
                       std::int64_t u_count, std::int64_t u_stride, const DeviceLimits& limits) {
  ReducePlan p;
  p.in_dtype = in;
  for (int i = 0; i < 3; ++i) {
    p.extent[i] = extent[i];
    p.in_stride[i] = in_stride[i];
    p.out_stride[i] = out_stride[i];
  }
  p.in_offset = in_offset;
  p.r_count = r_count;
  p.r_stride = r_stride;
  p.u_count = u_count;
  p.u_stride = u_stride;
  p.lanes_log2 = lanes_for(r_count * u_count);
  const std::int64_t groups = std::int64_t{256} >> p.lanes_log2;
  p.grid = std::min(ceil_div(p.elements(), groups), limits.max_grid_x);
  return p;
}

}  // namespace

void plan_backward(const PlanRequest& r, const DeviceLimits& limits, Plan& plan) {
  const LayerConfig& c = r.config;
  const ProblemShape& sh = r.shape;
  const bool last = c.data_format == DataFormat::channels_last;
  const std::int64_t B = sh.batch, L = sh.length, C = sh.in_channels, M = c.depth_multiplier;
  const std::int64_t F = c.filters, k = c.kernel_size, lout = sh.geometry.out_length;
  const std::int64_t K = checked_mul(C, M, "depth_multiplier");
  const std::int64_t pairs = checked_mul(B, lout, "x");  // (batch, step) pairs
  // The GEMMs' input type: D's (the layer's dtype, or float32 with a float32 intermediate).
  const DType g = plan.float32_intermediate() ? DType::f32 : r.precision.dtype;
  const auto eg = static_cast<std::int64_t>(dtype_size(g));
  constexpr auto e32 = static_cast<std::int64_t>(sizeof(float));
  if (B == 0) {
    // No input to differentiate; the weight gradients are sums over no terms: zeros.
    if (!r.trainable) return;
    const auto* gdw = r.grad_depthwise_strides;
    const auto* gpw = r.grad_pointwise_strides;
    plan.steps.emplace_back(ReduceStep{
        reduce_plan(DType::f32, {M, k, C}, {0, 0, 0}, {gdw[2], gdw[0], gdw[1]}, 0, 0, 0, 1, 0,
                    limits),
        Buffer::none, Buffer::grad_depthwise});
    plan.steps.emplace_back(ReduceStep{
        reduce_plan(DType::f32, {M, C, F}, {0, 0, 0}, {gpw[1], M * gpw[1], gpw[2]}, 0, 0, 0, 1, 0,
                    limits),
        Buffer::none, Buffer::grad_pointwise});
    if (c.use_bias) {
      plan.steps.emplace_back(ReduceStep{reduce_plan(DType::f32, {1, 1, F}, {0, 0, 0},
                                                     {0, 0, r.grad_bias_stride}, 0, 0, 0, 1, 0,
                                                     limits),
                                         Buffer::none, Buffer::grad_bias});
    }
    return;
  }

  // ---- dz = dLoss/dz: [b][t][f] (rows of F padded to 8) or [b][f][t] (rows of Lout) ----
  ActivationGradStep act;
  ActivationGradPlan& a = act.plan;
  a.dy_dtype = r.precision.dtype;
  a.dz_dtype = g;
  a.has_z = c.activation != Activation::linear;
  a.activation = c.activation;
  a.format = c.data_format;
  a.batch = B;
  a.steps = lout;
  a.filters = F;
  a.dy_batch_stride = r.dy_strides[0];
  a.dy_row_stride = r.dy_strides[1];
  a.z_batch_stride = lout * F;
  a.z_row_stride = last ? F : lout;
  const std::int64_t dz_ld = round_up(last ? F : lout, 8);
  a.dz_row_stride = dz_ld;
  a.dz_batch_stride = checked_mul(last ? lout : F, dz_ld, "x");
  if (a.has_z) {  // the state's first slice, as the training forward lays it out
    plan.state.push_back({Buffer::saved_z, 0, round_up(checked_mul(pairs * F, eg, "x"), 256)});
  }
  add_slice(plan, Buffer::dz, checked_mul(checked_mul(B, a.dz_batch_stride, "x"), eg, "x"));
  plan.steps.emplace_back(act);

  // ---- D: kept by the training forward, or recomputed here (the forward's depthwise step) ----
  DepthwisePlan d;  // D's layout (the depthwise step's, for the whole problem)
  const Buffer d_buffer = r.keep_d ? Buffer::saved_d : Buffer::d;
  if (r.trainable) {
    const std::size_t first_new = plan.steps.size();
    plan_depthwise(r, limits, plan);
    d = std::get<DepthwiseStep>(plan.steps[first_new]).plan;
    if (r.keep_d) {  // the training forward wrote it: no step, its slice in the state
      move_to_state(plan, Buffer::d, Buffer::saved_d);
      plan.steps.erase(plan.steps.begin() + static_cast<std::ptrdiff_t>(first_new));
    }
  }

  // ---- dmid = dLoss/dD, float32, D's layout without the ones row ----
  const std::int64_t dmid_ld = round_up(last ? K : lout, 8);
  const std::int64_t dmid_batch = checked_mul(last ? lout : K, dmid_ld, "x");
  add_slice(plan, Buffer::dmid, checked_mul(checked_mul(B, dmid_batch, "x"), e32, "x"));
  GemmStep dmid;
  GemmPlan& gm = dmid.plan;
  gm.dtype = g;
  gm.float32_output = g != DType::f32;
  gm.math = g == DType::f32 ? r.precision.math : MathMode::exact;
  gm.k = F;
  if (last) {
    // dmid (K x N) = Wp'^T (K x F) dz (F x N), N = B * Lout: A = Wp' stored F x K' (ld F),
    // transposed; B = dz stored F x N (ld dz_ld); C = dmid (ld dmid_ld).
    gm.m = K;
    gm.n = pairs;
    gm.trans_a = true;
    gm.lda = F;
    gm.ldb = dz_ld;
    gm.ldc = dmid_ld;
    dmid.a = Buffer::pointwise_weights;
    dmid.b = Buffer::dz;
  } else {
    // dmid[b] (Lout x K) = dz[b] (Lout x F) Wp' (F x K): A = dz[b] (ld dz_ld), B = Wp' stored
    // F x K' (ld F, every batch), C = dmid[b] (ld dmid_ld).
    gm.m = lout;
    gm.n = K;
    gm.lda = dz_ld;
    gm.ldb = F;
    gm.ldc = dmid_ld;
    gm.batch_count = B;
    gm.stride_a = B > 1 ? a.dz_batch_stride : 0;
    gm.stride_c = B > 1 ? dmid_batch : 0;
    gm.a_is_weights = false;
    dmid.a = Buffer::dz;
    dmid.b = Buffer::pointwise_weights;
  }
  gm.align_a = alignment_of(256, static_cast<std::uint64_t>(gm.stride_a * eg));
  gm.align_c = alignment_of(256, static_cast<std::uint64_t>(gm.stride_c * e32));
  dmid.c = Buffer::dmid;
  check_gemm_dimension(std::max({gm.m, gm.n, gm.batch_count}), "rows, columns or batches");
  plan.steps.emplace_back(dmid);

  // ---- dx: the transposed depthwise convolution ----
  DepthwiseGradStep dxs;
  DepthwiseGradPlan& x = dxs.plan;
  x.kind = DepthwiseGradPlan::Kind::input;
  x.dtype = r.precision.dtype;
  x.format = c.data_format;
  x.batch = B;
  x.length = L;
  x.in_channels = C;
  x.depth_multiplier = M;
  x.kernel_size = k;
  x.strides = c.strides;
  x.dilation_rate = c.dilation_rate;
  x.pad_left = sh.geometry.pad.left;
  x.out_length = lout;
  x.x_batch_stride = r.dx_strides[0];
  x.x_time_stride = last ? r.dx_strides[1] : r.dx_strides[2];
  x.x_channel_stride = last ? r.dx_strides[2] : r.dx_strides[1];
  x.dmid_ld = dmid_ld;
  x.dmid_batch_stride = dmid_batch;
  x.blocks = ceil_div(checked_mul(checked_mul(B, L, "x"), C, "x"), 256);
  x.grid = std::min(x.blocks, limits.max_grid_x);
  plan.steps.emplace_back(dxs);
  if (!r.trainable) return;

  // ---- the pointwise gradient (and the bias gradient) ----
  const bool bias = c.use_bias;
  const bool ones_row = d.ones_row;  // channels_first with a bias: D's row K holds ones
  const std::int64_t rows = K + (ones_row ? 1 : 0);  // rows of the result: q' (and the bias)
  GemmStep gp;
  GemmPlan& gw = gp.plan;
  gw.dtype = g;
  gw.float32_output = g != DType::f32;
  gw.math = gm.math;
  gw.m = rows;
  gw.n = F;
  gw.ldc = rows;
  gp.c = Buffer::dpw_partial;
  if (last) {
    // dpw (K x F) = D (K x N) dz^T (N x F): A = D (ld d_ld), B = dz stored F x N, transposed.
    // BGRADB sums op(B)'s columns over k: dbias[f] = sum over (b, t) of dz.
    gw.k = pairs;
    gw.lda = d.d_ld;
    gw.trans_b = true;
    gw.ldb = dz_ld;
    gp.a = d_buffer;
    gp.b = Buffer::dz;
    if (bias && !r.no_bias_gradient_epilogue) {
      gw.epilogue = GemmEpilogue::bias_gradient_b;
      gp.bias_gradient = Buffer::dbias_partial;
    }
    add_slice(plan, Buffer::dpw_partial, checked_mul(rows * F, e32, "filters"));
  } else {
    // dpw[b] (K' x F) = D[b]^T (K' x Lout) dz[b] (Lout x F), per batch: A = D[b] stored
    // Lout x K' (ld d_ld), transposed; B = dz[b] (ld dz_ld). Row K of the result is D's ones row
    // times dz: the batch's bias gradient.
    gw.k = lout;
    gw.trans_a = true;
    gw.lda = d.d_ld;
    gw.ldb = dz_ld;
    gw.batch_count = B;
    gw.stride_a = B > 1 ? d.d_batch_stride : 0;
    gw.stride_b = B > 1 ? a.dz_batch_stride : 0;
    gw.stride_c = B > 1 ? rows * F : 0;
    gw.a_is_weights = false;
    gp.a = d_buffer;
    gp.b = Buffer::dz;
    add_slice(plan, Buffer::dpw_partial, checked_mul(checked_mul(B, rows * F, "x"), e32, "x"));
  }
  gw.align_a = alignment_of(256, static_cast<std::uint64_t>(gw.stride_a * eg));
  gw.align_b = alignment_of(256, static_cast<std::uint64_t>(gw.stride_b * eg));
  gw.align_c = alignment_of(256, static_cast<std::uint64_t>(gw.stride_c * e32));
  if (gp.bias_gradient != Buffer::none) add_slice(plan, Buffer::dbias_partial, F * e32);
  check_gemm_dimension(std::max({gw.k, gw.batch_count}), "summed (batch, step) pairs or batches");
  plan.steps.emplace_back(gp);

  // ---- the depthwise gradient: chunk sums of dmid * x ----
  DepthwiseGradStep ws;
  DepthwiseGradPlan& w = ws.plan;
  w = x;
  w.kind = DepthwiseGradPlan::Kind::weights;
  w.x_batch_stride = r.x_strides[0];
  w.x_time_stride = last ? r.x_strides[1] : r.x_strides[2];
  w.x_channel_stride = last ? r.x_strides[2] : r.x_strides[1];
  const std::int64_t outputs = checked_mul(k, K, "kernel_size");
  // channels_last: a thread per (m, j, c), consecutive threads on consecutive channels;
  // channels_first: 32 lanes per output along consecutive steps.
  w.lanes_log2 = last ? 0 : 5;
  const std::int64_t groups = std::int64_t{256} >> w.lanes_log2;
  w.output_groups = ceil_div(outputs, groups);
  // Enough chunks of pairs for about four CTAs per SM, each chunk at least 32 pairs.
  const std::int64_t target = 4 * limits.multiprocessors;
  const std::int64_t chunks = std::clamp<std::int64_t>(ceil_div(target, w.output_groups), 1,
                                                       std::max<std::int64_t>(pairs / 32, 1));
  w.chunk_pairs = ceil_div(pairs, chunks);
  w.chunks = ceil_div(pairs, w.chunk_pairs);
  w.blocks = checked_mul(w.chunks, w.output_groups, "x");
  w.grid = std::min(w.blocks, limits.max_grid_x);
  add_slice(plan, Buffer::ddw_partial, checked_mul(checked_mul(w.chunks, outputs, "x"), e32, "x"));
  plan.steps.emplace_back(ws);

  // ---- the caller's gradients, in Keras layouts ----
  // ddw_partial[chunk][m][j][c] summed over the chunks into (k, C, M): element (m, j, c).
  const auto* gdw = r.grad_depthwise_strides;
  plan.steps.emplace_back(ReduceStep{
      reduce_plan(DType::f32, {M, k, C}, {k * C, C, 1}, {gdw[2], gdw[0], gdw[1]}, 0, w.chunks,
                  outputs, 1, 0, limits),
      Buffer::ddw_partial, Buffer::grad_depthwise});
  // dpw (K' x F, per batch for channels_first), element (q' = m*C + c, f) at f*K' + q', into
  // (1, C*M, F) at row c*M + m: element (m, c, f).
  const auto* gpw = r.grad_pointwise_strides;
  const std::int64_t batches = last ? 1 : B;
  plan.steps.emplace_back(ReduceStep{
      reduce_plan(DType::f32, {M, C, F}, {C, 1, rows}, {gpw[1], M * gpw[1], gpw[2]}, 0, batches,
                  rows * F, 1, 0, limits),
      Buffer::dpw_partial, Buffer::grad_pointwise});
  if (!bias) return;
  const std::int64_t gb = r.grad_bias_stride;
  if (ones_row) {  // row K of each batch's result
    plan.steps.emplace_back(ReduceStep{reduce_plan(DType::f32, {1, 1, F}, {0, 0, rows},
                                                   {0, 0, gb}, K, B, rows * F, 1, 0, limits),
                                       Buffer::dpw_partial, Buffer::grad_bias});
  } else if (gp.bias_gradient != Buffer::none) {  // the BGRADB epilogue's sums
    plan.steps.emplace_back(ReduceStep{
        reduce_plan(DType::f32, {1, 1, F}, {0, 0, 1}, {0, 0, gb}, 0, 1, 0, 1, 0, limits),
        Buffer::dbias_partial, Buffer::grad_bias});
  } else {  // channels_last without the epilogue: dz's columns summed over every (batch, step)
    plan.steps.emplace_back(ReduceStep{
        reduce_plan(g, {1, 1, F}, {0, 0, 1}, {0, 0, gb}, 0, pairs, dz_ld, 1, 0, limits),
        Buffer::dz, Buffer::grad_bias});
  }
}

}  // namespace sepconv::detail
