// The GPU backward against the float64 reference (labels gpu, parity; sim on the simulated
// device, where every kernel runs through checked memory and cuBLASLt's descriptors are executed
// with its documented requirements enforced): a training forward (its y checked like forward's),
// then backward, for every activation in both formats, every precision, every padding, strides,
// dilations, multipliers, D kept and recomputed, trainable and not, with and without bias, sliced
// views, a batch of 0, and cuBLASLt without a bias-gradient epilogue. Gradients must lie within
// accuracy::compare_gradients's bound of the reference's at the pre-activations the GPU kept; every
// output starts poisoned with NaN and the bytes around sliced views must stay untouched; the
// backward runs twice and must give the same bits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <tuple>
#include <random>
#include <string>
#include <vector>

#include "gpu_support.h"
#include "plan/plan.h"
#include "sepconv/accuracy.h"
#include "sepconv/reference.h"
#if SEPCONV_SIMULATED_DEVICE
#include "sim/control.h"
#endif

namespace sepconv::test {
namespace {

struct Case {
  std::string name;
  LayerConfig config;
  std::int64_t channels = 3;
  std::int64_t batch = 2;
  std::int64_t length = 17;
  Precision precision;
  bool trainable = true;
  std::array<std::int64_t, 3> slack{};  ///< extra extent around x, dy and dx (sliced views)
  std::uint64_t seed = 1;
};

// A host tensor's device twin with the same allocation and view offset.
using Mirror = DeviceMirror;

struct Result {
  HostTensor dx, ddw, dpw, db;
};

class BackwardRun {
 public:
  explicit BackwardRun(const Case& c)
      : c_(c), layer_(context_, c.config, c.channels, c.precision) {
    std::mt19937_64 rng(c.seed);
    const DType t = c.precision.dtype;
    weights_ = random_weights(c.config, c.channels, t, rng);
    layer_.set_weights(weights_.view());
    layer_.set_trainable(c.trainable);
    x_ = random_input(c.config, c.batch, c.length, c.channels, t, rng, c.slack);
    const auto out = output_shape(c.config, c.batch, c.length);
    dy_ = HostTensor(t, {out[0], out[1], out[2]}, c.slack);
    dy_.fill_uniform(rng, -1, 1);
    y_ = poisoned_output(c.config, c.batch, c.length, t, c.slack);
  }

  // The training forward (y checked against the reference), then the backward; returns the
  // downloaded gradients.
  Result run() {
    const Case& c = c_;
    Mirror dx_dev(x_), dy_dev(dy_), y_dev(y_);
    const std::size_t state_bytes = layer_.training_state_size(c.batch, c.length);
    const std::size_t ws_bytes = layer_.training_workspace_size(c.batch, c.length);
    DeviceBuffer state(std::max<std::size_t>(state_bytes, 1));
    Workspace ws(context_, std::max<std::size_t>(ws_bytes, 256));
    Stream stream;
    layer_.forward_training(dx_dev.view(), y_dev.view(), state.data(), state_bytes, ws.data(),
                            ws.bytes(), stream.get());
    stream.sync();
    y_dev.download(y_);
    if (c.batch > 0) {
      const auto ref = reference::forward_detail(c.config, x_.view(), weights_.view());
      const auto report = accuracy::compare(c.config, c.channels, c.precision, ref, y_.view());
      EXPECT_TRUE(report.ok()) << "training forward: " << report.summary();
      EXPECT_EQ(report.checked, y_.numel());
    }
    // The kept pre-activations: the state's first slice, y-shaped and contiguous, in the GEMMs'
    // type (plan/plan.h, training_state_layout).
    z_ = HostTensor();
    if (c.config.activation != Activation::linear && c.batch > 0) {
      const DType g = c.precision.float32_intermediate ? DType::f32 : c.precision.dtype;
      const auto out = output_shape(c.config, c.batch, c.length);
      z_ = HostTensor(g, {out[0], out[1], out[2]});
      SEPCONV_CUDA_TRY(cudaMemcpy(const_cast<void*>(z_.view().data), state.data(),
                                  static_cast<std::size_t>(z_.numel()) * dtype_size(g),
                                  cudaMemcpyDeviceToHost));
    }

    Result first = backward_once(dx_dev, dy_dev, state, state_bytes, ws, stream);
    Result second = backward_once(dx_dev, dy_dev, state, state_bytes, ws, stream);
    for (auto [a, b, name] : {std::tuple{&first.dx, &second.dx, "dx"},
                              std::tuple{&first.ddw, &second.ddw, "d depthwise"},
                              std::tuple{&first.dpw, &second.dpw, "d pointwise"},
                              std::tuple{&first.db, &second.db, "d bias"}}) {
      EXPECT_EQ(a->bytes(), b->bytes()) << name << ": two backwards differ";
    }
    return first;
  }

  // Checks the gradients against the reference at the kept pre-activations.
  void expect_matches(const Result& r) {
    const Case& c = c_;
    reference::BackwardOptions options;
    options.trainable = c.trainable;
    if (!z_.shape().empty()) options.preactivation = z_.view();
    const auto ref = reference::backward_detail(c.config, x_.view(), weights_.view(), dy_.view(),
                                                options);
    Gradients got = gradients_of(const_cast<Result&>(r));
    const auto report = accuracy::compare_gradients(c.config, c.batch, c.length, c.precision, ref,
                                                    got, c.trainable);
    EXPECT_TRUE(report.ok()) << report.summary();
    EXPECT_EQ(report.input.checked, r.dx.numel());
    if (c.trainable) {
      EXPECT_EQ(report.depthwise.checked, r.ddw.numel());
      EXPECT_EQ(report.pointwise.checked, r.dpw.numel());
      if (c.config.use_bias) {
        EXPECT_EQ(report.bias.checked, r.db.numel());
      }
    }
    // The bytes around a sliced dx stay as they were (NaN).
    EXPECT_EQ(bytes_outside_written(r.dx), 0) << "bytes outside dx's view were written";
  }

  SeparableConv1D& layer() { return layer_; }
  Context& context() { return context_; }

 private:
  // Bytes of a downloaded tensor's allocation outside its view that are no longer the poison.
  static std::int64_t bytes_outside_written(const HostTensor& t) {
    const ConstTensorView v = t.view();
    const auto e = static_cast<std::int64_t>(dtype_size(v.dtype));
    std::vector<bool> inside(t.bytes().size(), false);
    const std::int64_t first = static_cast<const unsigned char*>(v.data) - t.bytes().data();
    for (std::int64_t a = 0; a < v.shape[0]; ++a) {
      for (std::int64_t b = 0; b < (v.rank > 1 ? v.shape[1] : 1); ++b) {
        for (std::int64_t c = 0; c < (v.rank > 2 ? v.shape[2] : 1); ++c) {
          for (std::int64_t i = 0; i < e; ++i) {
            inside[static_cast<std::size_t>(first + v.offset(a, b, c) * e + i)] = true;
          }
        }
      }
    }
    HostTensor pristine = t;
    pristine.poison();
    std::int64_t n = 0;
    for (std::size_t i = 0; i < inside.size(); ++i) {
      if (!inside[i] && t.bytes()[i] != pristine.bytes()[i]) ++n;
    }
    return n;
  }

  static Gradients gradients_of(Result& r) {
    return {r.dx.view(), r.ddw.shape().empty() ? TensorView{} : r.ddw.view(),
            r.dpw.shape().empty() ? TensorView{} : r.dpw.view(),
            r.db.shape().empty() ? TensorView{} : r.db.view()};
  }

  Result backward_once(Mirror& x_dev, Mirror& dy_dev, DeviceBuffer& state, std::size_t state_bytes,
                       Workspace& ws, Stream& stream) {
    const Case& c = c_;
    Result r;
    const auto in = input_shape(c.config, c.batch, c.length, c.channels);
    r.dx = HostTensor(c.precision.dtype, {in[0], in[1], in[2]}, c.slack);
    r.dx.poison();
    if (c.trainable) {
      const std::int64_t cm = c.channels * c.config.depth_multiplier;
      r.ddw = HostTensor(DType::f32, {c.config.kernel_size, c.channels, c.config.depth_multiplier},
                         {1, 0, 2});
      r.dpw = HostTensor(DType::f32, {1, cm, c.config.filters}, {0, 2, 0});
      r.ddw.poison();
      r.dpw.poison();
      if (c.config.use_bias) {
        r.db = HostTensor(DType::f32, {c.config.filters}, {3, 0, 0});
        r.db.poison();
      }
    }
    Mirror gdx(r.dx);
    std::optional<Mirror> gdw, gpw, gb;
    Gradients g{gdx.view(), {}, {}, {}};
    if (!r.ddw.shape().empty()) g.depthwise = gdw.emplace(r.ddw).view();
    if (!r.dpw.shape().empty()) g.pointwise = gpw.emplace(r.dpw).view();
    if (!r.db.shape().empty()) g.bias = gb.emplace(r.db).view();
    layer_.backward(x_dev.view(), dy_dev.view(), state.data(), state_bytes, g, ws.data(),
                    ws.bytes(), stream.get());
    stream.sync();
    gdx.download(r.dx);
    if (gdw) gdw->download(r.ddw);
    if (gpw) gpw->download(r.dpw);
    if (gb) gb->download(r.db);
    return r;
  }

  Case c_;
  Context context_{0};
  SeparableConv1D layer_;
  HostWeights weights_;
  HostTensor x_, dy_, y_, z_;
};

std::string precision_name(const Precision& p) {
  std::string n(to_string(p.dtype));
  if (p.math == MathMode::tf32) n += "_tf32";
  if (p.float32_intermediate) n += "_f32mid";
  return n;
}

std::vector<Case> backward_cases() {
  std::vector<Case> out;
  const Padding paddings[] = {Padding::valid, Padding::same, Padding::causal};
  const DataFormat formats[] = {DataFormat::channels_last, DataFormat::channels_first};
  // Every activation in both formats (float32), the other options rotating.
  for (int a = 0; a < kActivationCount; ++a) {
    for (int f = 0; f < 2; ++f) {
      Case c;
      c.config.activation = static_cast<Activation>(a);
      c.config.data_format = formats[f];
      c.config.filters = 3 + a % 4;
      c.config.kernel_size = 1 + (a + f) % 4;
      c.config.padding = paddings[(a + f) % 3];
      if (a % 3 == 1) c.config.strides = 2;
      if (a % 3 == 2) c.config.dilation_rate = 2;
      c.config.depth_multiplier = 1 + a % 3;
      c.config.use_bias = a % 5 != 0;
      c.channels = 2 + (a + f) % 3;
      c.batch = 1 + a % 3;
      c.length = 9 + a % 7;
      c.seed = static_cast<std::uint64_t>(100 + 2 * a + f);
      c.name = std::string(to_string(c.config.activation)) + (f == 0 ? "_cl" : "_cf");
      out.push_back(c);
    }
  }
  // Every precision in both formats, with an elementwise, a fused-relu and a row activation.
  const Precision precisions[] = {{DType::f32, MathMode::exact, false},
                                  {DType::f32, MathMode::tf32, false},
                                  {DType::f16, MathMode::exact, false},
                                  {DType::bf16, MathMode::exact, false},
                                  {DType::f16, MathMode::exact, true},
                                  {DType::bf16, MathMode::tf32, true}};
  int i = 0;
  for (const Precision& p : precisions) {
    for (int f = 0; f < 2; ++f) {
      for (Activation a : {Activation::gelu, Activation::relu, Activation::softmax}) {
        Case c;
        c.precision = p;
        c.config.activation = a;
        c.config.data_format = formats[f];
        c.config.filters = 8;
        c.config.kernel_size = 5;
        c.config.padding = paddings[i % 3];
        c.config.depth_multiplier = 1 + i % 2;
        c.channels = 4;
        c.batch = 2;
        c.length = 24;
        c.seed = static_cast<std::uint64_t>(300 + i++);
        c.name = precision_name(p) + "_" + std::string(to_string(a)) + (f == 0 ? "_cl" : "_cf");
        out.push_back(c);
      }
    }
  }
  // Paths: D recomputed (a large multiplier) and kept (long kernels), not trainable, no bias,
  // sliced views of x, dy and dx, long rows for the row pass, many channels and filters.
  auto add = [&](const std::string& name, auto&& edit) {
    for (int f = 0; f < 2; ++f) {
      Case c;
      c.config.filters = 6;
      c.config.kernel_size = 3;
      c.config.padding = Padding::same;
      c.config.data_format = formats[f];
      c.config.activation = Activation::tanh;
      c.channels = 3;
      c.batch = 2;
      c.length = 20;
      c.seed = static_cast<std::uint64_t>(500 + out.size());
      edit(c);
      c.name = name + (f == 0 ? "_cl" : "_cf");
      out.push_back(c);
    }
  };
  add("recomputed_d", [](Case& c) { c.config.depth_multiplier = 4; });
  add("kept_d_long_kernel", [](Case& c) {
    c.config.depth_multiplier = 4;
    c.config.kernel_size = 33;
    c.config.padding = Padding::causal;
    c.length = 50;
  });
  add("dilated_valid", [](Case& c) {
    c.config.kernel_size = 4;
    c.config.dilation_rate = 5;
    c.config.padding = Padding::valid;
    c.length = 40;
  });
  add("strided_3", [](Case& c) {
    c.config.strides = 3;
    c.config.kernel_size = 7;
    c.length = 31;
  });
  add("not_trainable", [](Case& c) { c.trainable = false; });
  add("not_trainable_no_bias", [](Case& c) {
    c.trainable = false;
    c.config.use_bias = false;
  });
  add("no_bias", [](Case& c) { c.config.use_bias = false; });
  add("sliced_views", [](Case& c) {
    c.slack = {1, 3, 2};
    c.config.depth_multiplier = 2;
  });
  add("sliced_views_f16", [](Case& c) {
    c.slack = {2, 1, 2};
    c.precision = {DType::f16, MathMode::exact, false};
  });
  add("long_softmax_rows", [](Case& c) {
    c.config.activation = Activation::log_softmax;
    c.config.filters = 300;
    c.length = 290;
    c.batch = 1;
  });
  add("many_channels", [](Case& c) {
    c.channels = 70;
    c.config.filters = 33;
    c.config.depth_multiplier = 2;
    c.length = 12;
  });
  add("linear_mixed_bf16", [](Case& c) {
    c.config.activation = Activation::linear;
    c.precision = {DType::bf16, MathMode::exact, false};
  });
  return out;
}

class BackwardParity : public ::testing::TestWithParam<Case> {};

TEST_P(BackwardParity, MatchesTheReference) {
  BackwardRun run(GetParam());
  run.expect_matches(run.run());
}

INSTANTIATE_TEST_SUITE_P(Cases, BackwardParity, ::testing::ValuesIn(backward_cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

// A batch of 0: nothing to differentiate; the weight gradients are zeros (sums of nothing).
TEST(BackwardGpu, BatchOfZeroWritesZeroWeightGradients) {
  Case c;
  c.config.filters = 4;
  c.config.kernel_size = 3;
  c.batch = 0;
  BackwardRun run(c);
  const Result r = run.run();
  for (const HostTensor* t : {&r.ddw, &r.dpw, &r.db}) {
    for (double v : t->values()) EXPECT_EQ(v, 0.0);
  }
}

// The layer's choice between keeping D and recomputing it, and what the plans run.
TEST(BackwardGpu, DescribeTrainingNamesTheSteps) {
  Context context(0);
  LayerConfig c;
  c.filters = 8;
  c.kernel_size = 3;
  c.activation = Activation::gelu;
  SeparableConv1D kept(context, c, 4);  // M = 1: D is the size of x, kept
  const std::string k = kept.describe_training(2, 64);
  EXPECT_NE(k.find("kept D"), std::string::npos) << k;
  EXPECT_NE(k.find("BGRADB"), std::string::npos) << k;
  EXPECT_NE(k.find("activation gradient"), std::string::npos) << k;
  EXPECT_NE(k.find("depthwise weight gradient"), std::string::npos) << k;
  c.depth_multiplier = 4;  // D four times x: recomputed
  c.data_format = DataFormat::channels_first;
  SeparableConv1D recomputed(context, c, 4);
  const std::string r = recomputed.describe_training(2, 64);
  EXPECT_EQ(r.find("kept D"), std::string::npos) << r;
  EXPECT_NE(r.find("depthwise (x -> D)"), std::string::npos) << r;
  EXPECT_NE(r.find("ones row"), std::string::npos) << r;  // channels_first: the bias gradient row
}

// What the calls refuse before enqueueing anything: a state or workspace too small, host memory,
// weight views for a layer that is not trainable.
TEST(BackwardGpu, BadCallsAreRefusedBeforeAnyWork) {
  Case c;
  c.config.filters = 4;
  c.config.kernel_size = 3;
  c.config.activation = Activation::elu;
  BackwardRun run(c);
  SeparableConv1D& layer = run.layer();
  std::mt19937_64 rng(1);
  const HostTensor x = random_input(c.config, 2, 17, 3, DType::f32, rng);
  HostTensor y = poisoned_output(c.config, 2, 17, DType::f32);
  DeviceMirror dx(x), dy(y);
  const std::size_t state_bytes = layer.training_state_size(2, 17);
  const std::size_t ws_bytes = layer.training_workspace_size(2, 17);
  ASSERT_GT(state_bytes, 0u);
  DeviceBuffer state(state_bytes);
  Workspace ws(run.context(), ws_bytes);
  auto argument = [](auto&& f) {
    try {
      f();
    } catch (const InvalidArgument& e) {
      return e.argument();
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(argument([&] {
              layer.forward_training(dx.view(), dy.view(), state.data(), state_bytes - 1,
                                     ws.data(), ws.bytes());
            }),
            "state");
  EXPECT_EQ(argument([&] {
              layer.forward_training(x.view(), dy.view(), state.data(), state_bytes, ws.data(),
                                     ws.bytes());
            }),
            "x");
  HostTensor gx(DType::f32, {2, 17, 3});
  gx.poison();
  DeviceMirror ggx(gx);
  // A trainable layer needs the weight gradients' views.
  EXPECT_EQ(argument([&] {
              layer.backward(dx.view(), dy.view(), state.data(), state_bytes,
                             {ggx.view(), {}, {}, {}}, ws.data(), ws.bytes());
            }),
            "grad_depthwise");
  layer.set_trainable(false);
  // The backward's workspace holds dz and dD at least: 255 bytes are too few.
  EXPECT_EQ(argument([&] {
              layer.backward(dx.view(), dy.view(), state.data(), state_bytes,
                             {ggx.view(), {}, {}, {}}, ws.data(), 255);
            }),
            "workspace");
  HostTensor gdw(DType::f32, {3, 3, 1});
  DeviceMirror ggdw(gdw);
  EXPECT_EQ(argument([&] {
              layer.backward(dx.view(), dy.view(), state.data(), state_bytes,
                             {ggx.view(), ggdw.view(), {}, {}}, ws.data(), ws.bytes());
            }),
            "grad_depthwise");
  EXPECT_EQ(argument([&] {
              layer.backward(dx.view(), dy.view(), nullptr, 0, {ggx.view(), {}, {}, {}},
                             ws.data(), ws.bytes());
            }),
            "state");
  // Nothing was written by the refused calls.
  HostTensor after = gx;
  ggx.download(after);
  EXPECT_EQ(after.bytes(), gx.bytes()) << "a refused backward wrote dx";
}

// A training forward and a backward captured in one CUDA graph (after an eager call of the shape
// bound the plans): a replay on new x and dy in the same buffers gives, bit for bit, what eager
// calls give; a replay writes every gradient (they start poisoned).
TEST(BackwardGpu, ATrainingStepCapturedInAGraphMatchesEagerCalls) {
  for (const DataFormat format : {DataFormat::channels_last, DataFormat::channels_first}) {
    Context context(0);
    LayerConfig c;
    c.filters = 6;
    c.kernel_size = 3;
    c.padding = Padding::same;
    c.depth_multiplier = 4;  // D recomputed in the backward
    c.activation = Activation::gelu;
    c.data_format = format;
    const std::int64_t C = 3, B = 2, L = 19;
    std::mt19937_64 rng(77);
    SeparableConv1D layer(context, c, C);
    const HostWeights w = random_weights(c, C, DType::f32, rng);
    layer.set_weights(w.view());
    HostTensor x = random_input(c, B, L, C, DType::f32, rng);
    const auto out = output_shape(c, B, L);
    HostTensor dy(DType::f32, {out[0], out[1], out[2]});
    dy.fill_uniform(rng, -1, 1);
    const HostTensor y0 = poisoned_output(c, B, L, DType::f32);
    const auto in = input_shape(c, B, L, C);
    HostTensor gx(DType::f32, {in[0], in[1], in[2]});
    HostTensor gdw(DType::f32, {c.kernel_size, C, c.depth_multiplier});
    HostTensor gpw(DType::f32, {1, C * c.depth_multiplier, c.filters});
    HostTensor gb(DType::f32, {c.filters});
    for (HostTensor* t : {&gx, &gdw, &gpw, &gb}) t->poison();
    DeviceMirror x_dev(x), dy_dev(dy), y_dev(y0), gx_dev(gx), gdw_dev(gdw), gpw_dev(gpw),
        gb_dev(gb);
    const std::size_t state_bytes = layer.training_state_size(B, L);
    DeviceBuffer state(state_bytes);
    Workspace ws(context, layer.training_workspace_size(B, L));
    Stream stream;
    const Gradients g{gx_dev.view(), gdw_dev.view(), gpw_dev.view(), gb_dev.view()};
    auto step = [&] {
      layer.forward_training(x_dev.view(), y_dev.view(), state.data(), state_bytes, ws.data(),
                             ws.bytes(), stream.get());
      layer.backward(x_dev.view(), dy_dev.view(), state.data(), state_bytes, g, ws.data(),
                     ws.bytes(), stream.get());
    };
    auto results = [&] {
      std::vector<HostTensor> r = {y0, gx, gdw, gpw, gb};
      y_dev.download(r[0]);
      gx_dev.download(r[1]);
      gdw_dev.download(r[2]);
      gpw_dev.download(r[3]);
      gb_dev.download(r[4]);
      return r;
    };
    auto poison_outputs = [&] {
      y_dev.upload(y0);
      for (auto [dev, host] : {std::pair{&gx_dev, &gx}, std::pair{&gdw_dev, &gdw},
                               std::pair{&gpw_dev, &gpw}, std::pair{&gb_dev, &gb}}) {
        dev->upload(*host);
      }
    };
    step();  // binds both plans: the capture holds no host work
    stream.sync();
    const auto graph = CapturedGraph::capture(stream.get(), step);
    EXPECT_GE(graph.nodes(), 6u);
    // New inputs in the same buffers: eager, then the graph.
    x = random_input(c, B, L, C, DType::f32, rng);
    dy.fill_uniform(rng, -1, 1);
    x_dev.upload(x);
    dy_dev.upload(dy);
    poison_outputs();
    step();
    stream.sync();
    const auto eager = results();
    poison_outputs();
    graph.launch(stream.get());
    stream.sync();
    const auto replay = results();
    const char* names[] = {"y", "dx", "d depthwise", "d pointwise", "d bias"};
    for (std::size_t i = 0; i < eager.size(); ++i) {
      EXPECT_EQ(eager[i].bytes(), replay[i].bytes()) << names[i] << ": graph and eager differ";
      for (double v : replay[i].values()) {
        ASSERT_FALSE(std::isnan(v)) << names[i] << ": an element the replay did not write";
      }
    }
  }
}

#if SEPCONV_SIMULATED_DEVICE
// cuBLASLt without a bias-gradient epilogue for the problem: the bias gradient is a reduction of
// dz instead, with the same result within the bound.
TEST(BackwardGpu, WithoutTheBiasGradientEpilogueTheBiasGradientSumsDz) {
  sim::set_heuristic([](const sim::GemmQuery& q) -> std::optional<std::size_t> {
    if (q.bias_gradient) return std::nullopt;
    return sim::default_heuristic(q);
  });
  Case c;
  c.config.filters = 7;
  c.config.kernel_size = 3;
  c.config.activation = Activation::silu;
  c.name = "no_bgrad";
  {
    BackwardRun run(c);
    const std::string text = run.layer().describe_training(2, 17);
    EXPECT_EQ(text.find("BGRADB"), std::string::npos) << text;
    EXPECT_NE(text.find("reduction (dz -> grad_bias)"), std::string::npos) << text;
    run.expect_matches(run.run());
  }
  sim::set_heuristic({});
}
#endif

}  // namespace
}  // namespace sepconv::test

int main(int argc, char** argv) {
  return sepconv::test::run_gpu_tests(argc, argv, "sepconv GPU backward tests");
}
