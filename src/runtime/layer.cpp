// The GPU layer: Context (device, cuBLASLt handle, plan cache, workspace) and SeparableConv1D
// (device weights, forward).
#include "sepconv/layer.h"

#include <atomic>
#include <list>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

#include "runtime/check.h"
#include "runtime/device.h"
#include "runtime/executor.h"
#include "runtime/nvtx.h"
#include "detail/checks.h"
#include "plan/chunks.h"
#include "plan/pack.h"

namespace sepconv {

using detail::BoundPlan;
using detail::DeviceBuffer;
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

// ---- Context --------------------------------------------------------------------------------

namespace {

// Everything a plan depends on: the layer and the request.
using PlanKey = std::vector<std::int64_t>;

PlanKey plan_key(std::uint64_t layer, const detail::PlanRequest& r) {
  return {static_cast<std::int64_t>(layer), r.batch, r.length, r.window.batch_count,
          r.window.time_count, r.x_strides[0], r.x_strides[1], r.x_strides[2], r.y_strides[0],
          r.y_strides[1], r.y_strides[2], r.x_align, r.y_align, r.bias_align};
}

std::atomic<std::uint64_t> next_layer_id{1};

}  // namespace

struct Context::Impl {
  int device = 0;
  ContextOptions options;
  detail::DeviceLimits limits;
  std::string name;
  detail::Owned<cublasLtHandle_t> handle;
  DeviceBuffer workspace;

  // Bounded LRU cache of plans; most recently used at the front.
  std::mutex mutex;
  std::list<std::pair<PlanKey, std::shared_ptr<BoundPlan>>> plans;
  std::map<PlanKey, decltype(plans)::iterator> index;

  std::shared_ptr<BoundPlan> plan(std::uint64_t layer, const detail::PlanRequest& request,
                                  const void* bias) {
    const PlanKey key = plan_key(layer, request);
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = index.find(key); it != index.end()) {
      plans.splice(plans.begin(), plans, it->second);
      return it->second->second;
    }
    std::shared_ptr<BoundPlan> bound = bind(request, bias);
    plans.emplace_front(key, bound);
    index[key] = plans.begin();
    while (plans.size() > options.plan_cache_capacity) {
      index.erase(plans.back().first);
      plans.pop_back();
    }
    return bound;
  }

  // A plan with its GEMM's algorithm chosen and its bias bound. When cuBLASLt has no algorithm,
  // the GEMM asks for less: first the bias moves from its epilogue to the elementwise pass, then
  // (for y as it is: a 16-bit y only 2-byte aligned, say) the GEMM writes an aligned scratch that
  // the pass after it copies into y.
  std::shared_ptr<BoundPlan> bind(const detail::PlanRequest& request, const void* bias) {
    detail::Plan p = detail::make_plan(request, limits);
    auto bound = std::make_shared<BoundPlan>(BoundPlan{p, detail::LtMatmul(p.gemm)});
    try {
      bound->matmul.choose_algorithm(handle.get(), options.max_gemm_workspace);
    } catch (const Unsupported&) {
      detail::PlanRequest simpler = request;
      if (p.bias == detail::BiasMode::gemm_epilogue && !p.float32_intermediate) {
        simpler.force_bias = detail::BiasMode::elementwise;
      } else if (p.z_bytes == 0) {
        simpler.gemm_to_scratch = true;
      } else {
        throw;
      }
      return bind(simpler, bias);
    }
    bound->matmul.set_bias_pointer(bias);
    return bound;
  }

  void forget(std::uint64_t layer) {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto it = plans.begin(); it != plans.end();) {
      if (it->first.front() == static_cast<std::int64_t>(layer)) {
        index.erase(it->first);
        it = plans.erase(it);
      } else {
        ++it;
      }
    }
  }
};

Context::Context(int device, const ContextOptions& options) : impl_(std::make_unique<Impl>()) {
  int count = 0;
  SEPCONV_CUDA_TRY(cudaGetDeviceCount(&count));
  if (device < 0 || device >= count) {
    fail("device", std::to_string(device), str("a device index in [0, ", count, ")"));
  }
  if (options.plan_cache_capacity == 0) {
    fail("plan_cache_capacity", "0", "at least 1");
  }
  DeviceGuard guard(device);
  impl_->device = device;
  impl_->options = options;
  impl_->limits = detail::read_device_limits(device);
  cudaDeviceProp prop{};
  SEPCONV_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
  impl_->name = str(prop.name, " (sm_", prop.major, prop.minor, ", ", impl_->limits.multiprocessors,
                    " SMs, ", prop.totalGlobalMem >> 20, " MiB)");
  impl_->handle = detail::make_lt_handle();
}

Context::~Context() = default;

Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;

int Context::device() const noexcept { return impl_->device; }

std::size_t Context::workspace_bytes() const noexcept { return impl_->workspace.bytes(); }

std::string Context::describe() const {
  return str("device ", impl_->device, ": ", impl_->name, ", cuBLASLt ", cublasLtGetVersion(),
             ", workspace ", workspace_bytes(), " bytes");
}

void Context::reserve(const SeparableConv1D& layer, std::int64_t max_batch,
                      std::int64_t max_length) {
  if (&layer.context() != this) {
    fail("layer", "a layer of another Context", "a layer built with this Context");
  }
  const std::size_t bytes = layer.workspace_size(max_batch, max_length);
  if (bytes <= impl_->workspace.bytes()) return;
  DeviceGuard guard(impl_->device);
  impl_->workspace.release();
  impl_->workspace = DeviceBuffer(bytes);
}

// ---- Workspace --------------------------------------------------------------------------------

Workspace::Workspace(const Context& context, std::size_t bytes) : bytes_(bytes) {
  device_ = context.device();
  DeviceGuard guard(device_);
  if (bytes > 0) SEPCONV_CUDA_TRY(cudaMalloc(&data_, bytes));
}

Workspace::~Workspace() {
  if (data_ != nullptr) static_cast<void>(cudaFree(data_));
}

Workspace::Workspace(Workspace&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      device_(other.device_) {}

Workspace& Workspace::operator=(Workspace&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) static_cast<void>(cudaFree(data_));
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    device_ = other.device_;
  }
  return *this;
}

// ---- SeparableConv1D ----------------------------------------------------------------------------

struct SeparableConv1D::Impl {
  Context* context = nullptr;
  LayerConfig config;
  std::int64_t in_channels = 0;
  Precision precision;
  std::uint64_t id = 0;
  detail::BiasMode bias_mode = detail::BiasMode::none;
  DeviceBuffer depthwise;  // W[m][j][c], the layer's dtype
  DeviceBuffer pointwise;  // Wp' (K, F), the GEMM's type
  DeviceBuffer bias;       // (F), the GEMM's type
  bool weights_set = false;

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
    w.pointwise = contiguous_view(static_cast<const void*>(pointwise.data()), t, {1, cm, config.filters});
    if (config.use_bias) {
      w.bias = contiguous_view(static_cast<const void*>(bias.data()), t, {config.filters});
    }
    return w;
  }

  [[nodiscard]] detail::DeviceWeights device_weights() const {
    return {depthwise.data(), pointwise.data(), config.use_bias ? bias.data() : nullptr};
  }

  // The request of a window of a forward with these views.
  [[nodiscard]] detail::PlanRequest request(const ConstTensorView& x, const ConstTensorView& y,
                                            const detail::LaunchWindow& w) const {
    detail::PlanRequest r;
    r.config = config;
    r.dtype = precision.dtype;
    r.math = precision.math;
    r.float32_intermediate = precision.float32_intermediate;
    r.batch = x.shape[0];
    r.length = config.data_format == DataFormat::channels_last ? x.shape[1] : x.shape[2];
    r.in_channels = in_channels;
    r.window = {0, w.batch_count, 0, w.time_count};
    const auto e = static_cast<std::int64_t>(dtype_size(precision.dtype));
    const bool last = config.data_format == DataFormat::channels_last;
    for (int i = 0; i < 3; ++i) {
      r.x_strides[i] = x.strides[i];
      r.y_strides[i] = y.strides[i];
    }
    auto align = [](const void* p, std::int64_t bytes) {
      return detail::alignment_of(reinterpret_cast<std::uintptr_t>(p) + static_cast<std::uint64_t>(bytes));
    };
    r.x_align = align(x.data, w.batch_begin * x.strides[0] * e);
    r.y_align = align(y.data, (w.batch_begin * y.strides[0] +
                               w.time_begin * (last ? y.strides[1] : y.strides[2])) * e);
    r.bias_align = config.use_bias ? align(bias.data(), 0) : 256;
    return r;
  }

  [[nodiscard]] std::shared_ptr<BoundPlan> plan(const detail::PlanRequest& r) const {
    return context->impl().plan(id, r, config.use_bias ? bias.data() : nullptr);
  }

  // Placeholder views of a batch x length problem (for sizing and describing): contiguous and
  // 256-byte aligned, or y `y_align`-byte aligned and, with `padded`, with a gap after each
  // sample (the strided-batched GEMM of a sliced y).
  struct Shapes {
    ConstTensorView x;
    ConstTensorView y;
  };
  [[nodiscard]] Shapes placeholders(std::int64_t batch, std::int64_t length,
                                    std::int64_t y_align = 256, bool padded = false) const {
    const auto xs = input_shape(config, batch, length, in_channels);
    const auto ys = output_shape(config, batch, length);
    const void* x_base = reinterpret_cast<const void*>(std::uintptr_t{256});
    const void* y_base =
        reinterpret_cast<const void*>(static_cast<std::uintptr_t>(256 + y_align % 256));
    Shapes s{contiguous_view(x_base, precision.dtype, {xs[0], xs[1], xs[2]}),
             contiguous_view(y_base, precision.dtype, {ys[0], ys[1], ys[2]})};
    if (padded) s.y.strides[0] += ys[2];
    return s;
  }

  // What a forward of batch x length needs in one piece, whatever its views: cuBLASLt's
  // algorithm, and its workspace, may differ with y's alignment (from the element size to 256
  // bytes) and between the one-GEMM and the strided-batched mapping, so the largest of them.
  // (Windows only when the GEMM cannot take the whole problem at once.)
  [[nodiscard]] std::size_t workspace_for_any_view(std::int64_t batch, std::int64_t length) const {
    const auto e = static_cast<std::int64_t>(dtype_size(precision.dtype));
    std::size_t most = 0;
    for (const bool padded : {false, true}) {
      for (std::int64_t align = e; align <= 256; align *= 2) {
        const Shapes s = placeholders(batch, length, align, padded);
        for (const auto& w : windows(s.x, s.y, SIZE_MAX)) {
          most = std::max(most, plan(request(s.x, s.y, w))->workspace_bytes());
        }
      }
    }
    return most;
  }

  [[nodiscard]] std::vector<detail::LaunchWindow> windows(const ConstTensorView& x,
                                                          const ConstTensorView& y,
                                                          std::size_t available) const {
    const std::int64_t lout = config.data_format == DataFormat::channels_last ? y.shape[1] : y.shape[2];
    const bool time_splittable = !(is_row_reduction(config.activation) &&
                                   config.data_format == DataFormat::channels_first);
    return detail::split_into_windows(
        x.shape[0], lout, time_splittable, available,
        [&](const detail::LaunchWindow& w) { return plan(request(x, y, w))->workspace_bytes(); },
        detail::gemm_window_limits(config.data_format));
  }
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
  DeviceGuard guard(context.device());
  m.depthwise = DeviceBuffer(static_cast<std::size_t>(config.kernel_size * cm) * e);
  m.pointwise = DeviceBuffer(static_cast<std::size_t>(k_rows * config.filters) * eg);
  if (config.use_bias) m.bias = DeviceBuffer(static_cast<std::size_t>(config.filters) * eg);
}

SeparableConv1D::~SeparableConv1D() {
  if (impl_ && impl_->context != nullptr) impl_->context->impl().forget(impl_->id);
}

SeparableConv1D::SeparableConv1D(SeparableConv1D&&) noexcept = default;
SeparableConv1D& SeparableConv1D::operator=(SeparableConv1D&&) noexcept = default;

const LayerConfig& SeparableConv1D::config() const noexcept { return impl_->config; }
std::int64_t SeparableConv1D::in_channels() const noexcept { return impl_->in_channels; }
const Precision& SeparableConv1D::precision() const noexcept { return impl_->precision; }
Context& SeparableConv1D::context() const noexcept { return *impl_->context; }

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
  SEPCONV_CUDA_TRY(cudaMemcpyAsync(dst.data(), src.data(), src.size(), cudaMemcpyHostToDevice, stream));
}

}  // namespace

void SeparableConv1D::set_weights(const Weights& weights) {
  const Impl& m = *impl_;
  validate_weights(m.config, m.precision.dtype, m.in_channels, weights);
  DeviceGuard guard(m.context->device());
  // Device views may still be being written by work on any stream: wait for all of it.
  if (in_device_memory(weights.depthwise) || in_device_memory(weights.pointwise) ||
      in_device_memory(weights.bias)) {
    SEPCONV_CUDA_TRY(cudaDeviceSynchronize());
  }
  const auto stream = detail::make_stream();
  set_weights(weights, stream.get());
}

void SeparableConv1D::set_weights(const Weights& weights, cudaStream_t stream) {
  Impl& m = *impl_;
  validate_weights(m.config, m.precision.dtype, m.in_channels, weights);
  DeviceGuard guard(m.context->device());
  const HostCopy dw = host_copy(weights.depthwise, stream);
  const HostCopy pw = host_copy(weights.pointwise, stream);
  const HostCopy bias = host_copy(weights.bias, stream);
  const DType gemm = m.gemm_dtype();
  // Packed on the host, copied on `stream`, and waited for: set_weights returns with the weights
  // on the device, whatever stream the next forward uses.
  const auto packed_dw = detail::pack_depthwise(m.config, m.in_channels, dw.view);
  const auto packed_pw =
      detail::pack_pointwise(m.config, m.in_channels, pw.view, bias.view, m.bias_mode, gemm);
  std::vector<unsigned char> packed_bias;
  if (m.config.use_bias) {
    const auto e = static_cast<std::int64_t>(dtype_size(gemm));
    packed_bias.resize(static_cast<std::size_t>(m.config.filters * e));
    for (std::int64_t f = 0; f < m.config.filters; ++f) {
      detail::store_element(packed_bias.data(), gemm, f,
                            detail::load_element(bias.view.data, bias.view.dtype, bias.view.offset(f)));
    }
  }
  upload(m.depthwise, packed_dw, stream);
  upload(m.pointwise, packed_pw, stream);
  if (m.config.use_bias) upload(m.bias, packed_bias, stream);
  SEPCONV_CUDA_TRY(cudaStreamSynchronize(stream));
  m.weights_set = true;
}

std::size_t SeparableConv1D::workspace_size(std::int64_t batch, std::int64_t length) const {
  if (batch < 0) fail("batch", std::to_string(batch), "a batch >= 0");
  if (batch == 0) return 0;
  const Impl& m = *impl_;
  DeviceGuard guard(m.context->device());
  return m.workspace_for_any_view(batch, length);
}

std::size_t SeparableConv1D::workspace_size(ConstTensorView x, TensorView y) const {
  const Impl& m = *impl_;
  const ProblemShape shape = validate_forward(m.config, m.precision.dtype, x, m.weight_views(), y);
  if (shape.batch == 0) return 0;
  DeviceGuard guard(m.context->device());
  return m.plan(m.request(x, y, {0, shape.batch, 0, shape.geometry.out_length}))->workspace_bytes();
}

std::string SeparableConv1D::describe(std::int64_t batch, std::int64_t length) const {
  const Impl& m = *impl_;
  DeviceGuard guard(m.context->device());
  const auto s = m.placeholders(batch, length);
  const auto windows = m.windows(s.x, s.y, SIZE_MAX);
  std::ostringstream o;
  o << m.context->describe() << "\n";
  if (windows.empty()) return o.str() + "  batch 0: nothing runs\n";
  const auto bound = m.plan(m.request(s.x, s.y, windows.front()));
  if (windows.size() > 1) {
    o << "  " << windows.size() << " windows (the GEMM takes at most 2^31-1 columns); the first:\n";
  }
  o << bound->plan.describe() << "  cuBLASLt: " << bound->matmul.shape()
    << ", algorithm workspace " << bound->matmul.workspace_size() << " bytes; forward workspace "
    << bound->workspace_bytes() << " bytes\n";
  return o.str();
}

void SeparableConv1D::forward(ConstTensorView x, TensorView y, cudaStream_t stream) const {
  Context::Impl& c = impl_->context->impl();
  if (c.workspace.bytes() == 0) {
    // Bad arguments first; a batch of 0 does nothing and needs no workspace.
    const Impl& m = *impl_;
    if (validate_forward(m.config, m.precision.dtype, x, m.weight_views(), y).batch == 0) return;
    fail("workspace", "none: the context has no workspace",
         "Context::reserve(layer, max_batch, max_length) before forward, or the forward overload "
         "that takes a workspace");
  }
  forward(x, y, c.workspace.data(), c.workspace.bytes(), stream);
}

void SeparableConv1D::forward(ConstTensorView x, TensorView y, void* workspace,
                              std::size_t workspace_bytes, cudaStream_t stream) const {
  const Impl& m = *impl_;
  detail::ScopedRange range("sepconv::forward");
  if (!m.weights_set) fail("weights", "no weights", "set_weights before the first forward");
  const ProblemShape shape = validate_forward(m.config, m.precision.dtype, x, m.weight_views(), y);
  if (shape.batch == 0) return;
  for (const auto& [name, view] : {std::pair<const char*, ConstTensorView>{"x", x}, {"y", y}}) {
    int owner = -1;
    const auto kind = detail::memory_kind(view.data, &owner);
    if (kind == detail::MemoryKind::host) {
      fail(name, "host memory", "device (or managed) memory of the layer's device");
    }
    if (kind == detail::MemoryKind::device && owner != m.context->device()) {
      fail(name, str("memory of device ", owner), str("memory of device ", m.context->device()));
    }
  }
  if (reinterpret_cast<std::uintptr_t>(workspace) % 256 != 0) {
    fail("workspace", "a pointer not 256-byte aligned", "cudaMalloc'd (256-byte aligned) memory");
  }
  const int device = m.context->device();
  if (workspace != nullptr) {
    int owner = -1;
    const auto kind = detail::memory_kind(workspace, &owner);
    if (kind == detail::MemoryKind::host || (kind == detail::MemoryKind::device && owner != device)) {
      fail("workspace", kind == detail::MemoryKind::host ? "host memory" : str("memory of device ", owner),
           str("device memory of the layer's device ", device));
    }
  }
  if (stream != nullptr && stream != cudaStreamLegacy && stream != cudaStreamPerThread) {
    int owner = -1;
    SEPCONV_CUDA_TRY(cudaStreamGetDevice(stream, &owner));
    if (owner != device) {
      fail("stream", str("a stream of device ", owner), str("a stream of the layer's device ", device));
    }
  }
  DeviceGuard guard(device);
  const auto windows = m.windows(x, y, workspace == nullptr ? 0 : workspace_bytes);
  const cublasLtHandle_t handle = m.context->impl().handle.get();
  for (const auto& w : windows) {
    const auto bound = m.plan(m.request(x, y, w));
    detail::run_window(*bound, w.batch_begin, w.time_begin, x, y, m.device_weights(), workspace,
                       workspace_bytes, handle, stream);
  }
}

}  // namespace sepconv
