// The passes after the pointwise GEMM as kernels (cuda/launch.h): an elementwise pass (bias +
// activation) and a row pass (softmax / log_softmax along y's last axis), and the one function
// that decides their launches. epilogue.cu launches them on the GPU (or the simulated device);
// epilogue_host.cpp runs the very same launches on the host through checked memory for the CPU
// tests. Everything is computed in float, whatever the storage type.
//
// y is seen as rows along its last, unit-stride axis: channels_last rows are the steps of a batch
// (row length = filters, the bias runs along the row); channels_first rows are the filters of a
// batch (row length = steps, the bias is constant along a row). softmax / log_softmax reduce along
// exactly these rows, as Keras does (the time axis for channels_first).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "detail/activations.h"
#include "kernels/common.cuh"
#include "kernels/launch.h"
#include "plan/steps.h"

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
/// Storage<Out>{}) with In = Out = y's type (in place, or from a scratch of y's type), or
/// In = float from a float32 scratch Z.
template <class F>
void dispatch_pass_types(const EpiloguePlan& p, F&& f) {
  dispatch_storage(p.dtype, [&](auto out) {
    if (p.separate_source && p.src_dtype != p.dtype) {
      f(Storage<float>{}, out);
    } else {
      f(out, out);
    }
  });
}

/// Threads per block of both passes.
inline constexpr int kEpilogueThreads = 256;

// ---- the elementwise pass --------------------------------------------------------------------

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
  template <class Memory>
  SEPCONV_HOST_DEVICE RowBias(const S* b, const RowLayout& r, std::int64_t row_in_batch,
                              Memory& mem)
      : bias(b), along_row(r.bias_along_row) {
    if (bias != nullptr && !along_row) row_value = to_float(mem.load_global(bias + row_in_batch));
  }
  template <class Memory>
  SEPCONV_HOST_DEVICE float at(std::int64_t i, Memory& mem) const {
    return bias != nullptr && along_row ? to_float(mem.load_global(bias + i)) : row_value;
  }
};

template <class In, class Out>
struct ElementwiseArgs {
  const In* src = nullptr;  ///< y itself (in place), or the float32 scratch Z
  RowLayout src_rows;
  Out* y = nullptr;
  RowLayout rows;
  const In* bias = nullptr;  ///< nullptr: no bias
  int lanes_log2 = 0;        ///< 2^lanes_log2 threads share a row; a block holds several rows
  bool vectorised = false;   ///< in place, and rows, strides and y allow 16-byte accesses
};

/// The elementwise pass: a group of 2^lanes_log2 threads takes a row; groups stride over the
/// rows. Vectorised rows (in place) are walked in 16-byte vectors (coalesced across the group),
/// others element by element.
template <class In, class Out, class Act>
struct ElementwiseKernel {
  struct State {};
  static constexpr int kMaxThreads = kEpilogueThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv epilogue (elementwise)";
  ElementwiseArgs<In, Out> a;

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    const std::int64_t grid = ex.grid();
    ex.phase([&](int tid, State&) { thread(cta, grid, tid, ex.memory()); });
  }

  template <class Memory>
  SEPCONV_HOST_DEVICE void thread(std::int64_t cta, std::int64_t grid, int tid, Memory& mem) const {
    const Act act{};
    const int lanes = 1 << a.lanes_log2;
    const int lane = tid & (lanes - 1);
    const std::int64_t groups = kEpilogueThreads >> a.lanes_log2;
    const std::int64_t count = a.rows.count();
    for (std::int64_t r = cta * groups + (tid >> a.lanes_log2); r < count; r += grid * groups) {
      const In* const from = a.src + a.src_rows.offset(r);
      Out* const to = a.y + a.rows.offset(r);
      const RowBias<In> bias(a.bias, a.rows, a.rows.row_in_batch(r), mem);
      if constexpr (std::is_same_v<In, Out>) {
        if (a.vectorised) {
          constexpr int kVec = 16 / static_cast<int>(sizeof(Out));
          using V = Vec<Out, kVec>;
          for (std::int64_t i = std::int64_t{lane} * kVec; i < a.rows.length;
               i += std::int64_t{lanes} * kVec) {
            V v = mem.load_global(reinterpret_cast<const V*>(to + i));
            SEPCONV_UNROLL
            for (int j = 0; j < kVec; ++j) {
              v.v[j] = from_float<Out>(epilogue_element(act, to_float(v.v[j]), bias.at(i + j, mem)));
            }
            mem.store_global(reinterpret_cast<V*>(to + i), v);
          }
          continue;
        }
      }
      for (std::int64_t i = lane; i < a.rows.length; i += lanes) {
        const float z = to_float(mem.load_global(from + i));
        mem.store_global(to + i, from_float<Out>(epilogue_element(act, z, bias.at(i, mem))));
      }
    }
  }
};

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

// The three phases of a row, each over a thread's share: elements first, first + step, ...

/// Phase 1: the maximum of this share of the row (-inf for an empty share).
template <class S, class Memory>
SEPCONV_HOST_DEVICE float row_partial_max(const S* row, std::int64_t length, std::int64_t first,
                                          std::int64_t step, Memory& mem) {
  float m = -INFINITY;
  for (std::int64_t i = first; i < length; i += step) m = row_max(m, to_float(mem.load_global(row + i)));
  return m;
}

/// Phase 2: the compensated sum of this share's terms e^(x - max).
template <class S, class Memory>
SEPCONV_HOST_DEVICE float row_partial_sum(const S* row, std::int64_t length, float max,
                                          std::int64_t first, std::int64_t step, Memory& mem) {
  RowSum s;
  for (std::int64_t i = first; i < length; i += step) {
    s.add(row_term(to_float(mem.load_global(row + i)), max));
  }
  return s.sum;
}

/// Phase 3: the outputs of this share, from `in` to `out` (the same row when in place).
template <class In, class Out, bool Log, class Memory>
SEPCONV_HOST_DEVICE void row_write(const In* in, Out* out, std::int64_t length, float max,
                                   float denominator, std::int64_t first, std::int64_t step,
                                   Memory& mem) {
  for (std::int64_t i = first; i < length; i += step) {
    const float x = to_float(mem.load_global(in + i));
    mem.store_global(out + i, from_float<Out>(row_output<Log>(x, max, denominator)));
  }
}

struct RowMax {
  SEPCONV_HOST_DEVICE float operator()(float a, float b) const { return row_max(a, b); }
};
struct RowPlus {
  SEPCONV_HOST_DEVICE float operator()(float a, float b) const { return a + b; }
};

/// Threads of the first level of a block reduction (and values of the second).
inline constexpr int kReduceLanes = 32;

/// Folds the kEpilogueThreads values of `partial` (shared memory) with `op` in a fixed order, so
/// the result is the same run to run: thread t < 32 folds partial[t], partial[t + 32], ... into
/// combined[t], then thread 0 folds combined[0..31] into *result. Barriers before, between and
/// after: every thread may read *result when it returns.
template <class Exec, class Op>
SEPCONV_HOST_DEVICE void block_reduce(Exec& ex, float* partial, float* combined, float* result,
                                      Op op) {
  auto& mem = ex.memory();
  ex.barrier();
  ex.phase([&](int t, auto&) {
    if (t >= kReduceLanes) return;
    float v = mem.load_shared(partial + t);
    for (int i = t + kReduceLanes; i < kEpilogueThreads; i += kReduceLanes) {
      v = op(v, mem.load_shared(partial + i));
    }
    mem.store_shared(combined + t, v);
  });
  ex.barrier();
  ex.phase([&](int t, auto&) {
    if (t != 0) return;
    float v = mem.load_shared(combined);
    for (int i = 1; i < kReduceLanes; ++i) v = op(v, mem.load_shared(combined + i));
    mem.store_shared(result, v);
  });
  ex.barrier();
}

/// The row pass: one CTA a row (grid-stride over rows of any length): the row's maximum, the
/// compensated sum of e^(x - max), then the outputs, each a phase of every thread's share of the
/// row with a block reduction between them. Reads the source's row (y itself or the scratch Z)
/// and writes y's.
template <class In, class Out, bool Log>
struct RowKernel {
  struct State {
    float max;
  };
  static constexpr int kMaxThreads = kEpilogueThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv epilogue (row softmax)";
  /// partial[kEpilogueThreads], combined[kReduceLanes], result.
  static constexpr std::size_t kSharedBytes = (kEpilogueThreads + kReduceLanes + 1) * sizeof(float);
  const In* src = nullptr;
  RowLayout src_rows;
  Out* y = nullptr;
  RowLayout rows;

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    auto& mem = ex.memory();
    float* const partial = reinterpret_cast<float*>(ex.smem());
    float* const combined = partial + kEpilogueThreads;
    float* const result = combined + kReduceLanes;
    const std::int64_t length = rows.length;
    constexpr std::int64_t kStep = kEpilogueThreads;
    for (std::int64_t r = cta; r < rows.count(); r += ex.grid()) {
      const In* const from = src + src_rows.offset(r);
      Out* const to = y + rows.offset(r);
      ex.phase([&](int t, State&) {
        mem.store_shared(partial + t, row_partial_max(from, length, t, kStep, mem));
      });
      block_reduce(ex, partial, combined, result, RowMax{});
      ex.phase([&](int t, State& s) {
        s.max = mem.load_shared(result);
        mem.store_shared(partial + t, row_partial_sum(from, length, s.max, t, kStep, mem));
      });
      block_reduce(ex, partial, combined, result, RowPlus{});
      ex.phase([&](int t, State& s) {
        const float denominator = row_denominator<Log>(mem.load_shared(result));
        row_write<In, Out, Log>(from, to, length, s.max, denominator, t, kStep, mem);
      });
    }
  }
};

// ---- the launches ----------------------------------------------------------------------------

inline int log2_ceil(std::int64_t v) {
  int l = 0;
  while ((std::int64_t{1} << l) < v) ++l;
  return l;
}

/// Calls `launch(kernel, shape)` for each pass `plan` asks for, in order: the elementwise pass
/// (from the source to y, or in place on the source when a row pass follows), then the row pass
/// (source to y). Pointers as launch_epilogue (epilogue.h) takes them. Host code.
template <class Launch>
void epilogue_launches(const EpiloguePlan& plan, void* y, void* source, const void* bias,
                       Launch&& launch) {
  dispatch_pass_types(plan, [&](auto in_tag, auto out_tag) {
    using In = typename decltype(in_tag)::type;
    using Out = typename decltype(out_tag)::type;
    Out* const out = static_cast<Out*>(y);
    In* const src = plan.separate_source ? static_cast<In*>(source) : reinterpret_cast<In*>(out);
    const In* const b = plan.add_bias ? static_cast<const In*>(bias) : nullptr;
    const RowLayout rows = row_layout(plan);
    const RowLayout src_rows = source_row_layout(plan);
    if (rows.count() == 0 || rows.length == 0) return;
    if (plan.elementwise) {
      auto elementwise = [&](auto* dst, const RowLayout& dst_rows) {
        using O = std::remove_pointer_t<decltype(dst)>;
        constexpr int kVec = 16 / static_cast<int>(sizeof(O));
        ElementwiseArgs<In, O> a;
        a.src = src;
        a.src_rows = src_rows;
        a.y = dst;
        a.rows = dst_rows;
        a.bias = b;
        a.vectorised = std::is_same_v<In, O> && static_cast<const void*>(src) == dst &&
                       rows.length % kVec == 0 &&
                       (rows.rows == 1 || dst_rows.row_stride % kVec == 0) &&
                       (rows.batch == 1 || dst_rows.batch_stride % kVec == 0) &&
                       reinterpret_cast<std::uintptr_t>(dst) % 16 == 0;
        const std::int64_t accesses = a.vectorised ? rows.length / kVec : rows.length;
        a.lanes_log2 = std::min(log2_ceil(accesses), log2_ceil(kEpilogueThreads));
        const std::int64_t groups = kEpilogueThreads >> a.lanes_log2;
        const LaunchShape shape{std::min((rows.count() + groups - 1) / groups, plan.max_blocks),
                                kEpilogueThreads, 0, false};
        dispatch_activation(plan.elementwise_activation, [&](auto act) {
          launch(ElementwiseKernel<In, O, decltype(act)>{a}, shape);
        });
      };
      if (plan.row_reduction && plan.separate_source) {
        elementwise(src, src_rows);  // the row pass follows and reads the source
      } else {
        elementwise(out, rows);
      }
    }
    if (plan.row_reduction) {
      const LaunchShape shape{std::min(rows.count(), plan.max_blocks), kEpilogueThreads,
                              RowKernel<In, Out, true>::kSharedBytes, false};
      if (plan.row_activation == Activation::log_softmax) {
        launch(RowKernel<In, Out, true>{src, src_rows, out, rows}, shape);
      } else {
        launch(RowKernel<In, Out, false>{src, src_rows, out, rows}, shape);
      }
    }
  });
}

}  // namespace sepconv::detail
