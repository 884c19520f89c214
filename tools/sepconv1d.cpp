// sepconv1d — runs a SeparableConv1D layer. `sepconv1d run` with no files runs a built-in demo
// layer on seeded random data.
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "sepconv/sepconv.h"

namespace {

int demo() {
  sepconv::LayerConfig config;
  config.filters = 64;
  config.kernel_size = 9;
  config.padding = sepconv::Padding::same;
  config.depth_multiplier = 2;
  config.activation = sepconv::Activation::gelu;
  const std::int64_t batch = 4, length = 512, channels = 32;
  const std::int64_t cm = channels * config.depth_multiplier;

  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  auto random = [&](std::size_t n, float scale) {
    std::vector<float> v(n);
    for (auto& e : v) e = scale * uniform(rng);
    return v;
  };
  const auto x = random(static_cast<std::size_t>(batch * length * channels), 1.f);
  const auto dw = random(static_cast<std::size_t>(config.kernel_size * cm), 1.f);
  const auto pw = random(static_cast<std::size_t>(cm * config.filters), 0.125f);
  const auto bias = random(static_cast<std::size_t>(config.filters), 0.5f);
  const std::int64_t lout = sepconv::output_length(config, length);
  std::vector<float> y(static_cast<std::size_t>(batch * lout * config.filters));

  const sepconv::Weights weights{
      sepconv::contiguous_view(dw.data(), {config.kernel_size, channels, config.depth_multiplier}),
      sepconv::contiguous_view(pw.data(), {1, cm, config.filters}),
      sepconv::contiguous_view(bias.data(), {config.filters})};
  const auto start = std::chrono::steady_clock::now();
  sepconv::reference::forward(config, sepconv::contiguous_view(x.data(), {batch, length, channels}),
                              weights, sepconv::contiguous_view(y.data(), {batch, lout, config.filters}));
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  double checksum = 0;
  for (float v : y) checksum += v;
  std::printf("sepconv %s demo: SeparableConv1D(filters=%lld, kernel_size=%lld, padding=same, "
              "depth_multiplier=%lld, activation=gelu)\n",
              sepconv::version_string(), static_cast<long long>(config.filters),
              static_cast<long long>(config.kernel_size),
              static_cast<long long>(config.depth_multiplier));
  std::printf("  input  (%lld, %lld, %lld) float32 channels_last, seed 2026\n",
              static_cast<long long>(batch), static_cast<long long>(length),
              static_cast<long long>(channels));
  std::printf("  output (%lld, %lld, %lld)\n", static_cast<long long>(batch),
              static_cast<long long>(lout), static_cast<long long>(config.filters));
  std::printf("  device cpu (reference, float64 accumulation): %.2f ms\n", ms);
  std::printf("  checksum (sum of outputs): %.6f\n", checksum);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 2 && std::string(argv[1]) == "run") return demo();
    std::fprintf(stderr, "usage: sepconv1d run\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sepconv1d: %s\n", e.what());
    return 1;
  }
}
