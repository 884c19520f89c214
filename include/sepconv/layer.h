// sepconv — the GPU layer: Context (device, cuBLASLt handle, plans, workspace) and
// SeparableConv1D (device weights, forward). Available when SEPCONV_WITH_CUDA is 1.
//
//   sepconv::Context ctx(/*device=*/0);
//   sepconv::SeparableConv1D layer(ctx, cfg, /*in_channels=*/256);
//   layer.set_weights({dw, pw, bias});                 // Keras layouts, host or device views
//   ctx.reserve(layer, /*max_batch=*/32, /*max_length=*/4096);   // all allocation happens here
//   layer.forward(x, y, stream);                       // device views; stream-ordered
//
// Streams and graphs: forward() enqueues work on the caller's stream and returns; it never
// allocates device memory, copies to the host or synchronises, so it can be captured into a CUDA
// graph and replayed. The first forward of a new shape plans it on the host (cuBLASLt's heuristic
// query); run one forward of each shape before capturing to keep capture free of host work.
//
// Workspace and concurrency: a forward needs device scratch memory for the depthwise result and
// cuBLASLt (`workspace_size`). The Context owns one workspace, sized by `reserve`; forwards that
// use it must not run concurrently (one stream at a time, or streams ordered by events). For
// concurrent forwards on several streams or threads, give each its own workspace (`Workspace`,
// or any device buffer) with the forward overload that takes one. A call larger than the
// workspace allows is processed in chunks of batches, then of output steps, that fit; softmax /
// log_softmax of a channels_first layer reduce along time and are never split along time: if one
// whole sample does not fit, forward throws InvalidArgument("workspace") before doing anything.
// `reserve` reallocates the Context's workspace: it invalidates CUDA graphs captured before it.
//
// Thread safety: a Context and its layers may be used from several threads at once (plans are
// cached under a lock) as long as concurrent forwards use distinct workspaces; set_weights and
// reserve must not run concurrently with forwards of the same layer / context.
//
// Errors: InvalidArgument for bad arguments (before anything is enqueued); CudaError and
// CublasError name the failing call and its status.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "sepconv/backward.h"
#include "sepconv/config.h"
#include "sepconv/export.h"
#include "sepconv/tensor.h"
#include "sepconv/types.h"

namespace sepconv {

/// Context options.
struct ContextOptions {
  /// Most plans (shapes) kept per context; the least recently used is dropped beyond it.
  std::size_t plan_cache_capacity = 64;
  /// Most cuBLASLt workspace a GEMM algorithm may use (the algorithm's actual need is what
  /// workspace_size counts).
  std::size_t max_gemm_workspace = 32u << 20;
};

class SeparableConv1D;
class StreamState;
namespace detail {
struct ContextAccess;
}

/// Throws CudaError naming `call` and the status when `status` is not cudaSuccess: the library's
/// way of reporting CUDA failures, for applications that want the same.
SEPCONV_EXPORT void cuda_check(cudaError_t status, const char* call);

/// Device memory (cudaMalloc / cudaFree) on one device: RAII, move-only; freeing never throws.
class SEPCONV_EXPORT DeviceBuffer {
 public:
  DeviceBuffer() = default;
  /// Allocates `bytes` on `device` (-1: the calling thread's current device; nothing for 0 bytes),
  /// leaving the current device as it was. Throws CudaError.
  explicit DeviceBuffer(std::size_t bytes, int device = -1);
  ~DeviceBuffer() { release(); }
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] int device() const noexcept { return device_; }
  /// Frees the memory now (cudaFree waits for the device's work).
  void release() noexcept;

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  int device_ = -1;
};

/// One CUDA device: its cuBLASLt handle, the plan cache and (after `reserve`) a workspace.
/// Constructing it makes no change to the calling thread's current device.
class SEPCONV_EXPORT Context {
 public:
  /// Throws CudaError when the device does not exist or has no usable driver.
  explicit Context(int device = 0, const ContextOptions& options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;

  [[nodiscard]] int device() const noexcept;
  /// Grows the context's workspace to what `layer` needs for `max_batch` x `max_length` (the
  /// largest over all reserve calls) and plans that shape. Allocates (synchronously); invalidates
  /// graphs captured before it.
  void reserve(const SeparableConv1D& layer, std::int64_t max_batch, std::int64_t max_length);
  /// Bytes of the context's workspace (0 before reserve).
  [[nodiscard]] std::size_t workspace_bytes() const noexcept;
  /// A short description of the device.
  [[nodiscard]] std::string describe() const;

 private:
  friend struct detail::ContextAccess;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A forward's workspace: device memory of a context's device (any 256-byte aligned device
/// memory of that device serves as well).
class SEPCONV_EXPORT Workspace : public DeviceBuffer {
 public:
  Workspace() = default;
  /// Allocates `bytes` on the context's device. Throws CudaError.
  Workspace(const Context& context, std::size_t bytes);
};

/// Keras SeparableConv1D on the GPU. Weights live on the context's device.
class SEPCONV_EXPORT SeparableConv1D {
 public:
  /// Validates the config (InvalidArgument) and allocates the device weights (uninitialised until
  /// set_weights). The context must outlive the layer.
  SeparableConv1D(Context& context, const LayerConfig& config, std::int64_t in_channels,
                  const Precision& precision = {});
  ~SeparableConv1D();
  SeparableConv1D(const SeparableConv1D&) = delete;
  SeparableConv1D& operator=(const SeparableConv1D&) = delete;
  SeparableConv1D(SeparableConv1D&&) noexcept;
  SeparableConv1D& operator=(SeparableConv1D&&) noexcept;

  /// Sets the weights from Keras layouts: depthwise (k, C, M), pointwise (1, C*M, F), bias (F) or
  /// empty per use_bias; host or device views of the layer's dtype, any strides. Synchronous (not
  /// for capture): device views are read after all work on the device has finished. Throws
  /// InvalidArgument naming the weight.
  void set_weights(const Weights& weights);
  /// The same, reading device views in the order of `stream`'s work (after what was enqueued on
  /// it before) instead of waiting for the whole device; returns when the weights are set.
  void set_weights(const Weights& weights, cudaStream_t stream);

  /// y = layer(x) on `stream` (a stream of the context's device). x: (B, L, C) or (B, C, L), y:
  /// output_shape(config, B, L), device views of the layer's dtype; the contiguous axis (channels
  /// / time) must have stride 1; other strides are free (a strided y uses a strided-batched
  /// GEMM). Uses the context's workspace.
  void forward(ConstTensorView x, TensorView y, cudaStream_t stream = nullptr) const;
  /// The same with a caller-provided workspace (device memory of the context's device, 256-byte
  /// aligned), for concurrent forwards.
  void forward(ConstTensorView x, TensorView y, void* workspace, std::size_t workspace_bytes,
               cudaStream_t stream = nullptr) const;

  /// Workspace bytes any forward of `batch` x `length` needs to run in one piece, whatever its
  /// views (contiguous or sliced, any alignment): cuBLASLt may pick another algorithm, with
  /// another workspace, for each. What reserve() allocates.
  [[nodiscard]] std::size_t workspace_size(std::int64_t batch, std::int64_t length) const;
  /// The exact workspace bytes a forward of these views needs to run in one piece: sliced
  /// (strided) or less aligned views may get a cuBLASLt algorithm that needs more. Validates the
  /// views like forward (not their memory kind).
  [[nodiscard]] std::size_t workspace_size(ConstTensorView x, TensorView y) const;
  /// What a forward of `batch` x `length` runs (plans, kernels, GEMM, chunks), for people.
  [[nodiscard]] std::string describe(std::int64_t batch, std::int64_t length) const;

  /// Streaming (docs/semantics.md, "Streaming"): the next chunk of `state`'s stream on `stream`.
  /// x: (B, n, C) / (B, C, n), any n >= 1, with the state's B rows; y: (B, m, F) / (B, F, m) with
  /// m = state.output_steps(n) (0 is allowed: nothing is written). Writes the outputs the
  /// whole-sequence causal / valid forward writes for those steps, carries the last d*(k-1) steps
  /// in the state's device history and advances its position. Chunks longer than the state's
  /// max_chunk run in pieces of max_chunk steps. Uses the state's workspace (not the context's);
  /// enqueued on `stream` only, no allocation, no synchronisation: a call can be captured into a
  /// CUDA graph (README, "Streaming"). Same views rules as forward. Throws InvalidArgument before
  /// anything is enqueued, naming the argument (the state when it belongs to another layer).
  void forward_chunk(ConstTensorView x, TensorView y, StreamState& state,
                     cudaStream_t stream = nullptr) const;
  /// Workspace bytes a StreamState of `batch` rows with chunks of up to `max_chunk` steps holds.
  [[nodiscard]] std::size_t chunk_workspace_size(std::int64_t batch, std::int64_t max_chunk) const;
  /// What the chunk of `steps` steps after `position` steps of a stream of `batch` rows runs.
  [[nodiscard]] std::string describe_chunk(std::int64_t batch, std::int64_t steps,
                                           std::int64_t position = 0) const;

  [[nodiscard]] const LayerConfig& config() const noexcept;
  [[nodiscard]] std::int64_t in_channels() const noexcept;
  [[nodiscard]] const Precision& precision() const noexcept;
  [[nodiscard]] Context& context() const noexcept;

  // ---- training: the training forward and the backward (sepconv/backward.h) --------------------
  //
  //   std::size_t state = layer.training_state_size(B, L);        // memory the caller owns
  //   Workspace ws(ctx, layer.training_workspace_size(B, L));
  //   layer.forward_training(x, y, state_ptr, state, ws.data(), ws.bytes(), stream);
  //   ... dy = dLoss/dy ...
  //   layer.backward(x, dy, state_ptr, state, {dx, ddw, dpw, db}, ws.data(), ws.bytes(), stream);
  //
  // Both run the whole problem in one piece (no windows), enqueue on `stream` and return: no
  // allocation, no copy to the host, no synchronisation (capturable in a CUDA graph after a first
  // call of each shape). The state holds what the backward needs from the forward: the
  // pre-activation z (unless the activation is linear) and, when keeping it is cheaper than
  // recomputing it, the depthwise result D; x, the weights and the state must stay unchanged
  // between the two calls. Every precision of the forward; the weight gradients are float32 (as
  // Keras mixed precision keeps its variables), dx has x's dtype; accumulation in float32.

  /// Keras's `trainable` (default true): a layer that is not trainable computes dx only, and its
  /// backward takes empty weight-gradient views.
  void set_trainable(bool trainable) noexcept;
  [[nodiscard]] bool trainable() const noexcept;
  /// Bytes of the training state of a `batch` x `length` problem (device memory of the context's
  /// device, 256-byte aligned, owned by the caller); 0 for a batch of 0.
  [[nodiscard]] std::size_t training_state_size(std::int64_t batch, std::int64_t length) const;
  /// Workspace bytes forward_training and backward of `batch` x `length` need, whatever their
  /// views (the larger of the two).
  [[nodiscard]] std::size_t training_workspace_size(std::int64_t batch, std::int64_t length) const;
  /// y = layer(x) as `forward` computes it, keeping the training state in `state`
  /// (training_state_size bytes) for `backward`. Throws InvalidArgument like forward, and for a
  /// state or workspace that is too small or misaligned.
  void forward_training(ConstTensorView x, TensorView y, void* state, std::size_t state_bytes,
                        void* workspace, std::size_t workspace_bytes,
                        cudaStream_t stream = nullptr) const;
  /// The gradients of the loss whose gradient with respect to y is dy, at the x the state was
  /// kept for: dx and (when trainable) the weight gradients, device views as `Gradients` says,
  /// written (not accumulated). Validates with `validate_backward` before enqueueing anything.
  void backward(ConstTensorView x, ConstTensorView dy, const void* state, std::size_t state_bytes,
                const Gradients& gradients, void* workspace, std::size_t workspace_bytes,
                cudaStream_t stream = nullptr) const;
  /// What a training forward and a backward of `batch` x `length` run, for people.
  [[nodiscard]] std::string describe_training(std::int64_t batch, std::int64_t length) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A stream's state on the GPU (docs/semantics.md, "Streaming"), for one layer (which must outlive
/// it): per batch row the last d*(k-1) input steps, in device memory, and a workspace for chunks
/// of up to `max_chunk` steps; the stream's position, the steps every row has consumed (rows
/// advance together), on the host. Both sides of it are fixed for its lifetime, so a captured
/// forward_chunk replays on the same memory.
///
///   sepconv::StreamState state(layer, /*batch=*/1);          // one-step chunks
///   for (;;) {                                               // y: (1, state.output_steps(1), F)
///     layer.forward_chunk(x_step, y_step, state, stream);
///   }
class SEPCONV_EXPORT StreamState {
 public:
  /// Allocates the history (zeroed before it returns) and the workspace on the layer's device,
  /// and plans chunks of 1 and of `max_chunk` steps. Throws InvalidArgument for a layer that
  /// cannot stream ("padding" for same padding; "activation" for softmax / log_softmax of a
  /// channels_first layer), a batch or max_chunk < 1, or a max_chunk whose GEMM would be too large.
  StreamState(const SeparableConv1D& layer, std::int64_t batch, std::int64_t max_chunk = 1);
  ~StreamState();
  StreamState(StreamState&&) noexcept;
  StreamState& operator=(StreamState&&) noexcept;
  StreamState(const StreamState&) = delete;
  StreamState& operator=(const StreamState&) = delete;

  [[nodiscard]] std::int64_t batch() const noexcept;
  [[nodiscard]] std::int64_t max_chunk() const noexcept;
  /// Input steps every row has consumed (forward_chunk calls, advance) since the last reset().
  [[nodiscard]] std::int64_t position() const noexcept;
  /// Outputs the next chunk of `steps` steps produces (sepconv::chunk_geometry at position()).
  [[nodiscard]] std::int64_t output_steps(std::int64_t steps) const;
  /// The device history: (batch, d*(k-1), C) or (batch, C, d*(k-1)) in the layer's dtype.
  [[nodiscard]] ConstTensorView history() const noexcept;
  /// Bytes of the state's workspace.
  [[nodiscard]] std::size_t workspace_bytes() const noexcept;

  /// Every row starts a new sequence: the histories are zeroed on `stream` (stream-ordered,
  /// capturable) and the position returns to 0.
  void reset(cudaStream_t stream = nullptr);
  /// Row `row` starts a new sequence at the current position: its history is zeroed on `stream`,
  /// the other rows go on. With strides s > 1 only on a stride boundary (position a multiple of
  /// s), else InvalidArgument ("position"). With valid padding, the row's outputs whose windows
  /// start before the reset read zeros there and are not outputs of its new sequence (whose first
  /// output is the one whose window starts at the reset): the caller drops them.
  void reset_row(std::int64_t row, cudaStream_t stream = nullptr);
  /// Moves the position on by `steps` without running anything: for the steps replays of a
  /// captured forward_chunk consumed (a replay does the captured call's device work; the position,
  /// which decides the next chunk's outputs and stride phase, lives on the host).
  void advance(std::int64_t steps);

 private:
  friend class SeparableConv1D;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// True when a CUDA device is usable. Never raises and leaves no error to be picked up by
/// cudaGetLastError (without a driver cudaGetDeviceCount fails with error 35).
[[nodiscard]] SEPCONV_EXPORT bool cuda_device_available() noexcept;

}  // namespace sepconv
