// The Context: device, cuBLASLt handle, plan cache, workspace.
#include "runtime/context.h"

#include <variant>

#include "detail/cuda_check.h"
#include "detail/message.h"

namespace sepconv {

using detail::fail;
using detail::str;

namespace {

// Everything a plan depends on besides the layer (its config and precision): the request's
// shapes, window size, strides and alignments; for a streaming chunk also its outputs and the
// steps its first output reads before it (its stride phase); for the training forward and the
// backward what they keep and compute and their views' strides.
using PlanKey = std::array<std::int64_t, 33>;  // Context::Impl::Key

PlanKey plan_key(std::uint64_t layer, const detail::PlanRequest& r) {
  const bool training = r.pass != detail::PlanRequest::Pass::forward;
  PlanKey key = {
      static_cast<std::int64_t>(layer), r.shape.batch, r.shape.length, r.window.batch_count,
      r.window.time_count, r.x_strides[0], r.x_strides[1], r.x_strides[2], r.y_strides[0],
      r.y_strides[1], r.y_strides[2], r.x_align, r.y_align, r.bias_align,
      r.stream ? 1 : 0, r.stream ? r.shape.geometry.out_length : 0,
      r.stream ? r.shape.geometry.pad.left : 0};
  if (training) {
    std::size_t i = 17;
    for (const std::int64_t v : {static_cast<std::int64_t>(r.pass), std::int64_t{r.keep_d},
                                 std::int64_t{r.trainable}, r.grad_bias_stride}) {
      key[i++] = v;
    }
    for (const auto* strides : {r.dy_strides, r.dx_strides, r.grad_depthwise_strides,
                                r.grad_pointwise_strides}) {
      for (int a = 0; a < 3; ++a) key[i++] = strides[a];
    }
  }
  return key;
}

}  // namespace

std::shared_ptr<detail::BoundPlan> Context::Impl::plan(std::uint64_t layer,
                                                       const detail::PlanRequest& request,
                                                       const void* bias) {
  const Key key = plan_key(layer, request);
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = index_.find(key); it != index_.end()) {
    plans_.splice(plans_.begin(), plans_, it->second);
    return it->second->second;
  }
  std::shared_ptr<detail::BoundPlan> bound = bind(request, bias);
  plans_.emplace_front(key, bound);
  index_[key] = plans_.begin();
  while (plans_.size() > options.plan_cache_capacity) {
    index_.erase(plans_.back().first);
    plans_.pop_back();
  }
  return bound;
}

// When cuBLASLt has no algorithm, the GEMM asks for less: first the bias moves from its epilogue
// to the elementwise pass, then (for y as it is: a 16-bit y only 2-byte aligned, say) the GEMM
// writes an aligned scratch that the pass after it copies into y.
std::shared_ptr<detail::BoundPlan> Context::Impl::bind(const detail::PlanRequest& request,
                                                       const void* bias) {
  auto bound = std::make_shared<detail::BoundPlan>(detail::make_plan(request, limits));
  const detail::Plan& p = bound->plan;
  try {
    for (auto& m : bound->matmuls) {
      if (m) m->choose_algorithm(handle.get(), options.max_gemm_workspace);
    }
  } catch (const Unsupported&) {
    detail::PlanRequest simpler = request;
    if (request.pass == detail::PlanRequest::Pass::backward) {
      // The backward's GEMMs read and write aligned workspace only; what may lack an algorithm
      // is the bias-gradient epilogue: the bias gradient then sums dz in a reduction.
      if (request.no_bias_gradient_epilogue) throw;
      simpler.no_bias_gradient_epilogue = true;
    } else if (p.bias == detail::BiasMode::gemm_epilogue && !p.float32_intermediate()) {
      simpler.force_bias = detail::BiasMode::elementwise;  // (a training forward refuses it)
    } else if (p.bytes(detail::Buffer::z) == 0 && p.bytes(detail::Buffer::saved_z) == 0) {
      simpler.gemm_to_scratch = true;
    } else {
      throw;
    }
    return bind(simpler, bias);
  }
  for (auto& m : bound->matmuls) {
    if (m) m->set_bias_pointer(m->has_bias() ? bias : nullptr);
  }
  return bound;
}

void Context::Impl::forget(std::uint64_t layer) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = plans_.begin(); it != plans_.end();) {
    if (it->first.front() == static_cast<std::int64_t>(layer)) {
      index_.erase(it->first);
      it = plans_.erase(it);
    } else {
      ++it;
    }
  }
}

Context::Context(int device, const ContextOptions& options) : impl_(std::make_unique<Impl>()) {
  int count = 0;
  SEPCONV_CUDA_TRY(cudaGetDeviceCount(&count));
  if (device < 0 || device >= count) {
    fail("device", std::to_string(device), str("a device index in [0, ", count, ")"));
  }
  if (options.plan_cache_capacity == 0) {
    fail("plan_cache_capacity", "0", "at least 1");
  }
  detail::DeviceGuard guard(device);
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
  impl_->workspace.release();
  impl_->workspace = DeviceBuffer(bytes, impl_->device);
}

}  // namespace sepconv
