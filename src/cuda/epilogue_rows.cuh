// The per-element and per-row math of the passes after the pointwise GEMM, shared by the CUDA
// kernels (epilogue.cu) and their host emulation (epilogue_host.cpp), so the CPU tests prove the
// very code the GPU runs. Everything is computed in float, whatever the storage type.
//
// y is seen as rows along its last, unit-stride axis: channels_last rows are the steps of a batch
// (row length = filters, the bias runs along the row); channels_first rows are the filters of a
// batch (row length = steps, the bias is constant along a row). softmax / log_softmax reduce along
// exactly these rows, as Keras does (the time axis for channels_first).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>

#include "cuda/activation.cuh"
#include "cuda/common.cuh"
#include "host/plan.h"

namespace sepconv::detail {

// ---- the rows of y ---------------------------------------------------------------------------

/// y as `batch * rows` rows of `length` unit-stride elements.
struct RowLayout {
  std::int64_t batch = 0;
  std::int64_t rows = 0;    ///< rows per batch: steps (channels_last) or filters (channels_first)
  std::int64_t length = 0;  ///< elements per row: filters (channels_last) or steps
  std::int64_t batch_stride = 0;
  std::int64_t row_stride = 0;
  bool bias_along_row = true;  ///< channels_last: bias[i] for element i; else bias[row]

  SEPCONV_HOST_DEVICE std::int64_t count() const { return batch * rows; }
  SEPCONV_HOST_DEVICE std::int64_t row_in_batch(std::int64_t row) const { return row % rows; }
  /// Offset (elements) of the first element of a row, row in [0, count()).
  SEPCONV_HOST_DEVICE std::int64_t offset(std::int64_t row) const {
    const std::int64_t b = row / rows;
    return b * batch_stride + (row - b * rows) * row_stride;
  }
};

/// The rows of the y an EpiloguePlan describes (host).
inline RowLayout row_layout(const EpiloguePlan& p) {
  const bool last = p.format == DataFormat::channels_last;
  RowLayout r;
  r.batch = p.batch;
  r.rows = last ? p.steps : p.filters;
  r.length = last ? p.filters : p.steps;
  r.batch_stride = p.y_batch_stride;
  r.row_stride = p.y_row_stride;
  r.bias_along_row = last;
  return r;
}

/// The rows of the passes' source: the float32 scratch Z when the plan has a separate source,
/// else y itself.
inline RowLayout source_row_layout(const EpiloguePlan& p) {
  RowLayout r = row_layout(p);
  if (p.separate_source) {
    r.batch_stride = p.src_batch_stride;
    r.row_stride = p.src_row_stride;
  }
  return r;
}

/// The storage type of a DType as a tag: `f(Storage<S>{})` with S = float, __half or
/// __nv_bfloat16 (host code).
template <class S>
struct Storage {
  using type = S;
};
template <class F>
decltype(auto) dispatch_storage(DType dtype, F&& f) {
  switch (dtype) {
    case DType::f16: return f(Storage<__half>{});
    case DType::bf16: return f(Storage<__nv_bfloat16>{});
    case DType::f32: break;
  }
  return f(Storage<float>{});
}

/// The (source, output) storage types of a plan's passes as tags: f(Storage<In>{},
/// Storage<Out>{}) with In = Out = y's type in place, or In = float from the scratch Z.
template <class F>
void dispatch_pass_types(const EpiloguePlan& p, F&& f) {
  dispatch_storage(p.dtype, [&](auto out) {
    if (p.separate_source) {
      f(Storage<float>{}, out);
    } else {
      f(out, out);
    }
  });
}

// ---- the elementwise pass --------------------------------------------------------------------

/// The activation the elementwise pass applies: the layer's, or `linear` when a row pass
/// (softmax / log_softmax) follows and the elementwise pass only adds the bias.
inline Activation elementwise_activation(const EpiloguePlan& p) {
  return p.row_reduction ? Activation::linear : p.activation;
}

/// One output of the elementwise pass: the activation of z + bias.
template <class Act>
SEPCONV_HOST_DEVICE float epilogue_element(Act act, float z, float bias) {
  return act(z + bias);
}

/// The bias of the elements of one row: bias[i] along a channels_last row, bias[row] for a
/// channels_first one, 0 when the pass adds no bias (bias == nullptr).
template <class S>
struct RowBias {
  const S* bias = nullptr;
  bool along_row = true;
  float row_value = 0.0f;
  SEPCONV_HOST_DEVICE RowBias(const S* b, const RowLayout& r, std::int64_t row_in_batch)
      : bias(b), along_row(r.bias_along_row) {
    if (bias != nullptr && !along_row) row_value = to_float(bias[row_in_batch]);
  }
  SEPCONV_HOST_DEVICE float at(std::int64_t i) const {
    return bias != nullptr && along_row ? to_float(bias[i]) : row_value;
  }
};

/// The elementwise pass over elements first, first + step, ... < length of one row (the host
/// takes every element, a kernel's thread every step-th), from `in` (the source: y itself, or
/// the float32 scratch Z) to `out`.
template <class In, class Out, class Act>
SEPCONV_HOST_DEVICE void elementwise_row(Act act, const In* in, Out* out, const RowBias<In>& bias,
                                         std::int64_t length, std::int64_t first,
                                         std::int64_t step) {
  for (std::int64_t i = first; i < length; i += step) {
    out[i] = from_float<Out>(epilogue_element(act, to_float(in[i]), bias.at(i)));
  }
}

// ---- the row pass: softmax / log_softmax -----------------------------------------------------

/// The running maximum of a row (NaN-ignoring like cuda::maximum: a < b ? b : a).
SEPCONV_HOST_DEVICE inline float row_max(float a, float b) { return a < b ? b : a; }

/// The term of the row's sum: e^(x - max), at most 1.
SEPCONV_HOST_DEVICE inline float row_term(float x, float max) { return math::exp(x - max); }

/// A compensated (Kahan) float sum of the positive row terms: one thread's share of a row of
/// up to millions of elements keeps about one float rounding instead of n of them.
struct RowSum {
  float sum = 0.0f;
  float carry = 0.0f;
  SEPCONV_HOST_DEVICE void add(float v) {
    const float y = v - carry;
    const float t = sum + y;
    carry = (t - sum) - y;
    sum = t;
  }
};

/// What every output of a row is computed with, from the row's sum of terms: the sum itself for
/// softmax, its logarithm for log_softmax.
template <bool Log>
SEPCONV_HOST_DEVICE float row_denominator(float sum) {
  return Log ? math::log(sum) : sum;
}

/// One output of the row pass: e^(x - max) / sum (softmax) or (x - max) - log(sum) (log_softmax).
template <bool Log>
SEPCONV_HOST_DEVICE float row_output(float x, float max, float denominator) {
  return Log ? (x - max) - denominator : math::exp(x - max) / denominator;
}

// The three phases of a row, each over elements first, first + step, ... < length; a kernel
// combines the threads' partial results between phases (block reductions), the host runs each
// phase once with first 0 and step 1.

/// Phase 1: the maximum of this share of the row (-inf for an empty share).
template <class S>
SEPCONV_HOST_DEVICE float row_partial_max(const S* row, std::int64_t length, std::int64_t first,
                                          std::int64_t step) {
  float m = -INFINITY;
  for (std::int64_t i = first; i < length; i += step) m = row_max(m, to_float(row[i]));
  return m;
}

/// Phase 2: the compensated sum of this share's terms e^(x - max).
template <class S>
SEPCONV_HOST_DEVICE float row_partial_sum(const S* row, std::int64_t length, float max,
                                          std::int64_t first, std::int64_t step) {
  RowSum s;
  for (std::int64_t i = first; i < length; i += step) s.add(row_term(to_float(row[i]), max));
  return s.sum;
}

/// Phase 3: the outputs of this share, from `in` to `out` (the same row when in place).
template <class In, class Out, bool Log>
SEPCONV_HOST_DEVICE void row_write(const In* in, Out* out, std::int64_t length, float max,
                                   float denominator, std::int64_t first, std::int64_t step) {
  for (std::int64_t i = first; i < length; i += step) {
    out[i] = from_float<Out>(row_output<Log>(to_float(in[i]), max, denominator));
  }
}

}  // namespace sepconv::detail
