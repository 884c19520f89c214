// SeparableConv1D on the GPU: device weights, workspace sizing, forward. Each call validates its
// arguments once (validate_forward's ProblemShape is what the rest of the call uses), then asks
// the Context for the plan of each window and runs it.
#include "sepconv/layer.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <sstream>
#include <vector>

#include "detail/checked_math.h"
#include "detail/cuda_check.h"
#include "detail/elements.h"
#include "detail/message.h"
#include "detail/stream.h"
#include "detail/views.h"
#include "plan/chunks.h"
#include "plan/pack.h"
#include "runtime/context.h"
#include "runtime/device.h"
#include "runtime/executor.h"
#include "runtime/nvtx.h"
#include "runtime/stream_state.h"

namespace sepconv {

using detail::BoundPlan;
using detail::DeviceGuard;
using detail::fail;
using detail::str;

bool cuda_device_available() noexcept {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    static_cast<void>(cudaGetLastError());  // clear it: nobody should mistake it for a kernel's
    return false;
  }
  return count > 0;
}

namespace {

std::atomic<std::uint64_t> next_layer_id{1};

}  // namespace

struct SeparableConv1D::Impl {
  Context* context = nullptr;
  LayerConfig config;  // validated at construction
  std::int64_t in_channels = 0;
  Precision precision;
  std::uint64_t id = 0;
  detail::BiasMode bias_mode = detail::BiasMode::none;
  DeviceBuffer depthwise;  // W[m][j][c], the layer's dtype
  DeviceBuffer pointwise;  // Wp' (K, F), the GEMM's type
  DeviceBuffer bias;       // (F), the GEMM's type
  bool weights_set = false;
  bool trainable = true;   // Keras's `trainable`: the backward computes the weight gradients

  [[nodiscard]] detail::ContextAccess::State& context_state() const {
    return detail::ContextAccess::impl(*context);
  }

  // The GEMM's type: D's (the layer's dtype, or float32 with a float32 intermediate).
  [[nodiscard]] DType gemm_dtype() const {
    return precision.float32_intermediate ? DType::f32 : precision.dtype;
  }

  // Views of the device weights in Keras shapes (the layer's dtype; a float32 pointwise buffer
  // is larger than its view): validate_forward checks that y does not overlap them.
  [[nodiscard]] Weights weight_views() const {
    const DType t = precision.dtype;
    const std::int64_t cm = in_channels * config.depth_multiplier;
    Weights w;
    w.depthwise = contiguous_view(static_cast<const void*>(depthwise.data()), t,
                                  {config.kernel_size, in_channels, config.depth_multiplier});
    w.pointwise =
        contiguous_view(static_cast<const void*>(pointwise.data()), t, {1, cm, config.filters});
    if (config.use_bias) {
      w.bias = contiguous_view(static_cast<const void*>(bias.data()), t, {config.filters});
    }
    return w;
  }

  [[nodiscard]] detail::DeviceWeights device_weights() const {
    return {depthwise.data(), pointwise.data(), config.use_bias ? bias.data() : nullptr};
  }

  // The request of a window of a forward of `shape` with these views.
  [[nodiscard]] detail::PlanRequest request(const ProblemShape& shape, const ConstTensorView& x,
                                            const ConstTensorView& y,
                                            const detail::LaunchWindow& w) const {
    detail::PlanRequest r;
    r.config = config;
    r.precision = precision;
    r.shape = shape;
    r.window = {0, w.batch_count, 0, w.time_count};
    const auto e = static_cast<std::int64_t>(dtype_size(precision.dtype));
    const bool last = config.data_format == DataFormat::channels_last;
    for (int i = 0; i < 3; ++i) {
      r.x_strides[i] = x.strides[i];
      r.y_strides[i] = y.strides[i];
    }
    auto align = [](const void* p, std::int64_t bytes) {
      return detail::alignment_of(reinterpret_cast<std::uintptr_t>(p) +
                                  static_cast<std::uint64_t>(bytes));
    };
    r.x_align = align(x.data, w.batch_begin * x.strides[0] * e);
    r.y_align = align(y.data, (w.batch_begin * y.strides[0] +
                               w.time_begin * (last ? y.strides[1] : y.strides[2])) * e);
    r.bias_align = config.use_bias ? align(bias.data(), 0) : 256;
    return r;
  }

  [[nodiscard]] std::shared_ptr<BoundPlan> plan(const detail::PlanRequest& r) const {
    return context_state().plan(id, r, config.use_bias ? bias.data() : nullptr);
  }

  // The windows of a forward that fit `available` workspace bytes and the GEMM's limits.
  [[nodiscard]] std::vector<detail::LaunchWindow> windows(const ProblemShape& shape,
                                                          const ConstTensorView& x,
                                                          const ConstTensorView& y,
                                                          std::size_t available) const {
    return detail::split_into_windows(
        shape.batch, shape.geometry.out_length, detail::time_splittable(config), available,
        [&](const detail::LaunchWindow& w) {
          return plan(request(shape, x, y, w))->workspace_bytes();
        },
        detail::gemm_window_limits(config.data_format));
  }

  // Placeholder views of a problem (for sizing and describing): contiguous and 256-byte aligned,
  // or y `y_align`-byte aligned and, with `padded`, with a gap after each sample (the
  // strided-batched GEMM of a sliced y).
  struct Shapes {
    ConstTensorView x;
    ConstTensorView y;
  };
  [[nodiscard]] Shapes placeholders(const ProblemShape& shape, std::int64_t y_align = 256,
                                    bool padded = false) const {
    const std::int64_t lout = shape.geometry.out_length;
    const bool last = config.data_format == DataFormat::channels_last;
    const std::int64_t b = shape.batch, l = shape.length, c = shape.in_channels, f = config.filters;
    const void* x_base = reinterpret_cast<const void*>(std::uintptr_t{256});
    const void* y_base =
        reinterpret_cast<const void*>(static_cast<std::uintptr_t>(256 + y_align % 256));
    Shapes s{last ? contiguous_view(x_base, precision.dtype, {b, l, c})
                  : contiguous_view(x_base, precision.dtype, {b, c, l}),
             last ? contiguous_view(y_base, precision.dtype, {b, lout, f})
                  : contiguous_view(y_base, precision.dtype, {b, f, lout})};
    if (padded) s.y.strides[0] += s.y.shape[2];
    return s;
  }

  // What a forward of this problem needs in one piece (windows only when the GEMM cannot take it
  // at once), whatever its views: cuBLASLt's algorithm, and its workspace, may differ with y's
  // alignment (from the element size to 256 bytes) and between the one-GEMM and the
  // strided-batched mapping, so the largest of them.
  [[nodiscard]] std::size_t workspace_for_any_view(const ProblemShape& shape) const {
    const auto e = static_cast<std::int64_t>(dtype_size(precision.dtype));
    std::size_t most = 0;
    for (const bool padded : {false, true}) {
      for (std::int64_t align = e; align <= 256; align *= 2) {
        const Shapes s = placeholders(shape, align, padded);
        for (const auto& w : windows(shape, s.x, s.y, SIZE_MAX)) {
          most = std::max(most, plan(request(shape, s.x, s.y, w))->workspace_bytes());
        }
      }
    }
    return most;
  }

  // A forward of validated views: memory and stream checks, then every window.
  void run(const ProblemShape& shape, ConstTensorView x, TensorView y, void* workspace,
           std::size_t workspace_bytes, cudaStream_t stream) const;
  // The views (x, y, ...; empty ones skipped) in memory of the layer's device, the workspace
  // 256-byte aligned device memory of it (or null), the stream one of its streams:
  // InvalidArgument otherwise.
  void check_memory(std::initializer_list<std::pair<const char*, ConstTensorView>> views,
                    void* workspace, cudaStream_t stream) const;

  // The training forward's or the backward's request: the whole problem, these views.
  [[nodiscard]] detail::PlanRequest training_request(const ProblemShape& shape,
                                                     const ConstTensorView& x,
                                                     const ConstTensorView& y,
                                                     detail::PlanRequest::Pass pass) const;
  // The backward's request for these views (dy in y's place).
  [[nodiscard]] detail::PlanRequest backward_request(const ProblemShape& shape,
                                                     const ConstTensorView& x,
                                                     const ConstTensorView& dy,
                                                     const Gradients& g) const;

  // The weights, validated, copied in the order of `stream`'s work.
  void upload_weights(const Weights& weights, cudaStream_t stream);

  // ---- streaming (the section "streaming" below) ----
  // The plan of a streaming chunk of `shape` (detail::chunk_shape) with these views: the state's
  // last one when the chunk is planned like the last, else the context's, checked against the
  // state's workspace.
  const detail::BoundPlan& chunk_plan(StreamState::Impl& state, const ProblemShape& shape,
                                      const ConstTensorView& x, const ConstTensorView& y) const;
  // Enqueues a planned chunk.
  void run_chunk(const StreamState::Impl& state, const detail::BoundPlan& bound,
                 const ConstTensorView& x, const TensorView& y, cudaStream_t stream) const;
};

SeparableConv1D::SeparableConv1D(Context& context, const LayerConfig& config,
                                 std::int64_t in_channels, const Precision& precision)
    : impl_(std::make_unique<Impl>()) {
  validate(config);
  if (in_channels <= 0) {
    fail("in_channels", std::to_string(in_channels), "a strictly positive integer");
  }
  validate(precision);
  Impl& m = *impl_;
  m.context = &context;
  m.config = config;
  m.in_channels = in_channels;
  m.precision = precision;
  m.precision.float32_intermediate = precision.float32_intermediate && precision.dtype != DType::f32;
  m.id = next_layer_id++;
  m.bias_mode = !config.use_bias ? detail::BiasMode::none
                : config.data_format == DataFormat::channels_last ? detail::BiasMode::gemm_epilogue
                                                                  : detail::BiasMode::ones_row;
  const auto e = dtype_size(precision.dtype);
  const auto eg = dtype_size(m.gemm_dtype());
  const auto cm = detail::checked_mul(in_channels, config.depth_multiplier, "depth_multiplier");
  const auto k_rows = cm + (m.bias_mode == detail::BiasMode::ones_row ? 1 : 0);
  const int device = context.device();
  m.depthwise = DeviceBuffer(static_cast<std::size_t>(config.kernel_size * cm) * e, device);
  m.pointwise = DeviceBuffer(static_cast<std::size_t>(k_rows * config.filters) * eg, device);
  if (config.use_bias) m.bias = DeviceBuffer(static_cast<std::size_t>(config.filters) * eg, device);
}

SeparableConv1D::~SeparableConv1D() {
  if (impl_ && impl_->context != nullptr) impl_->context_state().forget(impl_->id);
}

SeparableConv1D::SeparableConv1D(SeparableConv1D&&) noexcept = default;
SeparableConv1D& SeparableConv1D::operator=(SeparableConv1D&&) noexcept = default;

const LayerConfig& SeparableConv1D::config() const noexcept { return impl_->config; }
std::int64_t SeparableConv1D::in_channels() const noexcept { return impl_->in_channels; }
const Precision& SeparableConv1D::precision() const noexcept { return impl_->precision; }
Context& SeparableConv1D::context() const noexcept { return *impl_->context; }

// ---- weights -------------------------------------------------------------------------------------

namespace {

// A host copy of a weight view (device views are copied down first), with its original strides.
struct HostCopy {
  std::vector<unsigned char> bytes;
  ConstTensorView view;
};

bool in_device_memory(const ConstTensorView& v) {
  return !v.empty() && v.numel() > 0 && detail::memory_kind(v.data) != detail::MemoryKind::host;
}

// A host copy of a view (device views are copied down on `stream`, which the copy returns after).
HostCopy host_copy(const ConstTensorView& v, cudaStream_t stream) {
  HostCopy h;
  h.view = v;
  if (!in_device_memory(v)) return h;
  const auto range = detail::byte_range(v);
  h.bytes.resize(range.end - range.begin);
  SEPCONV_CUDA_TRY(cudaMemcpyAsync(h.bytes.data(), v.data, h.bytes.size(), cudaMemcpyDeviceToHost,
                                   stream));
  SEPCONV_CUDA_TRY(cudaStreamSynchronize(stream));
  h.view.data = h.bytes.data();
  return h;
}

// Copies to the device on `stream` (the caller synchronises it: a copy from pageable memory may
// return before it has landed).
void upload(const DeviceBuffer& dst, const std::vector<unsigned char>& src, cudaStream_t stream) {
  SEPCONV_CUDA_TRY(
      cudaMemcpyAsync(dst.data(), src.data(), src.size(), cudaMemcpyHostToDevice, stream));
}

}  // namespace

void SeparableConv1D::set_weights(const Weights& weights) {
  Impl& m = *impl_;
  validate_weights(m.config, m.precision.dtype, m.in_channels, weights);
  DeviceGuard guard(m.context->device());
  // Device views may still be being written by work on any stream: wait for all of it.
  if (in_device_memory(weights.depthwise) || in_device_memory(weights.pointwise) ||
      in_device_memory(weights.bias)) {
    SEPCONV_CUDA_TRY(cudaDeviceSynchronize());
  }
  const auto stream = detail::make_stream();
  m.upload_weights(weights, stream.get());
}

void SeparableConv1D::set_weights(const Weights& weights, cudaStream_t stream) {
  Impl& m = *impl_;
  validate_weights(m.config, m.precision.dtype, m.in_channels, weights);
  DeviceGuard guard(m.context->device());
  m.upload_weights(weights, stream);
}

void SeparableConv1D::Impl::upload_weights(const Weights& weights, cudaStream_t stream) {
  const HostCopy dw = host_copy(weights.depthwise, stream);
  const HostCopy pw = host_copy(weights.pointwise, stream);
  const HostCopy b = host_copy(weights.bias, stream);
  const DType gemm = gemm_dtype();
  // Packed on the host, copied on `stream`, and waited for: set_weights returns with the weights
  // on the device, whatever stream the next forward uses.
  const auto packed_dw = detail::pack_depthwise(config, in_channels, dw.view);
  const auto packed_pw =
      detail::pack_pointwise(config, in_channels, pw.view, b.view, bias_mode, gemm);
  std::vector<unsigned char> packed_bias;
  if (config.use_bias) {
    const auto e = static_cast<std::int64_t>(dtype_size(gemm));
    packed_bias.resize(static_cast<std::size_t>(config.filters * e));
    for (std::int64_t f = 0; f < config.filters; ++f) {
      detail::store_element(packed_bias.data(), gemm, f,
                            detail::load_element(b.view.data, b.view.dtype, b.view.offset(f)));
    }
  }
  upload(depthwise, packed_dw, stream);
  upload(pointwise, packed_pw, stream);
  if (config.use_bias) upload(bias, packed_bias, stream);
  SEPCONV_CUDA_TRY(cudaStreamSynchronize(stream));
  weights_set = true;
}

// ---- sizes and descriptions ---------------------------------------------------------------------

std::size_t SeparableConv1D::workspace_size(std::int64_t batch, std::int64_t length) const {
  if (batch < 0) fail("batch", std::to_string(batch), "a batch >= 0");
  if (batch == 0) return 0;
  const Impl& m = *impl_;
  DeviceGuard guard(m.context->device());
  return m.workspace_for_any_view(detail::problem_shape(m.config, batch, length, m.in_channels));
}

std::size_t SeparableConv1D::workspace_size(ConstTensorView x, TensorView y) const {
  const Impl& m = *impl_;
  const ProblemShape shape = validate_forward(m.config, m.precision.dtype, x, m.weight_views(), y);
  if (shape.batch == 0) return 0;
  DeviceGuard guard(m.context->device());
  std::size_t most = 0;
  for (const auto& w : m.windows(shape, x, y, SIZE_MAX)) {
    most = std::max(most, m.plan(m.request(shape, x, y, w))->workspace_bytes());
  }
  return most;
}

std::string SeparableConv1D::describe(std::int64_t batch, std::int64_t length) const {
  const Impl& m = *impl_;
  DeviceGuard guard(m.context->device());
  const ProblemShape shape = detail::problem_shape(m.config, batch, length, m.in_channels);
  const auto s = m.placeholders(shape);
  const auto windows = m.windows(shape, s.x, s.y, SIZE_MAX);
  std::ostringstream o;
  o << m.context->describe() << "\n";
  if (windows.empty()) return o.str() + "  batch 0: nothing runs\n";
  const auto bound = m.plan(m.request(shape, s.x, s.y, windows.front()));
  if (windows.size() > 1) {
    o << "  " << windows.size() << " windows (the GEMM takes at most 2^31-1 columns); the first:\n";
  }
  o << bound->plan.describe();
  for (const auto& matmul : bound->matmuls) {
    if (matmul) {
      o << "  cuBLASLt: " << matmul->shape() << ", algorithm workspace "
        << matmul->workspace_size() << " bytes\n";
    }
  }
  o << "  forward workspace " << bound->workspace_bytes() << " bytes\n";
  return o.str();
}

// ---- forward --------------------------------------------------------------------------------------

void SeparableConv1D::forward(ConstTensorView x, TensorView y, cudaStream_t stream) const {
  const Impl& m = *impl_;
  detail::ScopedRange range("sepconv::forward");
  if (!m.weights_set) fail("weights", "no weights", "set_weights before the first forward");
  const ProblemShape shape = validate_forward(m.config, m.precision.dtype, x, m.weight_views(), y);
  if (shape.batch == 0) return;  // a batch of 0 does nothing and needs no workspace
  const DeviceBuffer& workspace = m.context_state().workspace;
  if (workspace.bytes() == 0) {
    fail("workspace", "none: the context has no workspace",
         "Context::reserve(layer, max_batch, max_length) before forward, or the forward overload "
         "that takes a workspace");
  }
  m.run(shape, x, y, workspace.data(), workspace.bytes(), stream);
}

void SeparableConv1D::forward(ConstTensorView x, TensorView y, void* workspace,
                              std::size_t workspace_bytes, cudaStream_t stream) const {
  const Impl& m = *impl_;
  detail::ScopedRange range("sepconv::forward");
  if (!m.weights_set) fail("weights", "no weights", "set_weights before the first forward");
  const ProblemShape shape = validate_forward(m.config, m.precision.dtype, x, m.weight_views(), y);
  if (shape.batch == 0) return;
  m.run(shape, x, y, workspace, workspace_bytes, stream);
}

void SeparableConv1D::Impl::run(const ProblemShape& shape, ConstTensorView x, TensorView y,
                                void* workspace, std::size_t workspace_bytes,
                                cudaStream_t stream) const {
  check_memory({{"x", x}, {"y", y}}, workspace, stream);
  const int device = context->device();
  DeviceGuard guard(device);
  const std::size_t available = workspace == nullptr ? 0 : workspace_bytes;
  const cublasLtHandle_t handle = context_state().handle.get();
  // The common case first, planned once: the whole call in one window (what split_into_windows
  // returns first when it fits).
  const std::int64_t lout = shape.geometry.out_length;
  if (detail::gemm_window_limits(config.data_format).allow(shape.batch, lout)) {
    const auto bound = plan(request(shape, x, y, {0, shape.batch, 0, lout}));
    if (bound->workspace_bytes() <= available) {
      detail::run_window(*bound, 0, 0, x, y, device_weights(), workspace, workspace_bytes, handle,
                         stream);
      return;
    }
  }
  const auto all = windows(shape, x, y, available);
  for (const auto& w : all) {
    const auto bound = plan(request(shape, x, y, w));
    detail::run_window(*bound, w.batch_begin, w.time_begin, x, y, device_weights(), workspace,
                       workspace_bytes, handle, stream);
  }
}

void SeparableConv1D::Impl::check_memory(
    std::initializer_list<std::pair<const char*, ConstTensorView>> views, void* workspace,
    cudaStream_t stream) const {
  const int device = context->device();
  for (const auto& [name, view] : views) {
    if (view.empty() || view.numel() == 0) continue;
    int owner = -1;
    const auto kind = detail::memory_kind(view.data, &owner);
    if (kind == detail::MemoryKind::host) {
      fail(name, "host memory", "device (or managed) memory of the layer's device");
    }
    if (kind == detail::MemoryKind::device && owner != device) {
      fail(name, str("memory of device ", owner), str("memory of device ", device));
    }
  }
  if (reinterpret_cast<std::uintptr_t>(workspace) % 256 != 0) {
    fail("workspace", "a pointer not 256-byte aligned", "cudaMalloc'd (256-byte aligned) memory");
  }
  if (workspace != nullptr) {
    int owner = -1;
    const auto kind = detail::memory_kind(workspace, &owner);
    if (kind == detail::MemoryKind::host ||
        (kind == detail::MemoryKind::device && owner != device)) {
      fail("workspace",
           kind == detail::MemoryKind::host ? "host memory" : str("memory of device ", owner),
           str("device memory of the layer's device ", device));
    }
  }
  if (stream != nullptr && stream != cudaStreamLegacy && stream != cudaStreamPerThread) {
    int owner = -1;
    SEPCONV_CUDA_TRY(cudaStreamGetDevice(stream, &owner));
    if (owner != device) {
      fail("stream", str("a stream of device ", owner),
           str("a stream of the layer's device ", device));
    }
  }
}

// ---- streaming (docs/semantics.md and docs/architecture.md, "Streaming") -------------------------

const detail::BoundPlan& SeparableConv1D::Impl::chunk_plan(StreamState::Impl& state,
                                                           const ProblemShape& shape,
                                                           const ConstTensorView& x,
                                                           const ConstTensorView& y) const {
  detail::PlanRequest r = request(shape, x, y, {0, shape.batch, 0, shape.geometry.out_length});
  r.stream = true;
  // With a history, only the copy that assembles [history | chunk] reads x, element by element:
  // x's alignment changes nothing, and must not make chunks at other steps plan anew.
  if (state.history_steps > 0) r.x_align = 256;
  const StreamState::Impl::Key key{shape.batch,    shape.length,   shape.geometry.out_length,
                                   shape.geometry.pad.left,        r.x_strides[0],
                                   r.x_strides[1], r.x_strides[2], r.y_strides[0],
                                   r.y_strides[1], r.y_strides[2], r.x_align,
                                   r.y_align};
  if (state.last_plan == nullptr || key != state.last_key) {
    std::shared_ptr<BoundPlan> bound = plan(r);
    if (bound->workspace_bytes() > state.workspace.bytes()) {
      fail("state",
           str("a chunk whose plan needs ", bound->workspace_bytes(), " bytes of workspace"),
           str("at most the state's ", state.workspace.bytes(),
               " bytes (chunk_workspace_size sizes it for views of any alignment; a cuBLASLt "
               "algorithm chosen for these views needs more)"));
    }
    state.last_key = key;
    state.last_plan = std::move(bound);
  }
  return *state.last_plan;
}

void SeparableConv1D::Impl::run_chunk(const StreamState::Impl& state,
                                      const detail::BoundPlan& bound, const ConstTensorView& x,
                                      const TensorView& y, cudaStream_t stream) const {
  detail::run_window(bound, 0, 0, x, y, device_weights(), state.workspace.data(),
                     state.workspace.bytes(), context_state().handle.get(), stream,
                     state.history.data());
}

void SeparableConv1D::forward_chunk(ConstTensorView x, TensorView y, StreamState& state,
                                    cudaStream_t stream) const {
  const Impl& m = *impl_;
  detail::ScopedRange range("sepconv::forward_chunk");
  if (!m.weights_set) fail("weights", "no weights", "set_weights before the first forward_chunk");
  StreamState::Impl& s = *state.impl_;
  if (s.owner != &m.config) {
    fail("state", "the StreamState of another layer", "a StreamState made for this layer");
  }
  const ProblemShape shape =
      validate_chunk(m.config, m.precision.dtype, x, m.weight_views(), y, s.position);
  detail::check_stream_rows(shape, s.batch, m.in_channels);
  m.check_memory({{"x", x}, {"y", y}}, s.workspace.data(), stream);
  DeviceGuard guard(m.context->device());
  if (shape.length <= s.max_chunk) {
    m.run_chunk(s, m.chunk_plan(s, shape, x, y), x, y, stream);
    s.position += shape.length;  // validate_chunk checked that it fits
    return;
  }
  // Longer than the state's workspace allows: pieces of max_chunk steps, each a chunk of its own
  // (outputs one after the other in y), all planned and checked before the first is enqueued.
  const DataFormat format = m.config.data_format;
  for (const bool enqueue : {false, true}) {
    std::int64_t position = s.position;
    std::int64_t outputs = 0;
    for (std::int64_t begin = 0; begin < shape.length; begin += s.max_chunk) {
      const std::int64_t steps = std::min(s.max_chunk, shape.length - begin);
      const ProblemShape piece =
          detail::chunk_shape(m.config, shape.batch, shape.in_channels, position, steps);
      const std::int64_t count = piece.geometry.out_length;
      const ConstTensorView xp = detail::time_slice(x, format, begin, steps);
      const TensorView yp = detail::time_slice(y, format, outputs, count);
      const detail::BoundPlan& bound = m.chunk_plan(s, piece, xp, yp);
      if (enqueue) m.run_chunk(s, bound, xp, yp, stream);
      position += steps;
      outputs += count;
    }
  }
  s.position += shape.length;
}

std::size_t SeparableConv1D::chunk_workspace_size(std::int64_t batch,
                                                  std::int64_t max_chunk) const {
  const Impl& m = *impl_;
  const std::int64_t history = detail::check_stream_state(m.config, m.in_channels, batch);
  if (max_chunk <= 0) fail("max_chunk", std::to_string(max_chunk), "at least 1 step");
  const std::int64_t s = m.config.strides;
  const std::int64_t most_outputs = max_chunk / s + (max_chunk % s != 0 ? 1 : 0);
  if (!detail::gemm_window_limits(m.config.data_format).allow(batch, most_outputs)) {
    fail("max_chunk", str(max_chunk, " steps of ", batch, " rows (", most_outputs, " outputs each)"),
         "chunks whose outputs fit one GEMM (at most 2^31-1 columns)");
  }
  DeviceGuard guard(m.context->device());
  // The largest chunks (every phase: as many outputs as a chunk of that length can have) and the
  // one-step chunk, for outputs of every alignment, contiguous or not (as workspace_size does).
  std::size_t most = 0;
  for (const std::int64_t steps : {std::int64_t{1}, max_chunk}) {
    ProblemShape shape = detail::chunk_shape(m.config, batch, m.in_channels, 0, 1);
    shape.length = steps;
    shape.geometry.out_length = steps / s + (steps % s != 0 ? 1 : 0);
    shape.geometry.pad.left = history;
    const auto e = static_cast<std::int64_t>(dtype_size(m.precision.dtype));
    for (const bool padded : {false, true}) {
      for (std::int64_t align = e; align <= 256; align *= 2) {
        const Impl::Shapes views = m.placeholders(shape, align, padded);
        detail::PlanRequest r =
            m.request(shape, views.x, views.y, {0, batch, 0, shape.geometry.out_length});
        r.stream = true;
        most = std::max(most, m.plan(r)->workspace_bytes());
      }
    }
  }
  return most;
}

std::string SeparableConv1D::describe_chunk(std::int64_t batch, std::int64_t steps,
                                            std::int64_t position) const {
  const Impl& m = *impl_;
  detail::check_stream_state(m.config, m.in_channels, batch);
  DeviceGuard guard(m.context->device());
  const ProblemShape shape = detail::chunk_shape(m.config, batch, m.in_channels, position, steps);
  const Impl::Shapes views = m.placeholders(shape);
  detail::PlanRequest r = m.request(shape, views.x, views.y, {0, batch, 0, shape.geometry.out_length});
  r.stream = true;
  const auto bound = m.plan(r);
  std::ostringstream o;
  o << m.context->describe() << "\n" << bound->plan.describe();
  for (const auto& matmul : bound->matmuls) {
    if (matmul) {
      o << "  cuBLASLt: " << matmul->shape() << ", algorithm workspace "
        << matmul->workspace_size() << " bytes\n";
    }
  }
  o << "  chunk workspace " << bound->workspace_bytes() << " bytes\n";
  return o.str();
}

}  // namespace sepconv

// ---- training: the training forward and the backward ---------------------------------------------

namespace sepconv {

using Pass = detail::PlanRequest::Pass;

void SeparableConv1D::set_trainable(bool trainable) noexcept { impl_->trainable = trainable; }
bool SeparableConv1D::trainable() const noexcept { return impl_->trainable; }

detail::PlanRequest SeparableConv1D::Impl::training_request(const ProblemShape& shape,
                                                            const ConstTensorView& x,
                                                            const ConstTensorView& y,
                                                            Pass pass) const {
  detail::PlanRequest r = request(shape, x, y, {0, shape.batch, 0, shape.geometry.out_length});
  r.pass = pass;
  r.keep_d = detail::keep_intermediate(config, precision, shape);
  r.trainable = trainable;
  return r;
}

detail::PlanRequest SeparableConv1D::Impl::backward_request(const ProblemShape& shape,
                                                            const ConstTensorView& x,
                                                            const ConstTensorView& dy,
                                                            const Gradients& g) const {
  detail::PlanRequest r = training_request(shape, x, dy, Pass::backward);
  for (int i = 0; i < 3; ++i) {
    r.dy_strides[i] = dy.strides[i];
    r.dx_strides[i] = g.input.strides[i];
    r.grad_depthwise_strides[i] = g.depthwise.strides[i];
    r.grad_pointwise_strides[i] = g.pointwise.strides[i];
  }
  r.grad_bias_stride = g.bias.strides[0];
  return r;
}

namespace {

// The training state the caller passes: device memory of the device, 256-byte aligned, large
// enough.
void check_state(const void* state, std::size_t bytes, std::size_t needed, int device) {
  if (needed == 0) return;
  if (state == nullptr || bytes < needed) {
    fail("state", state == nullptr ? std::string("none") : str(bytes, " bytes"),
         str("the ", needed, " bytes of training_state_size"));
  }
  if (reinterpret_cast<std::uintptr_t>(state) % 256 != 0) {
    fail("state", "a pointer not 256-byte aligned", "cudaMalloc'd (256-byte aligned) memory");
  }
  int owner = -1;
  const auto kind = detail::memory_kind(state, &owner);
  if (kind == detail::MemoryKind::host || (kind == detail::MemoryKind::device && owner != device)) {
    fail("state", kind == detail::MemoryKind::host ? "host memory" : str("memory of device ", owner),
         str("device memory of the layer's device ", device));
  }
}

void check_workspace(std::size_t bytes, std::size_t needed) {
  if (bytes < needed) {
    fail("workspace", str(bytes, " bytes"),
         str("at least the ", needed,
             " bytes this call needs in one piece (training_workspace_size)"));
  }
}

// A contiguous view of a placeholder address, for sizing and describing.
TensorView placeholder(DType dtype, std::initializer_list<std::int64_t> shape) {
  return contiguous_view(reinterpret_cast<void*>(std::uintptr_t{256}), dtype, shape);
}

}  // namespace

std::size_t SeparableConv1D::training_state_size(std::int64_t batch, std::int64_t length) const {
  if (batch < 0) fail("batch", std::to_string(batch), "a batch >= 0");
  if (batch == 0) return 0;
  const Impl& m = *impl_;
  const ProblemShape shape = detail::problem_shape(m.config, batch, length, m.in_channels);
  const auto s = m.placeholders(shape);
  return static_cast<std::size_t>(
      detail::training_state_layout(m.training_request(shape, s.x, s.y, Pass::training_forward),
                                    m.context_state().limits)
          .bytes);
}

std::size_t SeparableConv1D::training_workspace_size(std::int64_t batch,
                                                     std::int64_t length) const {
  if (batch < 0) fail("batch", std::to_string(batch), "a batch >= 0");
  if (batch == 0) return 0;
  const Impl& m = *impl_;
  DeviceGuard guard(m.context->device());
  const ProblemShape shape = detail::problem_shape(m.config, batch, length, m.in_channels);
  // The training forward: cuBLASLt's algorithm (and its workspace) may depend on y's alignment
  // and layout when the GEMM writes y (a linear layer), so the largest over them.
  const auto e = static_cast<std::int64_t>(dtype_size(m.precision.dtype));
  std::size_t most = 0;
  for (const bool padded : {false, true}) {
    for (std::int64_t align = e; align <= 256; align *= 2) {
      const auto s = m.placeholders(shape, align, padded);
      most = std::max(most,
                      m.plan(m.training_request(shape, s.x, s.y, Pass::training_forward))
                          ->workspace_bytes());
    }
  }
  // The backward touches aligned workspace, state and weights only: one size, the trainable
  // one's (the larger).
  const auto s = m.placeholders(shape);
  const std::int64_t cm = shape.mid_channels(m.config);
  Gradients g{TensorView{const_cast<void*>(s.x.data), s.x.dtype, 3, s.x.shape, s.x.strides},
              placeholder(DType::f32, {m.config.kernel_size, m.in_channels, m.config.depth_multiplier}),
              placeholder(DType::f32, {1, cm, m.config.filters}),
              m.config.use_bias ? placeholder(DType::f32, {m.config.filters}) : TensorView{}};
  detail::PlanRequest r = m.backward_request(shape, s.x, s.y, g);
  r.trainable = true;
  return std::max(most, m.plan(r)->workspace_bytes());
}

std::string SeparableConv1D::describe_training(std::int64_t batch, std::int64_t length) const {
  const Impl& m = *impl_;
  DeviceGuard guard(m.context->device());
  const ProblemShape shape = detail::problem_shape(m.config, batch, length, m.in_channels);
  std::ostringstream o;
  o << m.context->describe() << "\n";
  if (batch == 0) return o.str() + "  batch 0: the backward only writes zero weight gradients\n";
  const auto s = m.placeholders(shape);
  const std::int64_t cm = shape.mid_channels(m.config);
  const Gradients g{TensorView{const_cast<void*>(s.x.data), s.x.dtype, 3, s.x.shape, s.x.strides},
                    placeholder(DType::f32, {m.config.kernel_size, m.in_channels,
                                             m.config.depth_multiplier}),
                    placeholder(DType::f32, {1, cm, m.config.filters}),
                    m.config.use_bias ? placeholder(DType::f32, {m.config.filters}) : TensorView{}};
  for (const auto& r : {m.training_request(shape, s.x, s.y, Pass::training_forward),
                        m.backward_request(shape, s.x, s.y, g)}) {
    const auto bound = m.plan(r);
    o << bound->plan.describe();
    for (const auto& matmul : bound->matmuls) {
      if (matmul) {
        o << "  cuBLASLt: " << matmul->shape() << ", algorithm workspace "
          << matmul->workspace_size() << " bytes\n";
      }
    }
    o << "  workspace " << bound->workspace_bytes() << " bytes\n";
  }
  return o.str();
}

void SeparableConv1D::forward_training(ConstTensorView x, TensorView y, void* state,
                                       std::size_t state_bytes, void* workspace,
                                       std::size_t workspace_bytes, cudaStream_t stream) const {
  const Impl& m = *impl_;
  detail::ScopedRange range("sepconv::forward_training");
  if (!m.weights_set) fail("weights", "no weights", "set_weights before the first forward");
  const ProblemShape shape = validate_forward(m.config, m.precision.dtype, x, m.weight_views(), y);
  if (shape.batch == 0) return;
  m.check_memory({{"x", x}, {"y", y}}, workspace, stream);
  DeviceGuard guard(m.context->device());
  const auto bound = m.plan(m.training_request(shape, x, y, Pass::training_forward));
  check_state(state, state_bytes, static_cast<std::size_t>(bound->plan.state_bytes()),
              m.context->device());
  check_workspace(workspace_bytes, bound->workspace_bytes());
  detail::Bindings t;
  t.x = x;
  t.y = y;
  t.state = state;
  detail::run_plan(*bound, t, m.device_weights(), workspace, workspace_bytes,
                   m.context_state().handle.get(), stream);
}

void SeparableConv1D::backward(ConstTensorView x, ConstTensorView dy, const void* state,
                               std::size_t state_bytes, const Gradients& gradients,
                               void* workspace, std::size_t workspace_bytes,
                               cudaStream_t stream) const {
  const Impl& m = *impl_;
  detail::ScopedRange range("sepconv::backward");
  if (!m.weights_set) fail("weights", "no weights", "set_weights before the first backward");
  const ProblemShape shape = validate_backward(m.config, m.precision.dtype, x, m.weight_views(),
                                               dy, gradients, m.trainable);
  if (shape.batch == 0 && !m.trainable) return;  // nothing to write
  m.check_memory({{"x", x},
                  {"dy", dy},
                  {"grad_input", gradients.input},
                  {"grad_depthwise", gradients.depthwise},
                  {"grad_pointwise", gradients.pointwise},
                  {"grad_bias", gradients.bias}},
                 workspace, stream);
  DeviceGuard guard(m.context->device());
  const auto bound = m.plan(m.backward_request(shape, x, dy, gradients));
  check_state(state, state_bytes, static_cast<std::size_t>(bound->plan.state_bytes()),
              m.context->device());
  check_workspace(workspace_bytes, bound->workspace_bytes());
  detail::Bindings t;
  t.x = x;
  t.dy = dy;
  t.dx = gradients.input;
  t.grad_depthwise = gradients.depthwise;
  t.grad_pointwise = gradients.pointwise;
  t.grad_bias = gradients.bias;
  t.state = const_cast<void*>(state);
  detail::run_plan(*bound, t, m.device_weights(), workspace, workspace_bytes,
                   m.context_state().handle.get(), stream);
}

}  // namespace sepconv
