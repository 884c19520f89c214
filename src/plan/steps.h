// The steps a plan is made of, and what each reads and writes: plain structs the planner fills
// and the kernels' launchers read (no CUDA calls).
#pragma once

#include <cstdint>
#include <variant>

#include "sepconv/config.h"

namespace sepconv::detail {

/// The part of the problem one launch computes.
struct LaunchWindow {
  std::int64_t batch_begin = 0;
  std::int64_t batch_count = 0;
  std::int64_t time_begin = 0;  ///< first output step
  std::int64_t time_count = 0;  ///< output steps
};

/// How the bias reaches the output.
enum class BiasMode : std::uint8_t {
  none,           ///< use_bias is false
  gemm_epilogue,  ///< cuBLASLt BIAS epilogue (bias along the GEMM's m = filters: channels_last)
  ones_row,       ///< folded into the GEMM as one more k row: a row of ones in D, the bias as an
                  ///< extra row of the pointwise matrix (channels_first)
  elementwise,    ///< added by the elementwise epilogue pass
};

/// The cuBLASLt epilogue of a GEMM: the forward's pointwise GEMM adds the bias and applies relu;
/// the backward's weight-gradient GEMM writes the bias gradient, the sums of op(B)'s columns
/// (BGRADB) into its bias-gradient buffer.
enum class GemmEpilogue : std::uint8_t { none, bias, relu, relu_bias, bias_gradient_b };
/// cuBLASLt's name without the prefix: "DEFAULT", "BIAS", "RELU", "RELU_BIAS", "BGRADB".
[[nodiscard]] const char* gemm_epilogue_name(GemmEpilogue e) noexcept;

/// Depthwise launch geometry and the layout of the intermediate D it writes.
///
/// D's channel index is multiplier-major, q' = m*C + c (Keras's q = c*M + m reordered; the
/// pointwise matrix's rows are permuted to match when the weights are set), so a thread's
/// channels for one multiplier are contiguous. channels_last: D[b][t][q'] at
/// b*d_batch_stride + t*d_ld + q'; channels_first: D[b][q'][t] at b*d_batch_stride + q'*d_ld + t;
/// b and t relative to the launch window. With BiasMode::ones_row, row q' = C*M of a
/// channels_first D holds ones.
struct DepthwisePlan {
  DType dtype = DType::f32;    ///< x and the depthwise weights
  DType d_dtype = DType::f32;  ///< D: the layer's dtype, or float32 (Precision::float32_intermediate)
  DataFormat format = DataFormat::channels_last;
  // Problem (the launch window's batch offset is applied to the x pointer by the executor).
  // The Keras arguments keep their Keras names (LayerConfig's).
  std::int64_t batch = 0;             ///< batches in the window
  std::int64_t length = 0;            ///< L
  std::int64_t in_channels = 0;       ///< C
  std::int64_t depth_multiplier = 1;  ///< M
  std::int64_t kernel_size = 1;       ///< k
  std::int64_t strides = 1;           ///< s
  std::int64_t dilation_rate = 1;     ///< d
  std::int64_t pad_left = 0;
  std::int64_t time_begin = 0;  ///< first output step of the window
  std::int64_t time_count = 0;  ///< output steps of the window
  // Input strides in elements (the contiguous axis has stride 1).
  std::int64_t x_batch_stride = 0;
  std::int64_t x_time_stride = 0;
  std::int64_t x_channel_stride = 0;
  // Intermediate D.
  std::int64_t d_ld = 0;
  std::int64_t d_batch_stride = 0;
  bool ones_row = false;

  // Tiling. Kernel variant: (dtype, format, vec, sliding).
  int vec = 1;                 ///< channels_last: channels per vector access and per thread;
                               ///< channels_first: time steps per global vector access
  int steps_per_thread = 1;    ///< outputs a thread accumulates at once (compile-time per variant)
  bool sliding = false;        ///< s == d == 1: a register window slides over the taps
  int threads = 0;             ///< per block
  int threads_c = 0;           ///< threads along channels
  int threads_t = 0;           ///< threads along time
  int groups = 1;              ///< output groups a thread takes in turn (tile_steps = threads_t *
                               ///< steps_per_thread * groups)
  std::int64_t channels_per_block = 0;
  std::int64_t tile_steps = 0;       ///< output steps per block
  std::int64_t tap_chunk = 0;        ///< taps staged per chunk
  /// How staged rows map to input steps. Contiguous (false): row u is input step origin + u, and
  /// output o, tap j reads row o*s + (j - j0)*d. Gathered (true, for strides or dilations much
  /// larger than the taps): row u = o*tap_chunk + (j - j0) holds exactly the step output o reads
  /// with tap j, so no unused rows are staged.
  bool gather = false;
  std::int64_t num_chunks = 1;       ///< ceil(kernel / tap_chunk); > 1 is the tap-chunked path
  std::int64_t tile_rows = 0;        ///< input steps staged per chunk
  std::int64_t tile_alloc_rows = 0;  ///< tile_rows plus zeroed rows the channels_first sliding
                                     ///< window loads past the end (never multiplied by a tap)
  std::int64_t tile_pitch = 0;       ///< elements between shared-memory rows (channels_last:
                                     ///< time rows; channels_first: channel rows)
  std::int64_t shared_bytes = 0;
  std::int64_t time_tiles = 0;
  std::int64_t channel_groups = 0;
  std::int64_t blocks = 0;           ///< batch * time_tiles * channel_groups
  std::int64_t grid = 0;             ///< blocks launched (grid-stride over `blocks`)
  bool needs_optin = false;          ///< shared_bytes > 48 KB

  [[nodiscard]] bool chunked() const { return num_chunks > 1; }
};

/// The pointwise GEMM in cuBLASLt's column-major terms (docs/architecture.md, "The pointwise GEMM").
///   channels_last:  Y(F x N) = Wp'(F x K) * D(K x N), N = batch*steps, bias along m = F.
///   channels_first: Y[b](T x F) = D[b](T x K) * Wp'(K x F), strided-batched over b.
/// K = C*M, plus one row for BiasMode::ones_row. Pointers are bound at run time.
struct GemmPlan {
  /// A, B, C and D storage type: D's type (the layer's dtype, or float32 with a float32
  /// intermediate, when C is the float32 scratch Z instead of y).
  DType dtype = DType::f32;
  /// C and D are float32 while A and B are of `dtype` (the backward's gradients of 16-bit
  /// layers: a documented cuBLASLt combination, 16F/16BF inputs with 32F outputs).
  bool float32_output = false;
  MathMode math = MathMode::exact;
  bool a_is_weights = true;  ///< channels_last: A = weights, B = D; channels_first: the reverse
  bool trans_a = false;
  bool trans_b = false;
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  std::int64_t lda = 0;
  std::int64_t ldb = 0;
  std::int64_t ldc = 0;
  std::int64_t batch_count = 1;
  std::int64_t stride_a = 0;
  std::int64_t stride_b = 0;
  std::int64_t stride_c = 0;
  GemmEpilogue epilogue = GemmEpilogue::none;
  /// Alignment in bytes (power of two, <= 256) of each operand's base pointer and batch stride,
  /// for cuBLASLt's heuristic (it assumes 256 unless told).
  int align_a = 256;
  int align_b = 256;
  int align_c = 256;
  int align_bias = 256;

  /// C's and D's type.
  [[nodiscard]] DType c_dtype() const { return float32_output ? DType::f32 : dtype; }
};

/// The elementwise and row passes after the GEMM, in place on y.
struct EpiloguePlan {
  DType dtype = DType::f32;  ///< y's storage type
  /// The pass reads a separate source Z (the GEMM's output: float32 with a float32 intermediate,
  /// or y's type when the GEMM could not write y) laid out like y's window, contiguous, and
  /// writes y; otherwise it works in place on y.
  bool separate_source = false;
  DType src_dtype = DType::f32;  ///< the source's (and the bias's) type: the GEMM's output type
  std::int64_t src_batch_stride = 0;
  std::int64_t src_row_stride = 0;
  /// An elementwise pass: adds the bias when add_bias, then applies elementwise_activation
  /// (linear when it only adds the bias or copies a scratch into y).
  bool elementwise = false;
  Activation elementwise_activation = Activation::linear;
  bool add_bias = false;  ///< the elementwise pass adds the bias (BiasMode::elementwise)
  /// A row pass after it: softmax or log_softmax (row_activation) along y's last axis.
  bool row_reduction = false;
  Activation row_activation = Activation::softmax;
  DataFormat format = DataFormat::channels_last;
  std::int64_t batch = 0;
  std::int64_t steps = 0;    ///< output steps in the window
  std::int64_t filters = 0;
  std::int64_t y_batch_stride = 0;
  std::int64_t y_row_stride = 0;  ///< channels_last: time stride; channels_first: filter stride
  // y's last axis (filters for channels_last, time for channels_first) has unit stride.
  /// Most CTAs a pass launches (grid-stride loops cover the rest): 2^20 fill any current GPU
  /// several times over; make_plan lowers it to the device's grid limit (tests lower that).
  std::int64_t max_blocks = std::int64_t{1} << 20;
};

/// What a step reads or writes: the forward's tensors (x and y at the window's offsets), the
/// layer's packed weights, or a slice of the workspace.
enum class Buffer : std::uint8_t {
  x,
  y,
  depthwise_weights,
  pointwise_weights,
  bias,
  d,               ///< the depthwise result (workspace)
  z,               ///< the GEMM's output when it does not write y (workspace)
  gemm_workspace,  ///< cuBLASLt's own workspace (sized when the GEMM's algorithm is chosen)
  history,         ///< a stream's carried input steps (the StreamState's device memory)
  stream_input,    ///< a streaming chunk's [history | chunk], side by side (workspace)
  // The training forward and the backward (docs/architecture.md, "The backward").
  saved_z,         ///< the pre-activation z the training forward keeps (the training state)
  saved_d,         ///< D, when the training forward keeps it (the training state)
  dy,              ///< the output gradient (the caller's view)
  dx,              ///< the input gradient (the caller's view)
  dz,              ///< dLoss/dz (workspace, the GEMMs' type)
  dmid,            ///< dLoss/dD (workspace, float32)
  dpw_partial,     ///< the pointwise gradient GEMM's float32 output (per batch for channels_first)
  dbias_partial,   ///< its bias gradient (BGRADB epilogue output, float32)
  ddw_partial,     ///< per-chunk float32 sums of the depthwise gradient
  grad_depthwise,  ///< the caller's depthwise gradient (k, C, M), float32
  grad_pointwise,  ///< the caller's pointwise gradient (1, C*M, F), float32
  grad_bias,       ///< the caller's bias gradient (F), float32
  none,            ///< no buffer
};
[[nodiscard]] const char* buffer_name(Buffer b) noexcept;

/// The depthwise kernel: x (or a streaming chunk's assembled input) and the depthwise weights into
/// D (the workspace's, or the training state's when the training forward keeps it).
struct DepthwiseStep {
  DepthwisePlan plan;
  Buffer source = Buffer::x;
  Buffer output = Buffer::d;
};
/// A cuBLASLt GEMM: A and B into C (y, or the scratch Z), with cuBLASLt's workspace; a
/// bias-gradient epilogue (BGRADB) writes `bias_gradient`.
struct GemmStep {
  GemmPlan plan;
  Buffer a = Buffer::pointwise_weights;
  Buffer b = Buffer::d;
  Buffer c = Buffer::y;
  Buffer bias_gradient = Buffer::none;
};
/// The passes after the GEMM: from `source` (y in place, or Z) into y.
struct EpilogueStep {
  EpiloguePlan plan;
  Buffer source = Buffer::y;
};

/// A copy of a 3-D block of elements from one or two sources into a destination, for a streaming
/// chunk: its history and its steps assembled side by side in the workspace, and the last steps
/// carried into the history for the next chunk. Axes are x's (batch, steps, channels) /
/// (batch, channels, steps) order; the destination's step t comes from src0's step t when
/// t < split, else from src1's step t - split + src1_first. Strides in elements.
struct StreamCopyPlan {
  int element_bytes = 4;  ///< 2 or 4: elements are moved as raw bits
  std::int64_t extent[3] = {0, 0, 0};  ///< the destination's
  int time_axis = 1;                   ///< 1 (channels_last) or 2 (channels_first)
  std::int64_t split = 0;
  std::int64_t src1_first = 0;
  std::int64_t src0_strides[3] = {0, 0, 0};
  std::int64_t src1_strides[3] = {0, 0, 0};
  std::int64_t dst_strides[3] = {0, 0, 0};
  int threads = 256;
  std::int64_t blocks = 0;  ///< ceil(elements / threads)
  std::int64_t grid = 0;    ///< CTAs launched (grid-stride over the elements)
};
struct StreamCopyStep {
  StreamCopyPlan plan;
  Buffer src0 = Buffer::history;
  Buffer src1 = Buffer::x;
  Buffer dst = Buffer::stream_input;
};

// ---- the backward's steps ------------------------------------------------------------------------

/// dz = dLoss/dz from dy and the kept pre-activation z: dy * f'(z) elementwise, or the softmax /
/// log_softmax row form along y's last axis (activation table, "derivative"); dz = dy converted
/// for linear (no z). Rows are y's last axis (unit stride), as in EpiloguePlan.
struct ActivationGradPlan {
  DType dy_dtype = DType::f32;  ///< the layer's dtype
  DType dz_dtype = DType::f32;  ///< z's and dz's: the GEMMs' type
  bool has_z = true;            ///< false for linear: dz = dy
  Activation activation = Activation::linear;
  DataFormat format = DataFormat::channels_last;
  std::int64_t batch = 0;
  std::int64_t steps = 0;  ///< output steps
  std::int64_t filters = 0;
  std::int64_t dy_batch_stride = 0;
  std::int64_t dy_row_stride = 0;  ///< channels_last: time stride; channels_first: filter stride
  std::int64_t z_batch_stride = 0;
  std::int64_t z_row_stride = 0;
  std::int64_t dz_batch_stride = 0;
  std::int64_t dz_row_stride = 0;
  std::int64_t max_blocks = std::int64_t{1} << 20;  ///< as EpiloguePlan's
  [[nodiscard]] bool row_reduction() const { return is_row_reduction(activation); }
};
struct ActivationGradStep {
  ActivationGradPlan plan;
};

/// The depthwise step's backward, from dmid = dLoss/dD (float32; channels_last dmid[b][t][q'] at
/// b*dmid_batch_stride + t*dmid_ld + q', channels_first dmid[b][q'][t] at b*dmid_batch_stride +
/// q'*dmid_ld + t, with D's multiplier-major q' = m*C + c):
///   input:   dx[b, l, c] = sum over (t, j, m) with t*s + j*d - pad_left = l of
///            W[m][j][c] dmid[b, t, q'] (the transposed depthwise convolution), one thread per
///            element of dx, written in the layer's dtype with x's strides;
///   weights: per chunk of (batch, step) pairs r = b*Lout + t, the float32 partial sums
///            ddw_partial[chunk][m][j][c] of dmid[b, t, q'] x[b, t*s + j*d - pad_left, c]: groups
///            of 2^lanes_log2 threads take one (m, j, c), lanes stride over the chunk's pairs and
///            are folded in a fixed order (no atomics: the same result every run).
struct DepthwiseGradPlan {
  enum class Kind : std::uint8_t { input, weights };
  Kind kind = Kind::input;
  DType dtype = DType::f32;  ///< x, dx and the depthwise weights
  DataFormat format = DataFormat::channels_last;
  std::int64_t batch = 0;
  std::int64_t length = 0;
  std::int64_t in_channels = 0;
  std::int64_t depth_multiplier = 1;
  std::int64_t kernel_size = 1;
  std::int64_t strides = 1;
  std::int64_t dilation_rate = 1;
  std::int64_t pad_left = 0;
  std::int64_t out_length = 0;
  /// x's (weights) or dx's (input) strides in elements.
  std::int64_t x_batch_stride = 0;
  std::int64_t x_time_stride = 0;
  std::int64_t x_channel_stride = 0;
  std::int64_t dmid_ld = 0;
  std::int64_t dmid_batch_stride = 0;
  // weights: the chunks of (batch, step) pairs and the thread groups.
  std::int64_t chunk_pairs = 0;  ///< pairs per chunk
  std::int64_t chunks = 0;
  int lanes_log2 = 0;
  std::int64_t output_groups = 0;  ///< CTAs per chunk
  std::int64_t blocks = 0;         ///< CTAs of work (grid-stride over them)
  std::int64_t grid = 0;           ///< CTAs launched
};
struct DepthwiseGradStep {
  DepthwiseGradPlan plan;
};

/// A deterministic float32 reduction and relayout: for every element e = (e0, e1, e2) of
/// `extent`, out[sum e_i out_stride_i] = sum over r < r_count, u < u_count of
/// in[in_offset + sum e_i in_stride_i + r r_stride + u u_stride]. Groups of 2^lanes_log2 threads
/// take one element; lanes stride over the (r, u) pairs and are folded in a fixed order. Writes
/// the caller's gradients in Keras layouts from the packed float32 sums (and sums per-batch or
/// per-chunk partials, or dz's columns for the bias when no bias-gradient epilogue was found).
struct ReducePlan {
  DType in_dtype = DType::f32;
  std::int64_t extent[3] = {1, 1, 1};
  std::int64_t in_stride[3] = {0, 0, 0};
  std::int64_t out_stride[3] = {0, 0, 0};
  std::int64_t in_offset = 0;
  std::int64_t r_count = 1;
  std::int64_t r_stride = 0;
  std::int64_t u_count = 1;
  std::int64_t u_stride = 0;
  int lanes_log2 = 0;
  std::int64_t grid = 0;
  [[nodiscard]] std::int64_t elements() const { return extent[0] * extent[1] * extent[2]; }
};
struct ReduceStep {
  ReducePlan plan;
  Buffer source = Buffer::dpw_partial;
  Buffer target = Buffer::grad_pointwise;
};

using Step = std::variant<DepthwiseStep, GemmStep, EpilogueStep, StreamCopyStep,
                          ActivationGradStep, DepthwiseGradStep, ReduceStep>;

}  // namespace sepconv::detail
