// sepconv example: trains one SeparableConv1D layer with plain SGD to reproduce the output of a
// "teacher" layer of the same shape on random data, on the CPU (the float64 reference's forward
// and backward) or the GPU (SeparableConv1D::forward_training and backward).
//
//   sgd_train [--device cpu|gpu] [--steps N]
//
// Each step draws a fresh batch x, asks the teacher for its output t, runs the student forward
// (y), takes the mean squared error L = mean((y - t)^2), hands dL/dy = 2 (y - t) / N to the
// backward and moves every weight against its gradient: w -= lr * dL/dw. The loss is printed as it
// falls. Exit status: 0 when the loss of the last steps is at least kRequiredFactor times below
// the first step's, 1 otherwise or on an error, 77 for --device gpu without a usable device.
#include <sepconv/reference.h>
#include <sepconv/sepconv.h>

#if SEPCONV_WITH_CUDA
#include <sepconv/layer.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

// The loss must fall at least this much: the average of the last 10 steps against the first
// step. (The student starts from an unrelated random init; the default 300 steps at lr 1 reach
// about 120x on the CPU, so 20x leaves room for another device's rounding.)
constexpr double kRequiredFactor = 20.0;

constexpr std::int64_t kBatch = 8, kLength = 32, kChannels = 4;

sepconv::LayerConfig layer_config() {
  sepconv::LayerConfig c;
  c.filters = 8;
  c.kernel_size = 5;
  c.padding = sepconv::Padding::same;
  c.depth_multiplier = 2;
  c.activation = sepconv::Activation::tanh;
  return c;
}

// Weights in Keras's layouts, float32 (the layer's dtype).
struct Weights {
  std::vector<float> depthwise, pointwise, bias;  // (k, C, M), (1, C*M, F), (F)
  [[nodiscard]] sepconv::Weights views(const sepconv::LayerConfig& c) const {
    const std::int64_t cm = kChannels * c.depth_multiplier;
    return {sepconv::contiguous_view(depthwise.data(), {c.kernel_size, kChannels, c.depth_multiplier}),
            sepconv::contiguous_view(pointwise.data(), {1, cm, c.filters}),
            sepconv::contiguous_view(bias.data(), {c.filters})};
  }
  // Where a backward writes, with dx beside.
  [[nodiscard]] sepconv::Gradients gradients(const sepconv::LayerConfig& c, sepconv::TensorView dx) {
    const std::int64_t cm = kChannels * c.depth_multiplier;
    return {dx, sepconv::contiguous_view(depthwise.data(), {c.kernel_size, kChannels, c.depth_multiplier}),
            sepconv::contiguous_view(pointwise.data(), {1, cm, c.filters}),
            sepconv::contiguous_view(bias.data(), {c.filters})};
  }
};

Weights random_weights(const sepconv::LayerConfig& c, float dw_scale, float pw_scale,
                       float bias_scale, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  const auto draw = [&](std::int64_t n, float scale) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& e : v) e = scale * u(rng);
    return v;
  };
  const std::int64_t cm = kChannels * c.depth_multiplier;
  return {draw(c.kernel_size * cm, dw_scale), draw(cm * c.filters, pw_scale),
          draw(c.filters, bias_scale)};
}

// Where the student's forward and backward run.
class Device {
 public:
  virtual ~Device() = default;
  virtual void set_weights(const Weights& w) = 0;
  // y = student(x), keeping what the backward needs.
  virtual void forward(const std::vector<float>& x, std::vector<float>& y) = 0;
  // The weight gradients for dL/dy at the last forward's x.
  virtual void backward(const std::vector<float>& x, const std::vector<float>& dy,
                        Weights& gradients) = 0;
};

sepconv::TensorView view_of(std::vector<float>& v, std::int64_t a, std::int64_t b, std::int64_t c) {
  return sepconv::contiguous_view(v.data(), {a, b, c});
}
sepconv::ConstTensorView view_of(const std::vector<float>& v, std::int64_t a, std::int64_t b,
                                 std::int64_t c) {
  return sepconv::contiguous_view(v.data(), {a, b, c});
}

// The float64 CPU reference (host memory, any machine).
class Cpu final : public Device {
 public:
  explicit Cpu(const sepconv::LayerConfig& c) : config_(c) {}
  void set_weights(const Weights& w) override { weights_ = w; }
  void forward(const std::vector<float>& x, std::vector<float>& y) override {
    sepconv::reference::forward(config_, view_of(x, kBatch, kLength, kChannels),
                                weights_.views(config_), view_of(y, kBatch, kLength, config_.filters));
  }
  void backward(const std::vector<float>& x, const std::vector<float>& dy, Weights& g) override {
    std::vector<float> dx(x.size());
    sepconv::reference::backward(config_, view_of(x, kBatch, kLength, kChannels),
                                 weights_.views(config_), view_of(dy, kBatch, kLength, config_.filters),
                                 g.gradients(config_, view_of(dx, kBatch, kLength, kChannels)));
  }

 private:
  sepconv::LayerConfig config_;
  Weights weights_;
};

#if SEPCONV_WITH_CUDA
// The GPU layer: a training forward keeps its state in device memory this class owns; the
// backward reads it. x, y, dy and the gradients travel through the host here to keep the example
// short (the loss and the update are host code); a real trainer keeps them on the device.
class Gpu final : public Device {
 public:
  explicit Gpu(const sepconv::LayerConfig& c)
      : config_(c), layer_(context_, c, kChannels) {
    const auto cm = static_cast<std::size_t>(kChannels * c.depth_multiplier);
    const auto k = static_cast<std::size_t>(c.kernel_size), filters = static_cast<std::size_t>(c.filters);
    const std::size_t f = sizeof(float), rows = kBatch * kLength;
    x_ = sepconv::DeviceBuffer(rows * kChannels * f);
    y_ = sepconv::DeviceBuffer(rows * filters * f);
    dy_ = sepconv::DeviceBuffer(rows * filters * f);
    dx_ = sepconv::DeviceBuffer(rows * kChannels * f);
    ddw_ = sepconv::DeviceBuffer(k * cm * f);
    dpw_ = sepconv::DeviceBuffer(cm * filters * f);
    db_ = sepconv::DeviceBuffer(filters * f);
    state_bytes_ = layer_.training_state_size(kBatch, kLength);
    state_ = sepconv::DeviceBuffer(std::max<std::size_t>(state_bytes_, 1));
    workspace_ = sepconv::Workspace(context_, layer_.training_workspace_size(kBatch, kLength));
    sepconv::cuda_check(cudaStreamCreate(&stream_), "cudaStreamCreate");
  }
  ~Gpu() override { static_cast<void>(cudaStreamDestroy(stream_)); }
  Gpu(const Gpu&) = delete;
  Gpu& operator=(const Gpu&) = delete;

  [[nodiscard]] std::string describe() const { return context_.describe(); }
  void set_weights(const Weights& w) override { layer_.set_weights(w.views(config_)); }

  void forward(const std::vector<float>& x, std::vector<float>& y) override {
    upload(x_, x);
    layer_.forward_training(device_view(x_, kChannels), device_view(y_, config_.filters),
                            state_.data(), state_bytes_, workspace_.data(), workspace_.bytes(),
                            stream_);
    download(y, y_);
  }
  void backward(const std::vector<float>&, const std::vector<float>& dy, Weights& g) override {
    upload(dy_, dy);
    // The device gradients have the host ones' shapes: the same views, on the device buffers.
    sepconv::Gradients gradients = g.gradients(config_, device_view(dx_, kChannels));
    gradients.depthwise.data = ddw_.data();
    gradients.pointwise.data = dpw_.data();
    gradients.bias.data = db_.data();
    layer_.backward(device_view(x_, kChannels), device_view(dy_, config_.filters), state_.data(),
                    state_bytes_, gradients, workspace_.data(), workspace_.bytes(), stream_);
    download(g.depthwise, ddw_);
    download(g.pointwise, dpw_);
    download(g.bias, db_);
  }

 private:
  sepconv::TensorView device_view(const sepconv::DeviceBuffer& b, std::int64_t channels) const {
    return sepconv::contiguous_view(static_cast<float*>(b.data()), {kBatch, kLength, channels});
  }
  void upload(const sepconv::DeviceBuffer& to, const std::vector<float>& from) {
    sepconv::cuda_check(cudaMemcpyAsync(to.data(), from.data(), from.size() * sizeof(float),
                                        cudaMemcpyHostToDevice, stream_),
                        "cudaMemcpyAsync");
  }
  void download(std::vector<float>& to, const sepconv::DeviceBuffer& from) {
    sepconv::cuda_check(cudaMemcpyAsync(to.data(), from.data(), to.size() * sizeof(float),
                                        cudaMemcpyDeviceToHost, stream_),
                        "cudaMemcpyAsync");
    sepconv::cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }

  sepconv::LayerConfig config_;
  sepconv::Context context_{0};
  sepconv::SeparableConv1D layer_;
  sepconv::DeviceBuffer x_, y_, dy_, dx_, ddw_, dpw_, db_, state_;
  sepconv::Workspace workspace_;
  std::size_t state_bytes_ = 0;
  cudaStream_t stream_ = nullptr;
};
#endif

int usage() {
  std::fprintf(stderr, "usage: sgd_train [--device cpu|gpu] [--steps N]\n");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string device = "cpu";
  int steps = 300;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--device" && i + 1 < argc) {
      device = argv[++i];
    } else if (arg == "--steps" && i + 1 < argc) {
      steps = std::atoi(argv[++i]);
    } else {
      return usage();
    }
  }
  if ((device != "cpu" && device != "gpu") || steps < 20) return usage();

  try {
    const sepconv::LayerConfig config = layer_config();
    std::mt19937 rng(2026);
    const Weights teacher_weights = random_weights(config, 0.6f, 0.4f, 0.3f, rng);
    // The student: an unrelated init (Keras's glorot_uniform bounds for these shapes, bias 0).
    const auto glorot = [](double fan_in, double fan_out) {
      return static_cast<float>(std::sqrt(6.0 / (fan_in + fan_out)));
    };
    const float dw_limit = glorot(config.kernel_size * config.depth_multiplier,
                                  config.kernel_size * kChannels);
    const float pw_limit = glorot(kChannels * config.depth_multiplier, config.filters);
    Weights student = random_weights(config, dw_limit, pw_limit, 0.f, rng);

    std::unique_ptr<Device> run;
    std::string where = "cpu (the float64 reference)";
    if (device == "gpu") {
#if SEPCONV_WITH_CUDA
      if (!sepconv::cuda_device_available()) {
        std::printf("sgd_train: no usable CUDA device; nothing to run\n");
        return 77;
      }
      auto gpu = std::make_unique<Gpu>(config);
      where = "gpu " + gpu->describe();
      run = std::move(gpu);
#else
      std::printf("sgd_train: this build has no GPU API; nothing to run\n");
      return 77;
#endif
    } else {
      run = std::make_unique<Cpu>(config);
    }
    std::printf("sgd_train: %d steps of SGD on %s\n", steps, where.c_str());

    Cpu teacher(config);
    teacher.set_weights(teacher_weights);
    const std::size_t n_x = kBatch * kLength * kChannels;
    const std::size_t n_y = kBatch * kLength * static_cast<std::size_t>(config.filters);
    std::vector<float> x(n_x), target(n_y), y(n_y), dy(n_y);
    Weights grad = student;  // same sizes
    std::normal_distribution<float> normal(0.f, 1.f);
    const float lr = 1.0f;
    double first = 0, last = 0;
    for (int step = 0; step < steps; ++step) {
      for (auto& e : x) e = normal(rng);
      teacher.forward(x, target);
      run->set_weights(student);
      run->forward(x, y);
      double loss = 0;
      for (std::size_t i = 0; i < n_y; ++i) {
        const double d = static_cast<double>(y[i]) - target[i];
        loss += d * d;
        dy[i] = static_cast<float>(2.0 * d / static_cast<double>(n_y));
      }
      loss /= static_cast<double>(n_y);
      run->backward(x, dy, grad);
      for (auto [w, g] : {std::pair{&student.depthwise, &grad.depthwise},
                          std::pair{&student.pointwise, &grad.pointwise},
                          std::pair{&student.bias, &grad.bias}}) {
        for (std::size_t i = 0; i < w->size(); ++i) (*w)[i] -= lr * (*g)[i];
      }
      if (step == 0) first = loss;
      if (step >= steps - 10) last += loss / 10;
      if (step % 25 == 0 || step == steps - 1) std::printf("  step %4d  loss %.6f\n", step, loss);
    }
    const double factor = first / last;
    std::printf("sgd_train: loss %.6f -> %.6f (mean of the last 10 steps): %.1fx lower; required "
                "%.0fx\n", first, last, factor, kRequiredFactor);
    return factor >= kRequiredFactor ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sgd_train: %s\n", e.what());
    return 1;
  }
}
