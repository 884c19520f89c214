// The GPU functions of sepconv/training_gpu.h against the host functions (sepconv/training.h):
// initializers bit for bit, penalties within a stated float64 bound and bitwise from run to run,
// gradients and constraints within one unit in the last place of their dtype; strided views in
// NaN-poisoned buffers (every element must be written, nothing around it); the argument checks.
// Each case runs on the simulated device in CI (label sim: every kernel through checked memory)
// and on a GPU when there is one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gpu_support.h"
#include "sepconv/training.h"
#include "sepconv/training_gpu.h"
#include "training_test_support.h"

namespace sepconv::test {
namespace {

constexpr DType kDtypes[] = {DType::f32, DType::f16, DType::bf16};

// A host tensor sliced out of a NaN-poisoned buffer, filled with uniform values in [lo, hi), a
// few of them exact zeros.
HostTensor random_tensor(DType dtype, std::vector<std::int64_t> shape, std::uint64_t seed,
                         double lo = -2.0, double hi = 2.0) {
  HostTensor t(dtype, std::move(shape), {1, 2, 3});
  t.poison();
  std::mt19937_64 rng(seed);
  t.fill_uniform(rng, lo, hi);
  std::vector<double> v = t.values();
  for (std::size_t i = 0; i < v.size(); i += 7) v[i] = 0.0;
  t.assign(v);
  return t;
}

// The spacing of `dtype` at |x| (one unit in the last place).
double ulp(DType dtype, double x) {
  const int digits = dtype == DType::f32 ? 24 : (dtype == DType::f16 ? 11 : 8);
  const int min_exponent = dtype == DType::f32 ? -126 : (dtype == DType::f16 ? -14 : -126);
  const int e = x == 0.0 ? min_exponent : std::max(std::ilogb(x), min_exponent);
  return std::ldexp(1.0, e - digits + 1);
}

// Every element within one ulp of the host's (NaN where the host has NaN), and every byte around
// the view as the host left it.
void expect_within_one_ulp(const HostTensor& device, const HostTensor& host, const std::string& what) {
  SCOPED_TRACE(what);
  const std::vector<double> d = device.values(), h = host.values();
  ASSERT_EQ(d.size(), h.size());
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (std::isnan(h[i])) {
      EXPECT_TRUE(std::isnan(d[i])) << i;
      continue;
    }
    ASSERT_LE(std::abs(d[i] - h[i]), ulp(device.view().dtype, h[i])) << i << ": " << d[i] << " vs " << h[i];
  }
  // The slack: the poison must be intact on both.
  HostTensor d_slack = device, h_slack = host;
  d_slack.assign(std::vector<double>(d.size(), 0.0));
  h_slack.assign(std::vector<double>(h.size(), 0.0));
  EXPECT_EQ(d_slack.bytes(), h_slack.bytes());
}

// One double of device memory holding `value`, and a penalty workspace.
struct PenaltyBuffers {
  DeviceBuffer value{sizeof(double)};
  DeviceBuffer workspace;
  explicit PenaltyBuffers(std::int64_t count) : workspace(penalty_workspace_size(count)) {}
  /// Synchronous: a copy from pageable memory may return before its DMA lands, and the work on
  /// a non-blocking stream does not wait for the legacy stream.
  void set(double v) {
    SEPCONV_CUDA_TRY(cudaMemcpy(value.data(), &v, sizeof v, cudaMemcpyHostToDevice));
    SEPCONV_CUDA_TRY(cudaDeviceSynchronize());
  }
  double get() const {
    double v = 0.0;
    SEPCONV_CUDA_TRY(cudaMemcpy(&v, value.data(), sizeof v, cudaMemcpyDeviceToHost));
    return v;
  }
  double* ptr() const { return static_cast<double*>(value.data()); }
};

TEST(TrainingGpu, InitializersMatchTheHostBitForBit) {
  Stream stream;
  const Initializer inits[] = {
      initializers::glorot_uniform(),
      initializers::glorot_normal(),
      initializers::he_uniform(),
      initializers::he_normal(),
      initializers::lecun_uniform(),
      initializers::lecun_normal(),
      initializers::random_uniform(-0.3, 0.7),
      initializers::random_normal(0.5, 2.0),
      initializers::truncated_normal(),
      initializers::variance_scaling(0.4, FanMode::fan_out, VarianceDistribution::untruncated_normal),
      initializers::zeros(),
      initializers::ones(),
      initializers::constant(0.3),
      initializers::orthogonal(1.3),
  };
  std::uint64_t seed = 1000;
  for (const DType dtype : kDtypes) {
    for (const std::vector<std::int64_t>& shape :
         {std::vector<std::int64_t>{3, 20, 2}, std::vector<std::int64_t>{1, 40, 24}}) {
      for (const Initializer& init : inits) {
        SCOPED_TRACE(to_string(init.kind) + " " + std::string(to_string(dtype)) + " " +
                     std::to_string(shape[1]));
        HostTensor host(dtype, shape, {1, 2, 3});
        host.poison();
        HostTensor from_device = host;
        DeviceMirror device(from_device);
        initialize(init, ++seed, host.view());
        initialize(init, seed, device.view(), stream.get());
        stream.sync();
        device.download(from_device);
        ASSERT_EQ(from_device.bytes(), host.bytes());  // the view's bits and the poison around it
      }
    }
  }
}

TEST(TrainingGpu, PenaltiesMatchTheHostWithinTheFloat64BoundAndRepeatBitwise) {
  Stream stream;
  const Regularizer regs[] = {regularizers::L1(), regularizers::L2(0.3),
                              regularizers::L1L2(0.2, 0.05)};
  std::uint64_t seed = 2000;
  for (const DType dtype : kDtypes) {
    // depthwise, pointwise (several first-pass blocks), bias
    for (const std::vector<std::int64_t>& shape :
         {std::vector<std::int64_t>{5, 30, 3}, std::vector<std::int64_t>{1, 600, 40},
          std::vector<std::int64_t>{40}}) {
      const HostTensor w = random_tensor(dtype, shape, ++seed);
      DeviceMirror dw(w);
      PenaltyBuffers buffers(w.numel());
      for (const Regularizer& reg : regs) {
        SCOPED_TRACE(std::string(to_string(dtype)) + " " + std::to_string(w.numel()) + " l1 " +
                     std::to_string(reg.l1) + " l2 " + std::to_string(reg.l2));
        // Summed in float64 in another order than the host: each of the n additions of a
        // non-negative term errs by at most 2^-53 of the partial sum, so |device - host| <=
        // 2 n 2^-53 (l1 sum |w| + l2 sum w^2), times the scale.
        const double expected = penalty(reg, w.view());
        const double bound = 0.5 * 2.0 * static_cast<double>(w.numel()) * 0x1p-53 * expected;
        buffers.set(1.5);
        add_penalty(reg, dw.view(), 0.5, buffers.ptr(), buffers.workspace.data(),
                    buffers.workspace.bytes(), stream.get());
        stream.sync();
        const double first = buffers.get();
        EXPECT_NEAR(first, 1.5 + 0.5 * expected, bound + 0x1p-52 * (1.5 + 0.5 * expected));
        buffers.set(1.5);
        add_penalty(reg, dw.view(), 0.5, buffers.ptr(), buffers.workspace.data(),
                    buffers.workspace.bytes(), stream.get());
        stream.sync();
        EXPECT_EQ(buffers.get(), first);  // bitwise from run to run
      }
    }
  }
  // Activity regularization: penalty(y) / B.
  const HostTensor y = random_tensor(DType::f16, {4, 50, 30}, 7);
  DeviceMirror dy(y);
  PenaltyBuffers buffers(y.numel());
  buffers.set(0.0);
  const Regularizer reg = regularizers::L1L2(0.01, 0.02);
  add_activity_penalty(reg, dy.view(), buffers.ptr(), buffers.workspace.data(),
                       buffers.workspace.bytes(), stream.get());
  stream.sync();
  const double expected = activity_penalty(reg, y.view());
  EXPECT_NEAR(buffers.get(), expected, 2.0 * 6000 * 0x1p-53 * expected);
}

TEST(TrainingGpu, GradientsMatchTheHostWithinOneUlp) {
  Stream stream;
  const std::pair<DType, DType> pairs[] = {{DType::f32, DType::f32}, {DType::f16, DType::f32},
                                           {DType::bf16, DType::f32}, {DType::f16, DType::f16},
                                           {DType::bf16, DType::bf16}};
  std::uint64_t seed = 3000;
  for (const auto& [w_type, g_type] : pairs) {
    for (const Regularizer& reg : {regularizers::L1(0.3), regularizers::L1L2(0.01, 0.2)}) {
      SCOPED_TRACE(std::string(to_string(w_type)) + " -> " + std::string(to_string(g_type)));
      const HostTensor w = random_tensor(w_type, {5, 30, 3}, ++seed);
      HostTensor grad = random_tensor(g_type, {5, 30, 3}, ++seed);
      HostTensor from_device = grad;
      DeviceMirror dw(w), dg(from_device);
      add_gradient(reg, w.view(), grad.view(), 0.75);
      add_gradient(reg, dw.view(), dg.view(), 0.75, stream.get());
      stream.sync();
      dg.download(from_device);
      expect_within_one_ulp(from_device, grad, "weight gradient");
    }
  }
  // Activity regularization's gradient into dY, divided by the batch.
  for (const DType dy_type : {DType::f16, DType::f32}) {
    const HostTensor y = random_tensor(DType::f16, {3, 7, 5}, ++seed);
    HostTensor dy = random_tensor(dy_type, {3, 7, 5}, ++seed);
    HostTensor from_device = dy;
    DeviceMirror d_y(y), d_dy(from_device);
    add_activity_gradient(regularizers::L1L2(0.1, 0.1), y.view(), dy.view());
    add_activity_gradient(regularizers::L1L2(0.1, 0.1), d_y.view(), d_dy.view(), stream.get());
    stream.sync();
    d_dy.download(from_device);
    expect_within_one_ulp(from_device, dy, "activity gradient");
  }
}

TEST(TrainingGpu, ConstraintsMatchTheHostWithinOneUlp) {
  Stream stream;
  const Constraint constraints_[] = {
      constraints::MaxNorm(),
      constraints::MaxNorm(0.5, {0, 1}),
      constraints::UnitNorm(),
      constraints::UnitNorm({1, 2}),
      constraints::MinMaxNorm(0.5, 1.0, 0.7),
      constraints::MinMaxNorm(0.0, 1.0, 1.0, {-3, -2}),
      constraints::UnitNorm({}),
      constraints::NonNeg(),
  };
  std::uint64_t seed = 4000;
  for (const DType dtype : kDtypes) {
    // depthwise (k taps per norm), pointwise (axis {0, 1}: 300 elements per norm, a team of 128
    // threads reducing in shared memory)
    for (const std::vector<std::int64_t>& shape :
         {std::vector<std::int64_t>{5, 6, 2}, std::vector<std::int64_t>{1, 300, 7}}) {
      for (const Constraint& c : constraints_) {
        SCOPED_TRACE(std::string(to_string(dtype)) + " kind " + std::to_string(static_cast<int>(c.kind)) +
                     " axes " + std::to_string(c.axis.size()) + " shape " + std::to_string(shape[1]));
        HostTensor host = random_tensor(dtype, shape, ++seed, -0.3, 0.3);
        HostTensor from_device = host;
        DeviceMirror device(from_device);
        apply_constraint(c, host.view());
        apply_constraint(c, device.view(), stream.get());
        stream.sync();
        device.download(from_device);
        expect_within_one_ulp(from_device, host, "constraint");
      }
    }
  }
}

TEST(TrainingGpu, LargeTensorsTakeSeveralGridStrideSteps) {
  // 1.1M elements: more than the 4096 blocks x 256 threads of a fill, gradient or NonNeg pass,
  // and more than 256 first-pass penalty blocks for the final pass's threads.
  Stream stream;
  const std::int64_t rows = 1100, cols = 1000, count = rows * cols;
  DeviceBuffer w(static_cast<std::size_t>(count) * 2), g(static_cast<std::size_t>(count) * 4);
  const TensorView wv = contiguous_view(w.data(), DType::f16, {1, rows, cols});
  const TensorView gv = contiguous_view(g.data(), DType::f32, {1, rows, cols});
  initialize(initializers::constant(-0.5), 1, wv, stream.get());
  initialize(initializers::zeros(), 1, gv, stream.get());
  PenaltyBuffers buffers(count);
  buffers.set(0.0);
  add_penalty(regularizers::L1(0.25), wv, 1.0, buffers.ptr(), buffers.workspace.data(),
              buffers.workspace.bytes(), stream.get());
  add_gradient(regularizers::L1(0.25), wv, gv, 2.0, stream.get());
  apply_constraint(constraints::NonNeg(), wv, stream.get());
  stream.sync();
  EXPECT_EQ(buffers.get(), 0.25 * 0.5 * static_cast<double>(count));  // exact sums
  std::vector<float> grad(static_cast<std::size_t>(count));
  SEPCONV_CUDA_TRY(cudaMemcpy(grad.data(), g.data(), grad.size() * 4, cudaMemcpyDeviceToHost));
  std::vector<std::uint16_t> weights(static_cast<std::size_t>(count));
  SEPCONV_CUDA_TRY(cudaMemcpy(weights.data(), w.data(), weights.size() * 2, cudaMemcpyDeviceToHost));
  for (std::size_t i = 0; i < grad.size(); ++i) {
    ASSERT_EQ(grad[i], -0.5f) << i;      // 2 * 0.25 * sign(-0.5)
    ASSERT_EQ(weights[i], 0u) << i;      // NonNeg: +0 in float16
  }
}

TEST(TrainingGpu, AStepOfThemCapturedInAGraphReplaysLikeTheHost) {
  // Nothing but orthogonal allocates or synchronises: a fill, a penalty, a gradient and a
  // constraint can be captured and replayed (twice here: the gradient and the constraint apply
  // twice, the penalty accumulates twice).
  Stream stream;
  HostTensor w = random_tensor(DType::f32, {4, 6, 2}, 11);
  HostTensor grad = random_tensor(DType::f32, {4, 6, 2}, 12);
  HostTensor noise(DType::f32, {3, 5});
  HostTensor dw = w, dgrad = grad, dnoise = noise;
  DeviceMirror mw(dw), mgrad(dgrad), mnoise(dnoise);
  PenaltyBuffers buffers(w.numel());
  buffers.set(0.0);
  const Regularizer reg = regularizers::L1L2(0.05, 0.1);
  const Constraint c = constraints::MaxNorm(0.7);
  const CapturedGraph graph = CapturedGraph::capture(stream.get(), [&] {
    initialize(initializers::he_uniform(), 5, mnoise.view(), stream.get());
    add_penalty(reg, mw.view(), 1.0, buffers.ptr(), buffers.workspace.data(),
                buffers.workspace.bytes(), stream.get());
    add_gradient(reg, mw.view(), mgrad.view(), 1.0, stream.get());
    apply_constraint(c, mw.view(), stream.get());
  });
  EXPECT_EQ(graph.nodes(), 5u);  // the fill, two penalty passes, the gradient, the constraint
  initialize(initializers::he_uniform(), 5, noise.view());
  double expected_penalty = 0.0;
  for (int replay = 0; replay < 2; ++replay) {
    SCOPED_TRACE("replay " + std::to_string(replay));
    // The host step starts from the device's state, so each comparison covers one step.
    w.assign(dw.values());
    grad.assign(dgrad.values());
    expected_penalty += penalty(reg, w.view());
    add_gradient(reg, w.view(), grad.view());
    apply_constraint(c, w.view());
    graph.launch(stream.get());
    stream.sync();
    mw.download(dw);
    mgrad.download(dgrad);
    mnoise.download(dnoise);
    EXPECT_EQ(dnoise.bytes(), noise.bytes());
    expect_within_one_ulp(dgrad, grad, "gradient");
    expect_within_one_ulp(dw, w, "constrained weights");
    EXPECT_NEAR(buffers.get(), expected_penalty, 1e-12 * expected_penalty);
  }
}

TEST(TrainingGpu, BadArgumentsAreRejectedBeforeAnythingIsEnqueued) {
  Stream stream;
  HostTensor host = random_tensor(DType::f32, {2, 3, 4}, 1);
  HostTensor mirror_of = host;
  DeviceMirror device(mirror_of);
  expect_invalid([&] { initialize(initializers::ones(), 1, host.view(), stream.get()); }, "out");
  expect_invalid(
      [&] { initialize(initializers::random_uniform(1, 0), 1, device.view(), stream.get()); },
      "initializer");
  PenaltyBuffers buffers(host.numel());
  double on_host = 0.0;
  expect_invalid(
      [&] {
        add_penalty(regularizers::L2(), device.view(), 1.0, &on_host, buffers.workspace.data(),
                    buffers.workspace.bytes(), stream.get());
      },
      "penalty");
  expect_invalid(
      [&] {
        add_penalty(regularizers::L2(), device.view(), 1.0, buffers.ptr(), buffers.workspace.data(),
                    buffers.workspace.bytes() - 1, stream.get());
      },
      "workspace");
  expect_invalid(
      [&] {
        add_penalty(regularizers::L2(-1.0), device.view(), 1.0, buffers.ptr(),
                    buffers.workspace.data(), buffers.workspace.bytes(), stream.get());
      },
      "regularizer");
  expect_invalid(
      [&] {
        add_penalty(regularizers::L2(), host.view(), 1.0, buffers.ptr(), buffers.workspace.data(),
                    buffers.workspace.bytes(), stream.get());
      },
      "weights");
  HostTensor half(DType::f16, {2, 3, 4});
  DeviceMirror half_grad(half);
  expect_invalid(
      [&] { add_gradient(regularizers::L2(), device.view(), half_grad.view(), 1.0, stream.get()); },
      "grad");
  expect_invalid([&] { apply_constraint(constraints::MaxNorm(-2.0), device.view(), stream.get()); },
                 "constraint");
  expect_invalid([&] { apply_constraint(constraints::NonNeg(), host.view(), stream.get()); },
                 "weights");
  stream.sync();
  HostTensor after = host;
  device.download(after);
  EXPECT_EQ(after.bytes(), host.bytes());  // nothing was written
}

}  // namespace
}  // namespace sepconv::test

int main(int argc, char** argv) {
  return sepconv::test::run_gpu_tests(argc, argv, "sepconv training GPU tests");
}
