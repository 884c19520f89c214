// The CPU reference: hand-computed exact cases and the invariants of docs/semantics.md.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "sepconv/error.h"
#include "sepconv/reference.h"
#include "support/host_tensor.h"

namespace sepconv::test {
namespace {

// A single-channel, single-filter layer: dw = [1, 10, 100], pw = [2], on x = [1, 2, 3, 4, 5].
// Integer data, so every sum is exact.
std::vector<double> run_single_channel(Padding padding, std::int64_t strides,
                                       std::int64_t dilation) {
  LayerConfig c;
  c.filters = 1;
  c.kernel_size = 3;
  c.padding = padding;
  c.strides = strides;
  c.dilation_rate = dilation;
  c.use_bias = false;
  HostTensor x(DType::f32, {1, 5, 1});
  x.assign({1, 2, 3, 4, 5});
  HostWeights w;
  w.depthwise = HostTensor(DType::f32, {3, 1, 1});
  w.depthwise.assign({1, 10, 100});
  w.pointwise = HostTensor(DType::f32, {1, 1, 1});
  w.pointwise.assign({2});
  HostTensor y = poisoned_output(c, 1, 5, DType::f32);
  reference::forward(c, x.view(), w.view(), y.view());
  return y.values();
}

using V = std::vector<double>;

TEST(ReferenceExact, Valid) { EXPECT_EQ(run_single_channel(Padding::valid, 1, 1), (V{642, 864, 1086})); }
TEST(ReferenceExact, Same) {
  EXPECT_EQ(run_single_channel(Padding::same, 1, 1), (V{420, 642, 864, 1086, 108}));
}
TEST(ReferenceExact, Causal) {
  EXPECT_EQ(run_single_channel(Padding::causal, 1, 1), (V{200, 420, 642, 864, 1086}));
}
TEST(ReferenceExact, SameStride2) {
  EXPECT_EQ(run_single_channel(Padding::same, 2, 1), (V{420, 864, 108}));
}
TEST(ReferenceExact, ValidStride2) { EXPECT_EQ(run_single_channel(Padding::valid, 2, 1), (V{642, 1086})); }
TEST(ReferenceExact, ValidDilation2) { EXPECT_EQ(run_single_channel(Padding::valid, 1, 2), (V{1062})); }
TEST(ReferenceExact, CausalDilation2) {
  EXPECT_EQ(run_single_channel(Padding::causal, 1, 2), (V{200, 400, 620, 840, 1062}));
}
TEST(ReferenceExact, SameDilation2) {
  // effk 5, pad 2/2: xp = [0 0 1 2 3 4 5 0 0], taps at t, t+2, t+4.
  EXPECT_EQ(run_single_channel(Padding::same, 1, 2), (V{620, 840, 1062, 84, 106}));
}

// The intermediate channel is q = c*M + m (docs/semantics.md, "Weights and their layouts"): with q = m*C + c this gives 40803.
TEST(ReferenceExact, IntermediateChannelOrder) {
  LayerConfig c;
  c.filters = 1;
  c.kernel_size = 1;
  c.depth_multiplier = 2;
  c.use_bias = false;
  HostTensor x(DType::f32, {1, 1, 2});
  x.assign({3, 5});
  HostWeights w;
  w.depthwise = HostTensor(DType::f32, {1, 2, 2});
  w.depthwise.assign({1, 2, 4, 8});  // dw[0][c][m]
  w.pointwise = HostTensor(DType::f32, {1, 4, 1});
  w.pointwise.assign({1, 10, 100, 1000});
  HostTensor y = poisoned_output(c, 1, 1, DType::f32);
  reference::forward(c, x.view(), w.view(), y.view());
  EXPECT_EQ(y.values(), (V{42063}));
}

TEST(ReferenceExact, BiasThenActivation) {
  LayerConfig c;
  c.filters = 2;
  c.kernel_size = 1;
  c.activation = Activation::relu;
  HostTensor x(DType::f32, {1, 2, 1});
  x.assign({1, -2});
  HostWeights w;
  w.depthwise = HostTensor(DType::f32, {1, 1, 1});
  w.depthwise.assign({3});
  w.pointwise = HostTensor(DType::f32, {1, 1, 2});
  w.pointwise.assign({1, -1});
  w.bias = HostTensor(DType::f32, {2});
  w.bias.assign({2, 0.5});
  HostTensor y = poisoned_output(c, 1, 2, DType::f32);
  reference::forward(c, x.view(), w.view(), y.view());
  // t=0: mid 3 -> (3+2, -3+0.5) -> relu (5, 0); t=1: mid -6 -> (-4, 6.5) -> (0, 6.5)
  EXPECT_EQ(y.values(), (V{5, 0, 0, 6.5}));
}

TEST(ReferenceActivation, KnownValues) {
  using A = Activation;
  const double e = std::exp(1.0);
  struct Case {
    A a;
    double z;
    double want;
  };
  const Case cases[] = {
      {A::linear, -3.5, -3.5},
      {A::relu, -1, 0},
      {A::relu6, 7, 6},
      {A::leaky_relu, -1, -0.2},
      {A::elu, -1, 1 / e - 1},
      {A::selu, -1, 1.0507009873554804934 * 1.6732632423543772848 * (1 / e - 1)},
      {A::selu, 2, 2 * 1.0507009873554804934},
      {A::softplus, 0, std::log(2.0)},
      {A::softsign, 1, 0.5},
      {A::silu, 1, 1 / (1 + 1 / e)},
      {A::gelu, 1, 0.8413447460685429},
      {A::gelu, -1, -0.15865525393145707},
      {A::tanh, 0.5, std::tanh(0.5)},
      {A::sigmoid, 0, 0.5},
      {A::exponential, 1, e},
      {A::hard_sigmoid, 1, 1.0 / 6 + 0.5},
      {A::hard_sigmoid, -3, 0},
      {A::hard_sigmoid, 2.9, 2.9 / 6 + 0.5},
      {A::hard_sigmoid_tf_keras, 1, 0.7},
      {A::hard_sigmoid_tf_keras, 2.9, 1},
      {A::hard_silu, 1, 1.0 / 6 + 0.5},
      {A::mish, 1, 0.8650983882673103},
      {A::celu, -1, 1 / e - 1},
      {A::squareplus, 0, 1},
      {A::soft_shrink, 0.75, 0.25},
      {A::soft_shrink, -0.75, -0.25},
      {A::soft_shrink, 0.5, 0},
      {A::hard_shrink, 0.5, 0},
      {A::hard_shrink, -0.75, -0.75},
      {A::tanh_shrink, 1, 1 - std::tanh(1.0)},
      {A::hard_tanh, -2, -1},
      {A::sparse_plus, 0, 0.25},
      {A::sparse_plus, 1, 1},
      {A::sparse_plus, -1, 0},
      {A::sparse_sigmoid, 0, 0.5},
      {A::sparse_sigmoid, 2, 1},
      {A::log_sigmoid, 0, -std::log(2.0)},
  };
  for (const auto& c : cases) {
    EXPECT_NEAR(reference::activation(c.a, c.z), c.want, 1e-15 * (1 + std::fabs(c.want)))
        << to_string(c.a) << "(" << c.z << ")";
  }
  EXPECT_THROW((void)reference::activation(A::softmax, 0), InvalidArgument);
}

// Random configurations for the invariant tests.
struct RandomCase {
  LayerConfig config;
  std::int64_t batch = 0;
  std::int64_t length = 0;
  std::int64_t channels = 0;
};

RandomCase random_case(std::mt19937_64& rng, Padding padding) {
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  RandomCase r;
  r.config.filters = pick(1, 6);
  r.config.kernel_size = pick(1, 6);
  r.config.padding = padding;
  if (pick(0, 1)) {
    r.config.strides = pick(1, 3);
  } else {
    r.config.dilation_rate = pick(1, 3);
  }
  r.config.depth_multiplier = pick(1, 3);
  r.config.use_bias = pick(0, 1) == 1;
  r.batch = pick(1, 3);
  r.channels = pick(1, 4);
  r.length = effective_kernel_size(r.config) + pick(0, 12);
  return r;
}

TEST(ReferenceInvariants, CausalOutputsNeverSeeTheFuture) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 50; ++trial) {
    const RandomCase r = random_case(rng, Padding::causal);
    const LayerConfig& c = r.config;
    HostTensor x = random_input(c, r.batch, r.length, r.channels, DType::f32, rng);
    const HostWeights w = random_weights(c, r.channels, DType::f32, rng);
    const auto before = reference::forward_detail(c, x.view(), w.view());
    const std::int64_t lout = before.window.time_count;
    const std::int64_t t0 = std::uniform_int_distribution<std::int64_t>(0, lout - 1)(rng);
    // Change every input step after t0*s.
    for (std::int64_t b = 0; b < r.batch; ++b)
      for (std::int64_t p = t0 * c.strides + 1; p < r.length; ++p)
        for (std::int64_t ch = 0; ch < r.channels; ++ch) x.set(b, p, ch, x.get(b, p, ch) + 7);
    const auto after = reference::forward_detail(c, x.view(), w.view());
    for (std::int64_t b = 0; b < r.batch; ++b)
      for (std::int64_t t = 0; t < lout; ++t)
        for (std::int64_t f = 0; f < c.filters; ++f) {
          const auto i = before.index(b, t, f);
          if (t <= t0) {
            ASSERT_EQ(before.output[i], after.output[i]) << describe(c) << " t=" << t;
          }
        }
    // ... and the last output does depend on the step it ends at (the test can fail).
    if (t0 + 1 < lout) {
      bool changed = false;
      for (std::int64_t f = 0; f < c.filters; ++f)
        changed |= before.output[before.index(0, lout - 1, f)] !=
                   after.output[after.index(0, lout - 1, f)];
      EXPECT_TRUE(changed) << describe(c);
    }
  }
}

// docs/semantics.md, "The forward pass": the layer equals one plain conv1d with W[j,c,f] = sum_m dw[j,c,m] *
// pw[c*M+m,f].
TEST(ReferenceInvariants, ComposedKernelIdentity) {
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 60; ++trial) {
    const Padding padding = static_cast<Padding>(trial % 3);
    const RandomCase r = random_case(rng, padding);
    const LayerConfig& c = r.config;
    const HostTensor x = random_input(c, r.batch, r.length, r.channels, DType::f32, rng);
    const HostWeights w = random_weights(c, r.channels, DType::f32, rng);
    const auto d = reference::forward_detail(c, x.view(), w.view());
    const auto g = geometry(c, r.length);
    const std::int64_t M = c.depth_multiplier;
    for (std::int64_t b = 0; b < r.batch; ++b)
      for (std::int64_t t = 0; t < g.out_length; ++t)
        for (std::int64_t f = 0; f < c.filters; ++f) {
          double z = c.use_bias ? w.bias.get(f) : 0.0;
          for (std::int64_t j = 0; j < c.kernel_size; ++j) {
            const std::int64_t p = t * c.strides + j * c.dilation_rate - g.pad.left;
            if (p < 0 || p >= r.length) continue;
            for (std::int64_t ch = 0; ch < r.channels; ++ch) {
              double W = 0;
              for (std::int64_t m = 0; m < M; ++m)
                W += w.depthwise.get(j, ch, m) * w.pointwise.get(0, ch * M + m, f);
              z += W * x.get(b, p, ch);
            }
          }
          const auto i = d.index(b, t, f);
          ASSERT_NEAR(d.preactivation[i], z, 1e-12 * (1 + d.magnitude[i])) << describe(c);
        }
  }
}

TEST(ReferenceInvariants, ChannelsFirstIsTheTransposeOfChannelsLast) {
  std::mt19937_64 rng(13);
  for (int trial = 0; trial < 40; ++trial) {
    RandomCase r = random_case(rng, static_cast<Padding>(trial % 3));
    r.config.activation = trial % 2 ? Activation::gelu : Activation::log_softmax;
    LayerConfig cl = r.config;
    LayerConfig cf = r.config;
    cf.data_format = DataFormat::channels_first;
    const HostTensor x = random_input(cl, r.batch, r.length, r.channels, DType::f32, rng);
    HostTensor xt(DType::f32, {r.batch, r.channels, r.length});
    for (std::int64_t b = 0; b < r.batch; ++b)
      for (std::int64_t t = 0; t < r.length; ++t)
        for (std::int64_t ch = 0; ch < r.channels; ++ch) xt.set(b, ch, t, x.get(b, t, ch));
    const HostWeights w = random_weights(cl, r.channels, DType::f32, rng);
    if (r.config.activation == Activation::log_softmax) {
      // softmax axes differ between the formats (filters vs time): compare pre-activations.
      const auto a = reference::forward_detail(cl, x.view(), w.view());
      const auto b = reference::forward_detail(cf, xt.view(), w.view());
      for (std::int64_t bb = 0; bb < r.batch; ++bb)
        for (std::int64_t t = 0; t < a.window.time_count; ++t)
          for (std::int64_t f = 0; f < cl.filters; ++f)
            ASSERT_EQ(a.preactivation[a.index(bb, t, f)], b.preactivation[b.index(bb, t, f)]);
      continue;
    }
    HostTensor y = poisoned_output(cl, r.batch, r.length, DType::f32);
    HostTensor yt = poisoned_output(cf, r.batch, r.length, DType::f32);
    reference::forward(cl, x.view(), w.view(), y.view());
    reference::forward(cf, xt.view(), w.view(), yt.view());
    const std::int64_t lout = y.shape()[1];
    for (std::int64_t b = 0; b < r.batch; ++b)
      for (std::int64_t t = 0; t < lout; ++t)
        for (std::int64_t f = 0; f < cl.filters; ++f)
          ASSERT_EQ(y.get(b, t, f), yt.get(b, f, t)) << describe(cl);
  }
}

TEST(ReferenceInvariants, StridedViewsEqualContiguousOnes) {
  std::mt19937_64 rng(14);
  for (int trial = 0; trial < 30; ++trial) {
    RandomCase r = random_case(rng, static_cast<Padding>(trial % 3));
    r.config.data_format = trial % 2 ? DataFormat::channels_first : DataFormat::channels_last;
    const LayerConfig& c = r.config;
    const HostTensor x = random_input(c, r.batch, r.length, r.channels, DType::f32, rng);
    HostTensor xs(DType::f32, x.shape(), {2, 3, 5});
    xs.assign(x.values());
    const HostWeights w = random_weights(c, r.channels, DType::f32, rng);
    HostTensor y = poisoned_output(c, r.batch, r.length, DType::f32);
    HostTensor ys = poisoned_output(c, r.batch, r.length, DType::f32, {1, 2, 3});
    reference::forward(c, x.view(), w.view(), y.view());
    reference::forward(c, xs.view(), w.view(), ys.view());
    EXPECT_EQ(y.values(), ys.values()) << describe(c);
    // Exactly the view's elements were written: the slack around it is still NaN.
    const auto& bytes = ys.bytes();
    std::int64_t nan_count = 0;
    for (std::size_t i = 0; i < bytes.size(); i += 4) {
      nan_count += std::isnan(detail::load_element(bytes.data() + i, DType::f32, 0)) ? 1 : 0;
    }
    EXPECT_EQ(nan_count, static_cast<std::int64_t>(bytes.size() / 4) - ys.numel());
  }
}

TEST(ReferenceInvariants, WindowsEqualTheWholeOutput) {
  std::mt19937_64 rng(15);
  for (int trial = 0; trial < 30; ++trial) {
    RandomCase r = random_case(rng, static_cast<Padding>(trial % 3));
    r.config.activation = trial % 3 == 0 ? Activation::softmax : Activation::mish;
    const LayerConfig& c = r.config;
    const HostTensor x = random_input(c, r.batch, r.length, r.channels, DType::f32, rng);
    const HostWeights w = random_weights(c, r.channels, DType::f32, rng);
    const auto full = reference::forward_detail(c, x.view(), w.view());
    const std::int64_t lout = full.window.time_count;
    reference::Window win;
    win.batch_begin = r.batch - 1;
    win.batch_count = 1;
    win.time_begin = lout / 2;
    win.time_count = lout - lout / 2;
    const auto part = reference::forward_detail(c, x.view(), w.view(), win);
    for (std::int64_t t = 0; t < win.time_count; ++t)
      for (std::int64_t f = 0; f < c.filters; ++f) {
        const auto i = full.index(win.batch_begin, win.time_begin + t, f);
        const auto j = part.index(0, t, f);
        ASSERT_EQ(full.output[i], part.output[j]);
        ASSERT_EQ(full.magnitude[i], part.magnitude[j]);
      }
  }
}

TEST(ReferenceInvariants, ChannelsFirstSoftmaxNeedsWholeRows) {
  LayerConfig c;
  c.filters = 2;
  c.kernel_size = 3;
  c.padding = Padding::same;
  c.data_format = DataFormat::channels_first;
  c.activation = Activation::softmax;
  std::mt19937_64 rng(16);
  const HostTensor x = random_input(c, 1, 8, 2, DType::f32, rng);
  const HostWeights w = random_weights(c, 2, DType::f32, rng);
  reference::Window win;
  win.time_begin = 1;
  try {
    (void)reference::forward_detail(c, x.view(), w.view(), win);
    ADD_FAILURE() << "a partial time window was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "window");
  }
  const auto d = reference::forward_detail(c, x.view(), w.view());
  for (std::int64_t f = 0; f < 2; ++f) {
    double sum = 0;
    for (std::int64_t t = 0; t < 8; ++t) sum += d.output[d.index(0, t, f)];
    EXPECT_NEAR(sum, 1.0, 1e-14);  // rows along time
  }
}

TEST(ReferenceInvariants, SoftmaxRowsAlongFiltersForChannelsLast) {
  LayerConfig c;
  c.filters = 7;
  c.kernel_size = 2;
  c.padding = Padding::causal;
  c.activation = Activation::softmax;
  std::mt19937_64 rng(17);
  const HostTensor x = random_input(c, 2, 5, 3, DType::f32, rng);
  const HostWeights w = random_weights(c, 3, DType::f32, rng);
  const auto d = reference::forward_detail(c, x.view(), w.view());
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t t = 0; t < 5; ++t) {
      double sum = 0;
      for (std::int64_t f = 0; f < 7; ++f) sum += d.output[d.index(b, t, f)];
      EXPECT_NEAR(sum, 1.0, 1e-14);
    }
}

TEST(ReferenceInvariants, HalfInputsAreUpcastExactly) {
  std::mt19937_64 rng(18);
  for (DType dtype : {DType::f16, DType::bf16}) {
    RandomCase r = random_case(rng, Padding::same);
    const LayerConfig& c = r.config;
    const HostTensor xh = random_input(c, r.batch, r.length, r.channels, dtype, rng);
    const HostWeights wh = random_weights(c, r.channels, dtype, rng);
    // The same values in float32 (exactly representable).
    HostTensor xf(DType::f32, xh.shape());
    xf.assign(xh.values());
    HostWeights wf;
    wf.depthwise = HostTensor(DType::f32, wh.depthwise.shape());
    wf.depthwise.assign(wh.depthwise.values());
    wf.pointwise = HostTensor(DType::f32, wh.pointwise.shape());
    wf.pointwise.assign(wh.pointwise.values());
    if (c.use_bias) {
      wf.bias = HostTensor(DType::f32, wh.bias.shape());
      wf.bias.assign(wh.bias.values());
    }
    const auto a = reference::forward_detail(c, xh.view(), wh.view());
    const auto b = reference::forward_detail(c, xf.view(), wf.view());
    EXPECT_EQ(a.output, b.output);
    HostTensor yh = poisoned_output(c, r.batch, r.length, dtype);
    reference::forward(c, xh.view(), wh.view(), yh.view());
    const auto got = yh.values();
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], detail::round_to(dtype, b.output[i]));
    }
  }
}

TEST(ReferenceInvariants, DepthwiseMatchesTheFormula) {
  std::mt19937_64 rng(19);
  RandomCase r = random_case(rng, Padding::same);
  const LayerConfig& c = r.config;
  const HostTensor x = random_input(c, r.batch, r.length, r.channels, DType::f32, rng);
  const HostWeights w = random_weights(c, r.channels, DType::f32, rng);
  const auto mid = reference::depthwise(c, x.view(), w.depthwise.view());
  const auto g = geometry(c, r.length);
  for (std::int64_t b = 0; b < r.batch; ++b)
    for (std::int64_t t = 0; t < g.out_length; ++t)
      for (std::int64_t ch = 0; ch < r.channels; ++ch)
        for (std::int64_t m = 0; m < c.depth_multiplier; ++m) {
          double s = 0;
          for (std::int64_t j = 0; j < c.kernel_size; ++j) {
            const std::int64_t p = t * c.strides + j * c.dilation_rate - g.pad.left;
            if (p >= 0 && p < r.length) s += w.depthwise.get(j, ch, m) * x.get(b, p, ch);
          }
          ASSERT_EQ(mid.mid[mid.index(b, t, ch * c.depth_multiplier + m)], s);
        }
}

}  // namespace
}  // namespace sepconv::test
