// The backward's first pass as kernels (kernels/launch.h): dz = dLoss/dz from dy and the kept
// pre-activation z, elementwise (dy * f'(z), the activation table's derivative, chosen at run
// time: one kernel per storage pair instead of one per activation) or along y's rows for softmax
// / log_softmax (p = softmax(z) recomputed; dz_i = row_gradient(p_i, dy_i, sum_j row_term(p_j,
// dy_j))). activation_grad.cu launches them on the GPU (or the simulated device),
// activation_grad_host.cpp runs the same launches on the host through checked memory. Computed
// in float; dz is stored in the GEMMs' type.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "detail/activations.h"
#include "kernels/common.cuh"
#include "kernels/epilogue/epilogue_kernels.cuh"
#include "kernels/launch.h"
#include "plan/steps.h"

namespace sepconv::detail {

/// The rows of dy, z and dz an ActivationGradPlan describes (host): y's last axis, as RowLayout.
inline RowLayout grad_rows(const ActivationGradPlan& p, std::int64_t batch_stride,
                           std::int64_t row_stride) {
  const bool last = p.format == DataFormat::channels_last;
  RowLayout r;
  r.batch = p.batch;
  r.rows = last ? p.steps : p.filters;
  r.length = last ? p.filters : p.steps;
  r.batch_stride = batch_stride;
  r.row_stride = row_stride;
  return r;
}

template <class TY, class TZ>
struct ActivationGradArgs {
  const TY* dy = nullptr;
  RowLayout dy_rows;
  const TZ* z = nullptr;  ///< nullptr: linear (dz = dy)
  RowLayout z_rows;
  TZ* dz = nullptr;
  RowLayout dz_rows;
  Activation activation = Activation::linear;
};

/// The elementwise form: one thread an element, grid-stride over rows x length.
template <class TY, class TZ>
struct ActivationGradKernel {
  struct State {};
  static constexpr int kMaxThreads = kEpilogueThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv backward (activation gradient)";
  ActivationGradArgs<TY, TZ> a;

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    const std::int64_t grid = ex.grid();
    ex.phase([&](int tid, State&) {
      auto& mem = ex.memory();
      const std::int64_t length = a.dz_rows.length;
      const std::int64_t total = a.dz_rows.count() * length;
      for (std::int64_t e = cta * kEpilogueThreads + tid; e < total;
           e += grid * kEpilogueThreads) {
        const std::int64_t row = e / length;
        const std::int64_t i = e - row * length;
        float g = to_float(mem.load_global(a.dy + a.dy_rows.offset(row) + i));
        if (a.z != nullptr) {
          g *= derivative_of(a.activation, to_float(mem.load_global(a.z + a.z_rows.offset(row) + i)));
        }
        mem.store_global(a.dz + a.dz_rows.offset(row) + i, from_float<TZ>(g));
      }
    });
  }
};

/// The row form (softmax, log_softmax): one CTA a row (grid-stride over rows), the row's maximum
/// of z, the compensated sum of e^(z - max), the compensated sum of row_term(p_j, dy_j), then dz,
/// each a phase of every thread's share with a fixed-order block reduction between them.
template <class TY, class TZ, Activation A>
struct ActivationGradRowKernel {
  struct State {
    float max;
    float sum;
  };
  static constexpr int kMaxThreads = kEpilogueThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "sepconv backward (row activation gradient)";
  static constexpr std::size_t kSharedBytes = RowKernel<float, float, false>::kSharedBytes;
  ActivationGradArgs<TY, TZ> a;

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    using E = ActivationEntry<A>;
    auto& mem = ex.memory();
    float* const partial = reinterpret_cast<float*>(ex.smem());
    float* const combined = partial + kEpilogueThreads;
    float* const result = combined + kReduceLanes;
    const std::int64_t length = a.dz_rows.length;
    constexpr std::int64_t kStep = kEpilogueThreads;
    for (std::int64_t r = cta; r < a.dz_rows.count(); r += ex.grid()) {
      const TZ* const z = a.z + a.z_rows.offset(r);
      const TY* const dy = a.dy + a.dy_rows.offset(r);
      TZ* const dz = a.dz + a.dz_rows.offset(r);
      ex.phase([&](int t, State&) {
        mem.store_shared(partial + t, row_partial_max(z, length, t, kStep, mem));
      });
      block_reduce(ex, partial, combined, result, RowMax{});
      ex.phase([&](int t, State& s) {
        s.max = mem.load_shared(result);
        mem.store_shared(partial + t, row_partial_sum(z, length, s.max, t, kStep, mem));
      });
      block_reduce(ex, partial, combined, result, RowPlus{});
      ex.phase([&](int t, State& s) {
        s.sum = mem.load_shared(result);
        RowSum terms;
        for (std::int64_t i = t; i < length; i += kStep) {
          const float p = row_term(to_float(mem.load_global(z + i)), s.max) / s.sum;
          terms.add(E::row_term(p, to_float(mem.load_global(dy + i))));
        }
        mem.store_shared(partial + t, terms.sum);
      });
      block_reduce(ex, partial, combined, result, RowPlus{});
      ex.phase([&](int t, State& s) {
        const float dot = mem.load_shared(result);
        for (std::int64_t i = t; i < length; i += kStep) {
          const float p = row_term(to_float(mem.load_global(z + i)), s.max) / s.sum;
          const float g = E::row_gradient(p, to_float(mem.load_global(dy + i)), dot);
          mem.store_global(dz + i, from_float<TZ>(g));
        }
      });
      ex.barrier();  // the next row's first phase reuses `partial`
    }
  }
};

/// Calls `launch(kernel, shape)` for the pass `plan` asks for. dy: the caller's dy (first
/// element), z: the kept pre-activation (ignored without has_z), dz: the workspace's. Host code.
template <class Launch>
void activation_grad_launches(const ActivationGradPlan& plan, const void* dy, const void* z,
                              void* dz, Launch&& launch) {
  const RowLayout dy_rows = grad_rows(plan, plan.dy_batch_stride, plan.dy_row_stride);
  const RowLayout z_rows = grad_rows(plan, plan.z_batch_stride, plan.z_row_stride);
  const RowLayout dz_rows = grad_rows(plan, plan.dz_batch_stride, plan.dz_row_stride);
  if (dz_rows.count() == 0 || dz_rows.length == 0) return;
  dispatch_storage(plan.dy_dtype, [&](auto dy_tag) {
    using TY = typename decltype(dy_tag)::type;
    auto with_z = [&](auto z_tag) {
      using TZ = typename decltype(z_tag)::type;
      ActivationGradArgs<TY, TZ> a{static_cast<const TY*>(dy), dy_rows,
                                   plan.has_z ? static_cast<const TZ*>(z) : nullptr, z_rows,
                                   static_cast<TZ*>(dz), dz_rows, plan.activation};
      if (plan.row_reduction()) {
        const LaunchShape shape{std::min(dz_rows.count(), plan.max_blocks), kEpilogueThreads,
                                ActivationGradRowKernel<TY, TZ, Activation::softmax>::kSharedBytes,
                                false};
        if (plan.activation == Activation::softmax) {
          launch(ActivationGradRowKernel<TY, TZ, Activation::softmax>{a}, shape);
        } else {
          launch(ActivationGradRowKernel<TY, TZ, Activation::log_softmax>{a}, shape);
        }
        return;
      }
      const std::int64_t total = dz_rows.count() * dz_rows.length;
      const LaunchShape shape{
          std::min((total + kEpilogueThreads - 1) / kEpilogueThreads, plan.max_blocks),
          kEpilogueThreads, 0, false};
      launch(ActivationGradKernel<TY, TZ>{a}, shape);
    };
    // dz has the GEMMs' type: the layer's, or float32 for a 16-bit layer's float32 intermediate.
    if constexpr (std::is_same_v<TY, float>) {
      with_z(Storage<float>{});
    } else {
      if (plan.dz_dtype == DType::f32) {
        with_z(Storage<float>{});
      } else {
        with_z(Storage<TY>{});
      }
    }
  });
}

}  // namespace sepconv::detail
