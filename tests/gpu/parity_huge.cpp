// ParityHuge: forwards on tensors of more than 2^31 elements (B = 1, L = 2^24 + 3, C = 130,
// float32), where any 32-bit offset in the depthwise kernel, the GEMM or the epilogue would wrap:
//   channels_last:  x, D and y all pass 2^31 elements (y: F = 130, an elementwise silu pass);
//   channels_first: x and D pass 2^31 (D with the bias's ones row), y is small.
// Inputs are generated on the device from hashed_uniform; the output is poisoned with NaN and
// scanned for NaN on the device afterwards (every element written); the host never holds them;
// the reference checks sampled windows (the padded ends, where x's, D's and y's offsets pass 2^31,
// and random ones) from host views whose untouched pages the OS never maps.
// Select alone with --gtest_filter=ParityHuge.*; skipped, with a message, when the device has too
// little free memory (about 26 GiB channels_last, 18 GiB channels_first).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "detail/message.h"
#include "runtime/device.h"
#include "huge_kernels.h"
#include "parity_gpu.h"
#include "sepconv/accuracy.h"

namespace sepconv::test::parity {
namespace {

constexpr std::int64_t kTwo31 = std::int64_t{1} << 31;
constexpr std::int64_t kLength = (std::int64_t{1} << 24) + 3;
constexpr std::int64_t kChannels = 130;
constexpr std::int64_t kWindowSteps = 32;

// Zeroed host memory the OS maps only where it is touched (glibc's calloc of a large block is a
// fresh mmap), so a full-size host view costs only the windows written into it.
class SparseHostBuffer {
 public:
  explicit SparseHostBuffer(std::size_t bytes)
      : data_(static_cast<unsigned char*>(std::calloc(bytes, 1))) {
    if (data_ == nullptr) throw std::bad_alloc();
  }
  ~SparseHostBuffer() { std::free(data_); }
  SparseHostBuffer(const SparseHostBuffer&) = delete;
  SparseHostBuffer& operator=(const SparseHostBuffer&) = delete;
  [[nodiscard]] float* data() const { return reinterpret_cast<float*>(data_); }

 private:
  unsigned char* data_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double gib(std::size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0); }

// Runs body(begin, end) over [0, n) in blocks on the host threads.
void for_blocks(std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& body) {
  constexpr std::int64_t kBlock = 1 << 16;
  parallel_for(static_cast<std::size_t>((n + kBlock - 1) / kBlock), [&](std::size_t i) {
    const auto begin = static_cast<std::int64_t>(i) * kBlock;
    body(begin, std::min(n, begin + kBlock));
  });
}

// First output steps of the sampled windows: both padded ends, where an element offset of x, D or
// y passes 2^31, and two random ones.
std::vector<std::int64_t> window_starts(const LayerConfig& config, std::int64_t lout,
                                        std::int64_t d_ld) {
  std::vector<std::int64_t> crossings;
  if (config.data_format == DataFormat::channels_last) {
    // Offsets t * row + i: x (row C), D (row d_ld), y (row F).
    for (std::int64_t row : {kChannels, d_ld, config.filters}) crossings.push_back(kTwo31 / row);
  } else {
    // Offsets channel * row_length + t: x (rows of L), D (rows of d_ld); y stays under 2^31.
    for (std::int64_t row : {kLength, d_ld}) crossings.push_back(kTwo31 % row);
  }
  std::vector<std::int64_t> starts{0, lout - kWindowSteps};
  for (std::int64_t t : crossings) {
    starts.push_back(std::clamp<std::int64_t>(t - kWindowSteps / 2, 0, lout - kWindowSteps));
  }
  std::mt19937_64 rng(99);
  for (int i = 0; i < 2; ++i) {
    starts.push_back(std::uniform_int_distribution<std::int64_t>(0, lout - kWindowSteps)(rng));
  }
  return starts;
}

void run_huge(const LayerConfig& config) {
  const auto t_start = std::chrono::steady_clock::now();
  const bool last = config.data_format == DataFormat::channels_last;
  const auto xs = input_shape(config, 1, kLength, kChannels);
  const auto ys = output_shape(config, 1, kLength);
  const std::int64_t x_count = xs[0] * xs[1] * xs[2];
  const std::int64_t y_count = ys[0] * ys[1] * ys[2];
  ASSERT_GT(x_count, kTwo31);
  const auto x_bytes = static_cast<std::size_t>(x_count) * sizeof(float);
  const auto y_bytes = static_cast<std::size_t>(y_count) * sizeof(float);
  const std::uint64_t seed = seed_of(std::string(to_string(config.data_format)));

  Context& ctx = context();
  std::mt19937_64 rng(seed);
  const HostWeights w = random_weights(config, kChannels, DType::f32, rng);
  SeparableConv1D layer(ctx, config, kChannels, Precision{DType::f32, MathMode::exact});
  layer.set_weights(w.view());
  const std::size_t workspace_bytes = layer.workspace_size(1, kLength);
  const std::size_t need = x_bytes + y_bytes + workspace_bytes + (std::size_t{1} << 30);
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  SEPCONV_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (free_bytes < need) {
    GTEST_SKIP() << "ParityHuge: needs " << gib(need) << " GiB of device memory; the device has "
                 << gib(free_bytes) << " GiB free of " << gib(total_bytes);
  }
  const std::string plan = layer.describe(1, kLength);

  DeviceBuffer dx(x_bytes);
  DeviceBuffer dy(y_bytes);
  Workspace workspace(ctx, workspace_bytes);
  auto* x_device = static_cast<float*>(dx.data());
  auto* y_device = static_cast<float*>(dy.data());
  // Generated and poisoned on the device, on the forward's stream: nothing of the ~9 GB moves
  // through the host.
  Stream stream;
  auto t0 = std::chrono::steady_clock::now();
  fill_hashed_on_device(x_device, x_count, seed, stream.get());
  SEPCONV_CUDA_TRY(cudaMemsetAsync(y_device, 0xFF, y_bytes, stream.get()));  // all-ones: NaN
  stream.sync();
  const double upload_s = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  layer.forward(contiguous_view(static_cast<const float*>(x_device), {xs[0], xs[1], xs[2]}),
                contiguous_view(y_device, {ys[0], ys[1], ys[2]}), workspace.data(),
                workspace.bytes(), stream.get());
  stream.sync();
  const double forward_s = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  const std::int64_t nan = count_nan_on_device(y_device, y_count, stream.get());
  const double scan_s = seconds_since(t0);
  EXPECT_EQ(nan, 0) << "outputs left unwritten (NaN) out of " << y_count << "\n" << plan;

  // Sampled windows: the inputs each needs (hashed again on the host) and its outputs.
  t0 = std::chrono::steady_clock::now();
  const Geometry g = geometry(config, kLength);
  const std::int64_t lout = g.out_length;
  const std::int64_t d_ld =
      last ? (kChannels * config.depth_multiplier + 7) / 8 * 8 : (lout + 7) / 8 * 8;
  SparseHostBuffer hx(x_bytes);
  SparseHostBuffer hy(y_bytes);
  const ConstTensorView x_host =
      contiguous_view(static_cast<const float*>(hx.data()), {xs[0], xs[1], xs[2]});
  const ConstTensorView y_host =
      contiguous_view(static_cast<const float*>(hy.data()), {ys[0], ys[1], ys[2]});
  const std::vector<std::int64_t> starts = window_starts(config, lout, d_ld);
  for (std::int64_t t : starts) {
    const std::int64_t p0 = std::max<std::int64_t>(0, t * config.strides - g.pad.left);
    const std::int64_t p1 = std::min(
        kLength, (t + kWindowSteps - 1) * config.strides - g.pad.left + g.effective_kernel);
    for (std::int64_t c = 0; c < (last ? 1 : kChannels); ++c) {
      // channels_last: steps [p0, p1) are one run of x; channels_first: one run per channel.
      const std::int64_t begin = last ? p0 * kChannels : c * kLength + p0;
      const std::int64_t end = last ? p1 * kChannels : c * kLength + p1;
      for_blocks(end - begin, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = begin + b; i < begin + e; ++i) {
          hx.data()[i] = static_cast<float>(hashed_uniform(seed, static_cast<std::uint64_t>(i)));
        }
      });
    }
    const std::size_t row = sizeof(float) * static_cast<std::size_t>(last ? config.filters : lout);
    if (last) {
      SEPCONV_CUDA_TRY(cudaMemcpyAsync(hy.data() + t * config.filters,
                                       y_device + t * config.filters, row * kWindowSteps,
                                       cudaMemcpyDeviceToHost, stream.get()));
    } else {
      SEPCONV_CUDA_TRY(cudaMemcpy2DAsync(hy.data() + t, row, y_device + t, row,
                                         sizeof(float) * kWindowSteps,
                                         static_cast<std::size_t>(config.filters),
                                         cudaMemcpyDeviceToHost, stream.get()));
    }
    stream.sync();
  }
  std::vector<std::string> problems(starts.size());
  parallel_for(starts.size(), [&](std::size_t i) {
    const reference::Window window{0, 1, starts[i], kWindowSteps};
    const auto ref = reference::forward_detail(config, x_host, w.view(), window);
    const auto report =
        accuracy::compare(config, kChannels, DType::f32, MathMode::exact, ref, y_host);
    if (!report.ok() || report.checked != kWindowSteps * config.filters) {
      problems[i] =
          detail::str("  window t[", starts[i], ", +", kWindowSteps, "): ", report.summary(), "\n");
    }
  });
  const double windows_s = seconds_since(t0);
  std::string all;
  for (const auto& p : problems) all += p;
  EXPECT_TRUE(all.empty()) << plan << all;

  std::printf(
      "[   INFO   ] %s: x (%lld, %lld, %lld) = %lld elements, y %lld elements; device fill %.1f s, "
      "forward %.3f s, NaN scan %.1f s, %zu windows %.1f s, total %.1f s\n",
      to_string(config.data_format).data(), static_cast<long long>(xs[0]),
      static_cast<long long>(xs[1]), static_cast<long long>(xs[2]), static_cast<long long>(x_count),
      static_cast<long long>(y_count), upload_s, forward_s, scan_s, starts.size(), windows_s,
      seconds_since(t_start));
}

TEST(ParityHuge, ChannelsLastMoreThan2Pow31Elements) {
  run_huge(make_config(kChannels, 7, Padding::same, DataFormat::channels_last, Activation::silu));
}

TEST(ParityHuge, ChannelsFirstMoreThan2Pow31Elements) {
  run_huge(make_config(8, 5, Padding::causal, DataFormat::channels_first, Activation::tanh));
}

}  // namespace
}  // namespace sepconv::test::parity
