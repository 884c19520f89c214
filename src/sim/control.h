// The simulated device's own controls (SEPCONV_SIMULATED_DEVICE builds only): which device it
// plays, what cuBLASLt's heuristic answers, what went wrong last. Everything else is reached
// through the CUDA runtime and cuBLASLt functions it defines, exactly as on a GPU.
//
// Environment, read once at the first CUDA call:
//   SEPCONV_SIM_DEVICE        h100 (default: an H100 SXM), a100 (an A100 SXM), or none (no
//                             device: cudaGetDeviceCount fails with error 35, as on a machine
//                             without a driver)
//   SEPCONV_SIM_DEVICE_COUNT  devices of that kind (default 1)
#pragma once

#include <cuda_runtime_api.h>
#include <library_types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sepconv::sim {

/// The device being played: the properties cudaGetDeviceProperties and cudaDeviceGetAttribute
/// report and every launch is checked against.
struct Profile {
  std::string name;
  int major = 9;
  int minor = 0;
  int multiprocessors = 132;
  std::size_t memory = 0;                  ///< bytes of device memory
  std::size_t l2_bytes = 0;
  std::size_t shared_per_block = 0;        ///< dynamic shared memory without opt-in (48 KB)
  std::size_t shared_per_block_optin = 0;  ///< with cudaFuncSetAttribute
  std::size_t shared_per_multiprocessor = 0;
  int max_threads_per_block = 1024;
  int max_threads_per_multiprocessor = 2048;
  int max_block_dim[3] = {1024, 1024, 64};
  int max_grid_dim[3] = {2147483647, 65535, 65535};
  int registers_per_block = 65536;
  int registers_per_multiprocessor = 65536;
  int warp_size = 32;
};

/// An H100 SXM5 80 GB and an A100 SXM4 80 GB, as their datasheets give them.
const Profile& h100_profile();
const Profile& a100_profile();
/// The profile of the simulated devices (after the environment was read).
const Profile& profile();

/// A pointwise GEMM as cuBLASLt's heuristic sees it.
struct GemmQuery {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  std::int32_t batch = 1;
  cudaDataType_t type = CUDA_R_32F;  ///< A's and B's
  int element_bytes = 4;
  /// The alignments (bytes) the preference promises for A, B, C, D, and the bias pointer's.
  int align_a = 256, align_b = 256, align_c = 256, align_d = 256, align_bias = 256;
  bool has_bias = false;       ///< a BIAS or RELU_BIAS epilogue
  bool bias_gradient = false;  ///< a BGRADA or BGRADB epilogue
  std::size_t max_workspace = 0;  ///< the preference's MAX_WORKSPACE_BYTES
};

/// What the heuristic answers for a query that passed cuBLASLt's documented requirements: the
/// workspace bytes of the algorithm it returns, or nullopt for "no algorithm" (status
/// CUBLAS_STATUS_NOT_SUPPORTED). An answer above max_workspace also means no algorithm.
using HeuristicPolicy = std::function<std::optional<std::size_t>(const GemmQuery&)>;

/// The default answer: every problem gets an algorithm; it needs 64 KiB of workspace when k >= 256
/// (as a split-K algorithm would) and 32 KiB more when C or D is less than 256-byte aligned (an
/// algorithm for less aligned pointers), each only when max_workspace allows, else none.
std::optional<std::size_t> default_heuristic(const GemmQuery& query);

/// Replaces the heuristic's answer (tests: none, small, large, per alignment); an empty function
/// restores default_heuristic. Applies to later queries.
void set_heuristic(HeuristicPolicy policy);

/// The message of the last error the simulated device reported on this thread (the call, what
/// was wrong), "" when none. Every error is also printed to stderr.
std::string last_error_message();

/// Drops all work enqueued and not yet run, without running it: for tests that plan problems too
/// large to execute (their launches and GEMMs are checked when enqueued).
void discard_pending();

/// Counters since the program started.
struct Stats {
  std::int64_t kernel_launches = 0;  ///< kernels enqueued (graph replays count again)
  std::int64_t matmuls = 0;          ///< cublasLtMatmul calls enqueued
  std::int64_t copies = 0;           ///< memcpy / memset operations enqueued
  std::int64_t executed = 0;         ///< operations run
  std::int64_t pending = 0;          ///< operations enqueued and not yet run
  std::int64_t live_allocations = 0;
};
Stats stats();

/// The parameters of every cublasLtMatmul enqueued since the last call (m, n, k, batch), oldest
/// first, then forgets them: tests check how a forward was cut into GEMMs.
struct MatmulRecord {
  std::int64_t m = 0, n = 0, k = 0;
  std::int32_t batch = 1;
};
std::vector<MatmulRecord> take_matmul_records();

}  // namespace sepconv::sim
