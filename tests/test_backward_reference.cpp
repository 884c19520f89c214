// The reference backward against central finite differences of the reference forward, in float64,
// on small random configurations covering every option (paddings, strides, dilations,
// multipliers, both formats, every activation, with and without bias); the activation table's
// derivatives against differences of its functions; exact small cases and the conventions at
// kinks; the backward's validation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "detail/activations.h"
#include "sepconv/backward.h"
#include "sepconv/error.h"
#include "sepconv/reference.h"
#include "support/host_tensor.h"

namespace sepconv::test {
namespace {

// The loss the gradients are of: L = sum(y * w) with w = dy, in float64.
double loss(const LayerConfig& c, const HostTensor& x, const HostWeights& w, const HostTensor& dy) {
  const reference::Detail d = reference::forward_detail(c, x.view(), w.view());
  const std::vector<double> g = dy.values();  // row-major in y's layout, as d.output
  double sum = 0;
  for (std::size_t i = 0; i < g.size(); ++i) sum += d.output[i] * g[i];
  return sum;
}

// A central difference of the loss in one element of `t` with step h (float32 storage: the step
// actually taken is what the stored values differ by, so the quotient is exact in that respect).
double central_difference(const LayerConfig& c, HostTensor& t, std::int64_t i0, std::int64_t i1,
                          std::int64_t i2, double h, HostTensor& x, HostWeights& w,
                          const HostTensor& dy) {
  const double v = t.get(i0, i1, i2);
  t.set(i0, i1, i2, v + h);
  const double plus_at = t.get(i0, i1, i2);
  const double plus = loss(c, x, w, dy);
  t.set(i0, i1, i2, v - h);
  const double minus_at = t.get(i0, i1, i2);
  const double minus = loss(c, x, w, dy);
  t.set(i0, i1, i2, v);
  return (plus - minus) / (plus_at - minus_at);
}

struct Counts {
  std::int64_t checked = 0;
  std::int64_t kinks = 0;  // differences that straddle a kink or jump of the activation
};

// Checks every element of one tensor's gradient: the Richardson extrapolation of the differences
// with steps h and h/2 (error O(h^4)) must match the reference gradient within 1e-7 of the
// gradient's magnitude (the absolute sum of its terms) plus 1e-9. Where the two differences
// disagree by more than 1e-4 of the magnitude the steps straddle a kink (relu at 0) or a jump
// (hard_shrink at 0.5) of the activation: such elements are counted, not compared.
void check_tensor(const char* name, const LayerConfig& c, HostTensor& t,
                  const std::vector<double>& grad, const std::vector<double>& magnitude,
                  HostTensor& x, HostWeights& w, const HostTensor& dy, Counts& counts) {
  constexpr double h = 1.0 / 1024;
  const auto& s = t.shape();
  const int rank = static_cast<int>(s.size());
  const std::int64_t n0 = s[0], n1 = rank > 1 ? s[1] : 1, n2 = rank > 2 ? s[2] : 1;
  ASSERT_EQ(grad.size(), static_cast<std::size_t>(n0 * n1 * n2)) << name;
  std::size_t i = 0;
  for (std::int64_t a = 0; a < n0; ++a) {
    for (std::int64_t b = 0; b < n1; ++b) {
      for (std::int64_t e = 0; e < n2; ++e, ++i) {
        const double d1 = central_difference(c, t, a, b, e, h, x, w, dy);
        const double d2 = central_difference(c, t, a, b, e, h / 2, x, w, dy);
        const double scale = magnitude[i] + 1;
        if (std::fabs(d1 - d2) > 1e-4 * scale) {
          ++counts.kinks;
          continue;
        }
        ++counts.checked;
        const double estimate = (4 * d2 - d1) / 3;
        EXPECT_NEAR(grad[i], estimate, 1e-7 * magnitude[i] + 1e-9)
            << name << "[" << a << ", " << b << ", " << e << "] of " << describe(c);
        EXPECT_GE(magnitude[i], std::fabs(grad[i]) * (1 - 1e-12)) << name << " magnitude";
      }
    }
  }
}

LayerConfig random_config(std::mt19937_64& rng, Activation a, DataFormat f, Padding p) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  LayerConfig c;
  c.activation = a;
  c.data_format = f;
  c.padding = p;
  c.filters = pick(1, 4);
  c.kernel_size = pick(1, 4);
  c.depth_multiplier = pick(1, 3);
  if (pick(0, 1) == 0) {
    c.strides = pick(1, 3);
  } else {
    c.dilation_rate = pick(1, 3);
  }
  c.use_bias = pick(0, 3) != 0;
  return c;
}

// Every activation x both formats x every padding, twice: random strides, dilations, multipliers,
// kernel sizes, channels, filters, batches and lengths (also shorter than the kernel for same and
// causal).
TEST(ReferenceBackward, MatchesFiniteDifferencesForEveryOption) {
  std::mt19937_64 rng(17);
  Counts counts;
  int configs = 0;
  for (int ai = 0; ai < 2 * kActivationCount; ++ai) {
    for (auto f : {DataFormat::channels_last, DataFormat::channels_first}) {
      for (auto p : {Padding::valid, Padding::same, Padding::causal}) {
        const LayerConfig c = random_config(rng, static_cast<Activation>(ai % kActivationCount), f, p);
        const std::int64_t channels = std::uniform_int_distribution<int>(1, 3)(rng);
        const std::int64_t batch = std::uniform_int_distribution<int>(1, 2)(rng);
        const std::int64_t effk = c.dilation_rate * (c.kernel_size - 1) + 1;
        const std::int64_t length =
            std::uniform_int_distribution<std::int64_t>(p == Padding::valid ? effk : 1, effk + 6)(
                rng);
        HostTensor x = random_input(c, batch, length, channels, DType::f32, rng);
        HostWeights w = random_weights(c, channels, DType::f32, rng);
        const auto out = output_shape(c, batch, length);
        HostTensor dy(DType::f32, {out[0], out[1], out[2]});
        dy.fill_uniform(rng, -1, 1);
        const reference::GradientDetail g =
            reference::backward_detail(c, x.view(), w.view(), dy.view());
        SCOPED_TRACE(describe(c) + " C" + std::to_string(channels) + " B" +
                     std::to_string(batch) + " L" + std::to_string(length));
        check_tensor("dx", c, x, g.input, g.input_magnitude, x, w, dy, counts);
        check_tensor("ddepthwise", c, w.depthwise, g.depthwise, g.depthwise_magnitude, x, w, dy,
                     counts);
        check_tensor("dpointwise", c, w.pointwise, g.pointwise, g.pointwise_magnitude, x, w, dy,
                     counts);
        if (c.use_bias) {
          check_tensor("dbias", c, w.bias, g.bias, g.bias_magnitude, x, w, dy, counts);
        } else {
          EXPECT_TRUE(g.bias.empty());
        }
        ++configs;
      }
    }
  }
  EXPECT_EQ(configs, kActivationCount * 12);
  std::printf("%lld elements checked, %lld straddled a kink\n", static_cast<long long>(counts.checked),
              static_cast<long long>(counts.kinks));
  // Kinks are rare with random data: a handful of the elements at most.
  EXPECT_GT(counts.checked, 10000);
  EXPECT_LE(counts.kinks * 100, counts.checked) << counts.kinks << " elements straddled a kink";
}

// The activation table's derivatives: the float64 formula against differences of the float64
// function, and the kernels' float form against the float64 formula, on a grid through every
// kink region.
TEST(ReferenceBackward, ActivationDerivativesMatchTheirFunctions) {
  for (int ai = 0; ai < kActivationCount; ++ai) {
    const auto a = static_cast<Activation>(ai);
    const auto& info = detail::activation_info(a);
    if (info.row_reduction) continue;
    SCOPED_TRACE(std::string(info.name));
    int kinks = 0;
    for (double z = -9.87; z < 9.9; z += 0.0731) {
      const double h = 1e-5;
      const double d1 = (info.reference(z + h) - info.reference(z - h)) / (2 * h);
      const double d2 = (info.reference(z + h / 2) - info.reference(z - h / 2)) / h;
      const double slope = info.reference_derivative(z);
      if (std::fabs(d1 - d2) > 1e-6 * (std::fabs(slope) + 1)) {
        ++kinks;
        continue;
      }
      EXPECT_NEAR(slope, (4 * d2 - d1) / 3, 1e-8 * (std::fabs(slope) + 1)) << "z = " << z;
      const float kernel = detail::derivative_of(a, static_cast<float>(z));
      const double at = static_cast<float>(z);
      EXPECT_NEAR(kernel, info.reference_derivative(at),
                  8 * 0x1p-24 * info.derivative_scale(at, info.reference_derivative(at)) + 1e-30)
          << "kernel form at z = " << z;
      EXPECT_GE(info.derivative_scale(z, slope), std::fabs(slope) * (1 - 1e-12));
    }
    EXPECT_LE(kinks, 2);
  }
}

// Keras's conventions where a derivative jumps (JAX and TensorFlow agree): relu'(0) = 0 (the
// gradient of max(x, 0) flows only where x > 0), hard_tanh'(+-1) = 1, leaky_relu'(0) = 1.
TEST(ReferenceBackward, DerivativesAtKinksFollowKeras) {
  auto d = [](Activation a, double z) { return detail::activation_info(a).reference_derivative(z); };
  EXPECT_EQ(d(Activation::relu, 0.0), 0.0);
  EXPECT_EQ(d(Activation::relu6, 6.0), 0.0);
  EXPECT_EQ(d(Activation::leaky_relu, 0.0), 1.0);
  EXPECT_EQ(d(Activation::hard_tanh, 1.0), 1.0);
  EXPECT_EQ(d(Activation::hard_tanh, -1.0), 1.0);
  EXPECT_EQ(d(Activation::hard_shrink, 0.5), 0.0);
  EXPECT_EQ(d(Activation::soft_shrink, 0.5), 0.0);
  EXPECT_EQ(d(Activation::hard_sigmoid, 3.0), 0.0);
  EXPECT_EQ(d(Activation::sparse_plus, 1.0), 1.0);
  EXPECT_EQ(d(Activation::elu, 0.0), 1.0);
  for (float z : {0.0f, 6.0f, 1.0f, -1.0f, 0.5f, 3.0f}) {
    for (auto a : {Activation::relu, Activation::relu6, Activation::leaky_relu,
                   Activation::hard_tanh, Activation::hard_shrink, Activation::soft_shrink,
                   Activation::hard_sigmoid, Activation::sparse_plus}) {
      EXPECT_EQ(detail::derivative_of(a, z), static_cast<float>(d(a, z)))
          << to_string(a) << " at " << z;
    }
  }
}

// One channel, one filter, integer data: every gradient by hand.
//   x = [1 2 3 4], dw = [1 2] (k 2, valid), pw = [3], bias, linear: y_t = 3 (x_t + 2 x_{t+1}) + b.
//   dy = [1 10 100]: dz = dy; dpw = sum_t mid_t dy_t with mid = [5 8 11]: 5 + 80 + 1100 = 1185;
//   dbias = 111; dmid = 3 dy = [3 30 300]; ddw_0 = sum dmid_t x_t = 3 + 60 + 900 = 963,
//   ddw_1 = sum dmid_t x_{t+1} = 6 + 90 + 1200 = 1296; dx_l = sum dw_j dmid_{l-j} =
//   [3, 2*3 + 30, 2*30 + 300, 2*300] = [3, 36, 360, 600].
TEST(ReferenceBackward, HandComputedSingleChannel) {
  LayerConfig c;
  c.filters = 1;
  c.kernel_size = 2;
  HostTensor x(DType::f32, {1, 4, 1});
  x.assign({1, 2, 3, 4});
  HostWeights w;
  w.depthwise = HostTensor(DType::f32, {2, 1, 1});
  w.depthwise.assign({1, 2});
  w.pointwise = HostTensor(DType::f32, {1, 1, 1});
  w.pointwise.assign({3});
  w.bias = HostTensor(DType::f32, {1});
  w.bias.assign({0.5});
  HostTensor dy(DType::f32, {1, 3, 1});
  dy.assign({1, 10, 100});
  HostTensor dx(DType::f32, {1, 4, 1}), ddw(DType::f32, {2, 1, 1}), dpw(DType::f32, {1, 1, 1}),
      db(DType::f32, {1});
  dx.poison();
  reference::backward(c, x.view(), w.view(), dy.view(),
                      {dx.view(), ddw.view(), dpw.view(), db.view()});
  EXPECT_EQ(dx.values(), (std::vector<double>{3, 36, 360, 600}));
  EXPECT_EQ(ddw.values(), (std::vector<double>{963, 1296}));
  EXPECT_EQ(dpw.values(), (std::vector<double>{1185}));
  EXPECT_EQ(db.values(), (std::vector<double>{111}));
}

// The intermediate channel order q = c*M + m in the backward: C = 2, M = 2, k = 1, F = 1, one
// step. mid_q = dw[c][m] x_c; dpw[q] = mid_q dy; with q = m*C + c the pointwise gradient would
// come out permuted.
TEST(ReferenceBackward, IntermediateChannelOrder) {
  LayerConfig c;
  c.filters = 1;
  c.kernel_size = 1;
  c.depth_multiplier = 2;
  c.use_bias = false;
  HostTensor x(DType::f32, {1, 1, 2});
  x.assign({1, 10});
  HostWeights w;
  w.depthwise = HostTensor(DType::f32, {1, 2, 2});
  w.depthwise.assign({1, 2, 3, 4});  // dw[0][c][m]
  w.pointwise = HostTensor(DType::f32, {1, 4, 1});
  w.pointwise.assign({1, 100, 10000, 1000000});
  HostTensor dy(DType::f32, {1, 1, 1});
  dy.assign({1});
  const auto g = reference::backward_detail(c, x.view(), w.view(), dy.view());
  // mid = [dw00 x0, dw01 x0, dw10 x1, dw11 x1] = [1, 2, 30, 40].
  EXPECT_EQ(g.pointwise, (std::vector<double>{1, 2, 30, 40}));
  // ddw[0][c][m] = pw[cM+m] x_c.
  EXPECT_EQ(g.depthwise, (std::vector<double>{1, 100, 100000, 10000000}));
  // dx_c = sum_m dw[c][m] pw[cM+m].
  EXPECT_EQ(g.input, (std::vector<double>{1 + 200, 3e4 + 4e6}));
}

// softmax rows along time for channels_first: dz sums to zero along each row (the softmax's
// gradient is orthogonal to the constant direction), and log_softmax's dz_i = dy_i - p_i sum dy.
TEST(ReferenceBackward, RowReductionsAlongTheLastAxis) {
  std::mt19937_64 rng(5);
  for (auto a : {Activation::softmax, Activation::log_softmax}) {
    for (auto f : {DataFormat::channels_last, DataFormat::channels_first}) {
      LayerConfig c;
      c.filters = 3;
      c.kernel_size = 2;
      c.padding = Padding::same;
      c.data_format = f;
      c.activation = a;
      HostTensor x = random_input(c, 2, 5, 2, DType::f32, rng);
      HostWeights w = random_weights(c, 2, DType::f32, rng);
      const auto out = output_shape(c, 2, 5);
      HostTensor dy(DType::f32, {out[0], out[1], out[2]});
      dy.fill_uniform(rng, -1, 1);
      const auto g = reference::backward_detail(c, x.view(), w.view(), dy.view());
      // Rows are the last axis of y's layout, contiguous in the array.
      const std::int64_t length = out[2];
      const std::vector<double> dys = dy.values();
      const std::vector<double> z = reference::forward_detail(c, x.view(), w.view()).output;
      for (std::size_t r = 0; r < g.preactivation_gradient.size(); r += length) {
        double sum = 0, dysum = 0;
        for (std::int64_t i = 0; i < length; ++i) {
          sum += g.preactivation_gradient[r + i];
          dysum += dys[r + i];
        }
        if (a == Activation::softmax) {
          EXPECT_NEAR(sum, 0, 1e-12);
        } else {
          for (std::int64_t i = 0; i < length; ++i) {
            EXPECT_NEAR(g.preactivation_gradient[r + i], dys[r + i] - std::exp(z[r + i]) * dysum,
                        1e-12);
          }
        }
      }
    }
  }
}

// A layer that is not trainable computes dx only: the same dx, no weight gradients.
TEST(ReferenceBackward, NotTrainableComputesTheInputGradientOnly) {
  std::mt19937_64 rng(3);
  LayerConfig c;
  c.filters = 3;
  c.kernel_size = 3;
  c.depth_multiplier = 2;
  c.activation = Activation::gelu;
  HostTensor x = random_input(c, 2, 9, 2, DType::f32, rng);
  HostWeights w = random_weights(c, 2, DType::f32, rng);
  HostTensor dy(DType::f32, {2, 7, 3});
  dy.fill_uniform(rng, -1, 1);
  reference::BackwardOptions frozen;
  frozen.trainable = false;
  const auto a = reference::backward_detail(c, x.view(), w.view(), dy.view());
  const auto b = reference::backward_detail(c, x.view(), w.view(), dy.view(), frozen);
  EXPECT_EQ(a.input, b.input);
  EXPECT_TRUE(b.depthwise.empty() && b.pointwise.empty() && b.bias.empty());
  HostTensor dx(DType::f32, {2, 9, 2});
  dx.poison();
  reference::backward(c, x.view(), w.view(), dy.view(), {dx.view(), {}, {}, {}}, false);
  const auto v = dx.values();
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], a.input[i], 1e-6 * (1 + std::fabs(a.input[i])));
}

// The derivative is taken at the pre-activations given: with z shifted across relu's kink the
// gradient follows the given z, not the reference's own.
TEST(ReferenceBackward, GivenPreactivationsAreUsed) {
  LayerConfig c;
  c.filters = 1;
  c.kernel_size = 1;
  c.activation = Activation::relu;
  HostTensor x(DType::f32, {1, 2, 1});
  x.assign({1, 1});
  HostWeights w;
  w.depthwise = HostTensor(DType::f32, {1, 1, 1});
  w.depthwise.assign({1});
  w.pointwise = HostTensor(DType::f32, {1, 1, 1});
  w.pointwise.assign({1});
  w.bias = HostTensor(DType::f32, {1});
  w.bias.assign({0});
  HostTensor dy(DType::f32, {1, 2, 1});
  dy.assign({1, 1});
  HostTensor z(DType::f32, {1, 2, 1});
  z.assign({-1, 1});  // the first output's relu is off
  reference::BackwardOptions o;
  o.preactivation = z.view();
  const auto g = reference::backward_detail(c, x.view(), w.view(), dy.view(), o);
  EXPECT_EQ(g.bias, (std::vector<double>{1}));
  EXPECT_EQ(g.preactivation_gradient, (std::vector<double>{0, 1}));
}

// ---- validation: one test per condition, each naming the argument --------------------------------

struct BackwardCall {
  LayerConfig c;
  HostTensor x, dy, dx, ddw, dpw, db;
  HostWeights w;
  BackwardCall() {
    c.filters = 3;
    c.kernel_size = 3;
    c.depth_multiplier = 2;
    std::mt19937_64 rng(1);
    x = random_input(c, 2, 8, 4, DType::f32, rng);
    w = random_weights(c, 4, DType::f32, rng);
    dy = HostTensor(DType::f32, {2, 6, 3});
    dy.fill_uniform(rng, -1, 1);
    dx = HostTensor(DType::f32, {2, 8, 4});
    ddw = HostTensor(DType::f32, {3, 4, 2});
    dpw = HostTensor(DType::f32, {1, 8, 3});
    db = HostTensor(DType::f32, {3});
  }
  Gradients grads() { return {dx.view(), ddw.view(), dpw.view(), db.view()}; }
  void run(const Gradients& g, bool trainable = true) {
    reference::backward(c, x.view(), w.view(), dy.view(), g, trainable);
  }
};

std::string argument_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InvalidArgument& e) {
    return e.argument();
  }
  return "(no error)";
}

TEST(BackwardValidation, EachBadArgumentIsNamed) {
  BackwardCall k;
  EXPECT_EQ(argument_of([&] { k.run(k.grads()); }), "(no error)");
  {
    HostTensor bad(DType::f32, {2, 7, 3});
    EXPECT_EQ(argument_of([&] {
                reference::backward(k.c, k.x.view(), k.w.view(), bad.view(), k.grads());
              }),
              "dy");
  }
  {
    HostTensor bad(DType::f32, {2, 8, 3});
    Gradients g = k.grads();
    g.input = bad.view();
    EXPECT_EQ(argument_of([&] { k.run(g); }), "grad_input");
  }
  {
    HostTensor bad(DType::f16, {3, 4, 2});
    Gradients g = k.grads();
    g.depthwise = bad.view();
    EXPECT_EQ(argument_of([&] { k.run(g); }), "grad_depthwise");
  }
  {
    HostTensor bad(DType::f32, {1, 4, 3});
    Gradients g = k.grads();
    g.pointwise = bad.view();
    EXPECT_EQ(argument_of([&] { k.run(g); }), "grad_pointwise");
  }
  {
    Gradients g = k.grads();
    g.bias = {};
    EXPECT_EQ(argument_of([&] { k.run(g); }), "grad_bias");
  }
  {
    Gradients g = k.grads();  // not trainable: weight gradients must be absent
    EXPECT_EQ(argument_of([&] { k.run(g, false); }), "grad_depthwise");
  }
  {
    Gradients g = k.grads();  // overlapping outputs
    g.bias = contiguous_view(static_cast<void*>(k.ddw.view().data), DType::f32, {3});
    EXPECT_EQ(argument_of([&] { k.run(g); }), "grad_bias");
  }
  {
    Gradients g = k.grads();  // dx over x
    g.input = TensorView{const_cast<void*>(k.x.view().data), DType::f32, 3, {2, 8, 4}, {32, 4, 1}};
    EXPECT_EQ(argument_of([&] { k.run(g); }), "grad_input");
  }
  {
    Gradients g = k.grads();  // a gradient whose elements share addresses
    g.pointwise.strides = {0, 0, 1};
    EXPECT_EQ(argument_of([&] { k.run(g); }), "grad_pointwise");
  }
  {
    HostTensor bad(DType::f16, {2, 8, 4});
    Gradients g = k.grads();
    g.input = bad.view();
    EXPECT_EQ(argument_of([&] { k.run(g); }), "grad_input");
  }
  {
    LayerConfig c = k.c;  // use_bias false with a bias gradient
    c.use_bias = false;
    EXPECT_EQ(argument_of([&] {
                reference::backward(c, k.x.view(), {k.w.depthwise.view(), k.w.pointwise.view(), {}},
                                    k.dy.view(), k.grads());
              }),
              "grad_bias");
  }
}

}  // namespace
}  // namespace sepconv::test
