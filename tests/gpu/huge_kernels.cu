// ParityHuge's device-side fill and NaN scan: kernels (cuda/launch.h) launched through the
// library's one launch seam.
#include "huge_kernels.h"

#include <vector>

#include "detail/cuda_check.h"
#include "runtime/device.h"
#include "kernels/launch.cuh"
#include "parity_case.h"

namespace sepconv::test::parity {
namespace {

constexpr int kThreads = 256;
constexpr std::int64_t kBlocks = 2048;

struct HashFill {
  struct State {};
  static constexpr int kMaxThreads = kThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "test hashed fill";
  float* x = nullptr;
  std::int64_t count = 0;
  std::uint64_t seed = 0;
  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    const std::int64_t stride = ex.grid() * kThreads;
    ex.phase([&](int t, State&) {
      for (std::int64_t i = cta * kThreads + t; i < count; i += stride) {
        ex.memory().store_global(
            x + i, static_cast<float>(hashed_uniform(seed, static_cast<std::uint64_t>(i))));
      }
    });
  }
};

// Each thread counts the NaN of its grid-stride share into counts[cta * kThreads + t]: no atomics,
// the host adds them up.
struct NanCount {
  struct State {};
  static constexpr int kMaxThreads = kThreads;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "test NaN count";
  const float* x = nullptr;
  std::int64_t count = 0;
  std::int64_t* counts = nullptr;
  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    const std::int64_t stride = ex.grid() * kThreads;
    ex.phase([&](int t, State&) {
      std::int64_t nan = 0;
      for (std::int64_t i = cta * kThreads + t; i < count; i += stride) {
        const float v = ex.memory().load_global(x + i);
        nan += v != v ? 1 : 0;
      }
      ex.memory().store_global(counts + cta * kThreads + t, nan);
    });
  }
};

}  // namespace

void fill_hashed_on_device(float* x, std::int64_t count, std::uint64_t seed, cudaStream_t stream) {
  detail::launch_kernel(HashFill{x, count, seed}, {kBlocks, kThreads, 0, false}, stream);
}

std::int64_t count_nan_on_device(const float* x, std::int64_t count, cudaStream_t stream) {
  DeviceBuffer counts(static_cast<std::size_t>(kBlocks * kThreads) * sizeof(std::int64_t));
  auto* c = static_cast<std::int64_t*>(counts.data());
  detail::launch_kernel(NanCount{x, count, c}, {kBlocks, kThreads, 0, false}, stream);
  std::vector<std::int64_t> host(static_cast<std::size_t>(kBlocks * kThreads));
  SEPCONV_CUDA_TRY(cudaMemcpyAsync(host.data(), c, host.size() * sizeof(std::int64_t),
                                   cudaMemcpyDeviceToHost, stream));
  SEPCONV_CUDA_TRY(cudaStreamSynchronize(stream));
  std::int64_t total = 0;
  for (const auto n : host) total += n;
  return total;
}

}  // namespace sepconv::test::parity
