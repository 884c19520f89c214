// The plan: everything one forward launch needs, derived once on the host from the config, the
// shapes and the pointer alignment. No CUDA calls; printable with describe(). The CUDA executor
// turns it into kernel launches and a cuBLASLt matmul; the CPU emulator runs the same plan with
// the same tile code on the host.
//
// A launch covers a window of the problem: batches [batch_begin, +batch_count) and output steps
// [time_begin, +time_count). A whole forward is one window, or several when it is processed in
// chunks that fit a reserved workspace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan/steps.h"
#include "sepconv/config.h"

namespace sepconv::detail {

/// Device limits the plan is checked against. The defaults are an H100's (sm_90); the executor
/// reads the real ones with cudaDeviceGetAttribute.
struct DeviceLimits {
  std::int64_t max_threads_per_block = 1024;
  std::int64_t max_grid_x = 2147483647;  // 2^31 - 1
  std::int64_t max_grid_yz = 65535;
  std::int64_t shared_default = 48 * 1024;      // dynamic shared memory without opt-in
  std::int64_t shared_optin = 227 * 1024;       // cap with cudaFuncAttributeMaxDynamicSharedMemorySize
  std::int64_t multiprocessors = 132;
  /// The shared memory the depthwise plan may use per block (<= shared_optin). Tests lower it to
  /// force the tap-chunked path on small shapes.
  std::int64_t shared_budget = 96 * 1024;
};

/// A piece of the workspace: which buffer, where it starts (bytes, 256-aligned), how long.
struct WorkspaceSlice {
  Buffer buffer = Buffer::d;
  std::int64_t offset = 0;
  std::int64_t bytes = 0;
};

/// A forward's plan for one window: the problem, the strategy chosen for it, and its steps with
/// the workspace they need. make_plan chooses the strategy; the executor runs any plan's steps in
/// order without knowing which strategy made them.
struct Plan {
  LayerConfig config;
  Precision precision;
  ProblemShape shape;  ///< of the whole problem
  LaunchWindow window;
  BiasMode bias = BiasMode::none;
  std::string strategy;  ///< what made the steps ("two-kernel forward")
  std::vector<Step> steps;
  /// Workspace slices of the steps' buffers (D, Z), in order; the GEMM's own workspace follows
  /// them once its algorithm is chosen (runtime's BoundPlan).
  std::vector<WorkspaceSlice> workspace;
  /// Slices of the caller's training state (saved_z, saved_d): what a training forward keeps for
  /// the backward (training_state_layout).
  std::vector<WorkspaceSlice> state;

  /// Bytes of a workspace or training-state buffer (0 when the plan has none).
  [[nodiscard]] std::int64_t bytes(Buffer b) const;
  /// Bytes of every slice, 256-byte aligned.
  [[nodiscard]] std::int64_t workspace_bytes() const;
  /// Bytes of the training state's slices (0 for a forward).
  [[nodiscard]] std::int64_t state_bytes() const;
  /// The plan of a strategy's step of that kind (the first); throws when it has none.
  [[nodiscard]] const DepthwisePlan& depthwise() const;
  [[nodiscard]] const GemmPlan& gemm() const;
  [[nodiscard]] const EpiloguePlan& epilogue() const;
  [[nodiscard]] bool has_epilogue() const;
  [[nodiscard]] bool float32_intermediate() const {
    return precision.float32_intermediate && precision.dtype != DType::f32;
  }

  /// A multi-line human-readable account of what will run.
  [[nodiscard]] std::string describe() const;
};

/// What a plan depends on: the validated problem, the views' layout and alignment.
struct PlanRequest {
  LayerConfig config;   ///< validated (the layer's)
  Precision precision;  ///< validated
  ProblemShape shape;   ///< from validate_forward (or the same arithmetic for placeholder views)
  LaunchWindow window;  ///< counts of 0 mean the whole problem
  // Input view strides (elements) in its own (B, L, C) / (B, C, L) order.
  std::int64_t x_strides[3] = {0, 0, 0};
  // Output view strides (elements) in (B, Lout, F) / (B, F, Lout) order.
  std::int64_t y_strides[3] = {0, 0, 0};
  /// Alignment (bytes, power of two <= 256) of the x and y base pointers (after the window's
  /// offset) and of the bias pointer.
  int x_align = 256;
  int y_align = 256;
  int bias_align = 256;
  /// Force a bias mode (tests, and the runtime's fallback when cuBLASLt has no algorithm with a
  /// bias epilogue); BiasMode::none means "choose".
  BiasMode force_bias = BiasMode::none;
  /// The GEMM writes a 256-byte-aligned scratch Z of its own type, and the pass after it copies
  /// Z into y: for outputs cuBLASLt has no algorithm for (less aligned than its kernels need).
  bool gemm_to_scratch = false;
  /// A streaming chunk (the streaming strategy): `shape` is validate_chunk's (length: the chunk's
  /// steps; geometry: its outputs and pad.left, the steps before the chunk its first output reads
  /// from the state's history), x strides and alignment the chunk's. The window is the whole chunk.
  bool stream = false;

  // ---- training: the training forward and the backward (docs/architecture.md, "The backward") --
  enum class Pass : std::uint8_t {
    forward,           ///< the forward alone
    training_forward,  ///< the forward keeping z (and D when keep_d) in the caller's state
    backward,          ///< the gradients from dy and the training state
  };
  Pass pass = Pass::forward;
  /// D is kept in the training state (keep_intermediate's choice; training forward and backward
  /// must agree).
  bool keep_d = false;
  /// backward: the weight gradients too (false: dx only).
  bool trainable = true;
  /// backward: no BGRADB epilogue (cuBLASLt had no algorithm with it): the bias gradient is a
  /// reduction of dz.
  bool no_bias_gradient_epilogue = false;
  /// backward: strides (elements) of dy ((B, Lout, F) / (B, F, Lout) order), dx (x's order) and
  /// the weight gradients (Keras layouts: (k, C, M), (1, C*M, F), (F)).
  std::int64_t dy_strides[3] = {0, 0, 0};
  std::int64_t dx_strides[3] = {0, 0, 0};
  std::int64_t grad_depthwise_strides[3] = {0, 0, 0};
  std::int64_t grad_pointwise_strides[3] = {0, 0, 0};
  std::int64_t grad_bias_stride = 0;
};

/// The whole plan for a request (make_plan chooses the strategy: the two-kernel forward (the
/// depthwise kernel into D, a cuBLASLt GEMM, the passes after it when needed), a streaming chunk,
/// the training forward or the backward). Throws
/// InvalidArgument for a window outside the problem or one that splits a row reduction, and
/// Unsupported when no tiling fits the limits (never for valid inputs).
[[nodiscard]] Plan make_plan(const PlanRequest& request, const DeviceLimits& limits = {});

/// The two-kernel forward's steps. plan_depthwise appends the depthwise step (tiling, D's
/// layout) and D's workspace; plan_pointwise then the GEMM (and Z's workspace when it writes a
/// scratch) and, when needed, the passes after it.
void plan_depthwise(const PlanRequest& request, const DeviceLimits& limits, Plan& plan);
void plan_pointwise(const PlanRequest& request, Plan& plan);

/// The streaming chunk's steps (docs/architecture.md, "Streaming"): the state's history and the
/// chunk copied side by side into the workspace, the two-kernel forward's steps on that with
/// valid windows from the chunk's first output on (none when it has no output), and the chunk's
/// last d*(k-1) steps copied into the history. Without history (d*(k-1) = 0) the depthwise step
/// reads the chunk itself and nothing is copied.
void plan_stream(const PlanRequest& request, const DeviceLimits& limits, Plan& plan);
/// The backward's steps (plan/plan_backward.cpp): dz from dy and the kept z, D (kept, or
/// recomputed by the depthwise step), the dmid GEMM, dx, and with `trainable` the pointwise
/// gradient GEMM (its BGRADB epilogue giving the bias gradient for channels_last; the ones row of
/// D for channels_first), the depthwise gradient's chunk sums and the reductions into the caller's
/// gradients.
void plan_backward(const PlanRequest& request, const DeviceLimits& limits, Plan& plan);

/// Moves a buffer's workspace slice into the training state (after the slices there) under the
/// name `to`, renaming it in the steps and packing the remaining workspace slices again.
void move_to_state(Plan& plan, Buffer from, Buffer to);

/// Whether a training forward keeps D for the backward, or the backward recomputes it: the one
/// place that choice is made. Recomputing costs one depthwise pass (reading x, writing D, k
/// multiply-adds per element of D); keeping costs D's memory from the forward to the backward
/// (the forward writes D anyway). D is kept when it is no larger than twice x (the caller keeps x
/// for the backward anyway: at most tripling what the pair holds) or when the recomputation is
/// compute-heavy (k >= 32 taps).
[[nodiscard]] bool keep_intermediate(const LayerConfig& config, const Precision& precision,
                                     const ProblemShape& shape);

/// The training state of a problem: the pre-activation z (y's shape, contiguous, in the GEMM's
/// type; absent for linear) and, when kept, D in the depthwise step's layout for the whole
/// problem. Offsets 256-byte aligned.
struct TrainingState {
  bool keep_d = false;
  std::int64_t z_bytes = 0;
  std::int64_t d_offset = 0;
  std::int64_t d_bytes = 0;
  std::int64_t bytes = 0;
};
[[nodiscard]] TrainingState training_state_layout(const PlanRequest& request,
                                                  const DeviceLimits& limits = {});

/// False when a forward must not be split along time: softmax / log_softmax of a channels_first
/// layer reduce along time (each piece would be normalised on its own). The one place that rule
/// lives.
[[nodiscard]] bool time_splittable(const LayerConfig& config);

/// Largest power of two <= 256 dividing every value (byte addresses, byte strides).
[[nodiscard]] int alignment_of(std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0);

/// The shapes of a problem from trusted numbers (a validated config): what validate_forward
/// returns, for placeholder views and tests.
[[nodiscard]] ProblemShape problem_shape(const LayerConfig& config, std::int64_t batch,
                                         std::int64_t length, std::int64_t in_channels);

}  // namespace sepconv::detail
