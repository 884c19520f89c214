// The GPU parity suite's cases and checks, host code only (no CUDA call): the case tables, the
// deterministic inputs, the windows each case is checked on, and the checks of a downloaded output
// against the float64 reference. Shared by the GPU binary (test_parity) and the CPU test of the
// tables (test_parity_cases), so CI proves that the cases are what they claim to be.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "detail/host_device.h"
#include "sepconv/layer.h"
#include "sepconv/reference.h"
#include "support/host_tensor.h"

namespace sepconv::test::parity {

/// A layer configuration in one call (the Keras arguments in the order the tables read best).
[[nodiscard]] LayerConfig make_config(std::int64_t filters, std::int64_t kernel, Padding padding,
                                      DataFormat format, Activation activation,
                                      std::int64_t multiplier = 1, std::int64_t strides = 1,
                                      std::int64_t dilation = 1, bool bias = true);

/// Every precision a layer supports: float32 exact, float32 with TF32 GEMMs, float16, bfloat16.
[[nodiscard]] const std::vector<Precision>& all_precisions();
/// "f32", "tf32", "f16" or "bf16".
[[nodiscard]] std::string precision_name(const Precision& precision);

/// One forward to run on the GPU and check against the reference.
struct ParityCase {
  std::string name;  ///< unique within its table; letters, digits and '_' (a test name)
  LayerConfig config;
  Precision precision;
  std::int64_t batch = 1;
  std::int64_t length = 1;
  std::int64_t channels = 1;
  std::array<std::int64_t, 3> x_slack{};  ///< x sliced out of a larger buffer
  std::array<std::int64_t, 3> y_slack{};  ///< y sliced out of a larger buffer (its bytes around
                                          ///< the view must stay untouched)
  /// 0: the whole output is compared with the reference. n > 0: n sampled windows of
  /// `window_steps` output steps (whole rows where softmax along time needs them), which the
  /// reference computes alone.
  int sampled_windows = 0;
  std::int64_t window_steps = 16;
  /// > 0: the forward gets only the workspace one sample of this many input steps needs, so it
  /// runs in chunks (of batches, then of output steps).
  std::int64_t workspace_steps = 0;
  /// Made to take the depthwise kernel's tap-chunked path on an H100 (and on any GPU with less
  /// shared memory per block); the GPU test checks the plan says so.
  bool tap_chunked = false;

  /// One line with everything needed to reproduce the case.
  [[nodiscard]] std::string describe() const;
};

/// GoogleTest prints a case as its name.
inline void PrintTo(const ParityCase& c, std::ostream* os) { *os << c.name; }

/// Output steps of a case (Lout).
[[nodiscard]] std::int64_t output_steps(const ParityCase& c);

/// The dedicated shapes, each in every precision: long sequences (L >= 65536), many channels
/// (C >= 2048), large kernels and dilations (the tap-chunked path: k = 1024, k = 257 with d = 4),
/// strides and huge dilations (the gathered path), sliced views of both formats, chunked
/// workspaces; big ones are checked on sampled windows.
[[nodiscard]] std::vector<ParityCase> shape_cases();
/// Every activation in both formats and every precision, on sliced views.
[[nodiscard]] std::vector<ParityCase> activation_cases();
/// Small forwards, one per kernel path (depthwise variants, tap-chunked and gathered staging,
/// every epilogue kind, sliced views, chunked workspaces): quick enough for compute-sanitizer.
[[nodiscard]] std::vector<ParityCase> path_cases();
/// Forwards captured into CUDA graphs: chunked workspaces (several launches per graph, time and
/// batch chunks), a row reduction along time, a fused relu-bias GEMM epilogue.
[[nodiscard]] std::vector<ParityCase> graph_cases();
/// `count` random configurations of shard `shard` (tests/emulator's random_spec: every padding,
/// strides, dilations, multipliers, kernel sizes, both formats, every activation, ragged sizes,
/// sliced views); the precisions rotate so each gets a quarter of them.
[[nodiscard]] std::vector<ParityCase> random_cases(int shard, int count);

/// The windows a case is checked on: the whole output cut into pieces (so host threads can share
/// the reference's work), or `sampled_windows` samples that always include the first and the last
/// output steps. With softmax / log_softmax along time (channels_first), every window is whole
/// rows.
[[nodiscard]] std::vector<reference::Window> check_windows(const ParityCase& c, std::uint64_t seed);

/// A value in [-1, 1) with 24 random bits (exact in float32) from (seed, index): inputs any
/// thread, and the huge tests' host and device copies, can compute independently.
SEPCONV_HOST_DEVICE inline double hashed_uniform(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;  // splitmix64
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 40) * 0x1p-23 - 1.0;  // 24 bits: k / 2^23 - 1 in [-1, 1)
}
/// Sets every element of the view (row-major index i) to hashed_uniform(seed, i), rounded to the
/// dtype, on all host threads.
void fill_hashed(HostTensor& t, std::uint64_t seed);
/// A seed from a name (FNV-1a), so each case's data is fixed and independent of the others.
[[nodiscard]] std::uint64_t seed_of(const std::string& name);

/// A case's input (hashed) and weights (tests/support's random_weights, seeded).
[[nodiscard]] HostTensor make_input(const ParityCase& c, std::uint64_t seed);
[[nodiscard]] HostWeights make_weights(const ParityCase& c, std::uint64_t seed);

/// Host threads the checks use: SEPCONV_TEST_THREADS, else every hardware thread.
[[nodiscard]] int host_threads();
/// Runs body(0) ... body(n-1) on host_threads() threads.
void parallel_for(std::size_t n, const std::function<void(std::size_t)>& body);

/// What the GPU produced for a case: the inputs, the output of two forwards (each into a fresh
/// NaN-poisoned buffer) and the poisoned buffer itself.
struct Produced {
  HostTensor x;
  HostWeights w;
  HostTensor poisoned;  ///< y's allocation as it was before each forward
  HostTensor y;         ///< after the first forward
  HostTensor y_again;   ///< after the second forward
  std::string plan;     ///< the layer's describe() of the shape, for messages
};

/// Checks that need no reference: every output element written (no NaN left), the bytes around a
/// sliced y untouched, and the two forwards bitwise equal. "" or the problems.
[[nodiscard]] std::string check_output_bytes(const ParityCase& c, const Produced& p);
/// y against the reference inside one window (sepconv::accuracy's bound for the case's dtype and
/// math mode). "" or the problems.
[[nodiscard]] std::string check_window(const ParityCase& c, const Produced& p,
                                       const reference::Window& window);
/// Every check of every run, spread over host threads (each window is one job): one problem
/// string per run ("" when it passed).
[[nodiscard]] std::vector<std::string> check_all(const std::vector<const ParityCase*>& cases,
                                                 const std::vector<const Produced*>& runs);

}  // namespace sepconv::test::parity
