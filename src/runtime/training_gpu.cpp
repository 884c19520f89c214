// The GPU entry points of sepconv/training_gpu.h: the same checks as the host functions
// (training/), then the launches of kernels/random, kernels/regularize and kernels/constrain.
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "detail/cuda_check.h"
#include "detail/message.h"
#include "kernels/constrain/constrain.h"
#include "kernels/random/random_fill.h"
#include "kernels/regularize/regularize.h"
#include "runtime/device.h"
#include "sepconv/layer.h"
#include "sepconv/training_gpu.h"
#include "training/training_internal.h"

namespace sepconv {
namespace {

using detail::fail;
using detail::str;

// The device `stream` belongs to (the current device for the legacy and per-thread streams).
int stream_device(cudaStream_t stream) {
  int device = 0;
  if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread) {
    SEPCONV_CUDA_TRY(cudaGetDevice(&device));
  } else {
    SEPCONV_CUDA_TRY(cudaStreamGetDevice(stream, &device));
  }
  return device;
}

// Throws InvalidArgument(name) unless `pointer` is device or managed memory of `device`.
void check_device_pointer(std::string_view name, const void* pointer, int device) {
  int owner = -1;
  const auto kind = detail::memory_kind(pointer, &owner);
  if (kind == detail::MemoryKind::host) {
    fail(name, "host memory", str("device (or managed) memory of the stream's device ", device));
  }
  if (kind == detail::MemoryKind::device && owner != device) {
    fail(name, str("memory of device ", owner), str("memory of the stream's device ", device));
  }
}

void check_device_view(std::string_view name, const ConstTensorView& view, int device) {
  if (view.numel() > 0) check_device_pointer(name, view.data, device);
}

// The penalty's output and workspace, for `count` elements.
void check_penalty_buffers(const double* penalty, const void* workspace,
                           std::size_t workspace_bytes, std::int64_t count, double scale,
                           int device) {
  if (!std::isfinite(scale)) fail("scale", str(scale), "a finite scale");
  if (penalty == nullptr) fail("penalty", "a null pointer", "one double of device memory");
  if (reinterpret_cast<std::uintptr_t>(penalty) % alignof(double) != 0) {
    fail("penalty", "a pointer not 8-byte aligned", "an 8-byte aligned double");
  }
  check_device_pointer("penalty", penalty, device);
  const std::size_t needed = detail::penalty_workspace_bytes(count);
  if (needed == 0) return;
  if (workspace == nullptr || workspace_bytes < needed) {
    fail("workspace", str(workspace == nullptr ? std::size_t{0} : workspace_bytes, " bytes"),
         str("at least penalty_workspace_size(", count, ") = ", needed, " bytes"));
  }
  if (reinterpret_cast<std::uintptr_t>(workspace) % alignof(double) != 0) {
    fail("workspace", "a pointer not 8-byte aligned", "8-byte aligned device memory");
  }
  check_device_pointer("workspace", workspace, device);
  const auto w = reinterpret_cast<std::uintptr_t>(workspace);
  const auto p = reinterpret_cast<std::uintptr_t>(penalty);
  if (p + sizeof(double) > w && p < w + needed) {
    fail("penalty", "a pointer into the workspace", "memory apart from the workspace");
  }
}

void enqueue_penalty(const Regularizer& reg, std::string_view name, const ConstTensorView& x,
                     double scale, double* penalty, void* workspace, std::size_t workspace_bytes,
                     cudaStream_t stream) {
  const int device = stream_device(stream);
  check_device_view(name, x, device);
  check_penalty_buffers(penalty, workspace, workspace_bytes, x.numel(), scale, device);
  detail::DeviceGuard guard(device);
  detail::launch_penalty(x, reg.l1, reg.l2, scale, penalty, workspace, stream);
}

void enqueue_gradient(const Regularizer& reg, std::string_view w_name, const ConstTensorView& w,
                      std::string_view g_name, const TensorView& grad, double scale,
                      cudaStream_t stream) {
  detail::check_gradient_arguments(reg, w_name, w, g_name, grad, scale);
  if (grad.dtype != DType::f32 && grad.dtype != w.dtype) {
    fail(g_name, str("dtype ", to_string(grad.dtype)),
         str("float32 or the dtype of `", w_name, "` (", to_string(w.dtype), ")"));
  }
  const int device = stream_device(stream);
  check_device_view(w_name, w, device);
  check_device_view(g_name, grad, device);
  detail::DeviceGuard guard(device);
  detail::launch_regularizer_gradient(w, grad, reg.l1, reg.l2, scale, stream);
}

}  // namespace

void initialize(const Initializer& init, std::uint64_t seed, const TensorView& out,
                cudaStream_t stream) {
  detail::check_initializer_output(out);
  const std::vector<std::int64_t> shape = detail::shape_of(out);
  const int device = stream_device(stream);
  check_device_view("out", out, device);
  if (init.kind != InitializerKind::orthogonal) {
    const detail::RandomSpec spec = detail::resolve_initializer(init, shape);
    detail::DeviceGuard guard(device);
    detail::launch_random_fill(out, spec, seed, nullptr, stream);
    return;
  }
  // Orthogonal: the QR on the host, its values copied through a temporary device buffer.
  const std::vector<double> values = detail::orthogonal_values(init, seed, shape);
  if (values.empty()) return;
  detail::DeviceGuard guard(device);
  const std::size_t bytes = values.size() * sizeof(double);
  DeviceBuffer staging(bytes, device);
  SEPCONV_CUDA_TRY(cudaMemcpyAsync(staging.data(), values.data(), bytes, cudaMemcpyHostToDevice,
                                   stream));
  detail::launch_random_fill(out, {}, seed, static_cast<const double*>(staging.data()), stream);
  SEPCONV_CUDA_TRY(cudaStreamSynchronize(stream));
}

std::size_t penalty_workspace_size(std::int64_t count) {
  if (count < 0) fail("count", str(count), "a count >= 0");
  return detail::penalty_workspace_bytes(count);
}

void add_penalty(const Regularizer& reg, const ConstTensorView& weights, double scale,
                 double* penalty, void* workspace, std::size_t workspace_bytes,
                 cudaStream_t stream) {
  detail::check_regularizer(reg);
  detail::check_training_view("weights", weights);
  enqueue_penalty(reg, "weights", weights, scale, penalty, workspace, workspace_bytes, stream);
}

void add_gradient(const Regularizer& reg, const ConstTensorView& weights, const TensorView& grad,
                  double scale, cudaStream_t stream) {
  enqueue_gradient(reg, "weights", weights, "grad", grad, scale, stream);
}

void add_activity_penalty(const Regularizer& reg, const ConstTensorView& y, double* penalty,
                          void* workspace, std::size_t workspace_bytes, cudaStream_t stream) {
  detail::check_regularizer(reg);
  const double scale = detail::activity_scale(y);
  enqueue_penalty(reg, "y", y, scale, penalty, workspace, workspace_bytes, stream);
}

void add_activity_gradient(const Regularizer& reg, const ConstTensorView& y, const TensorView& dy,
                           cudaStream_t stream) {
  detail::check_training_view("y", y);
  enqueue_gradient(reg, "y", y, "dy", dy, detail::activity_scale(y), stream);
}

void apply_constraint(const Constraint& c, const TensorView& weights, cudaStream_t stream) {
  const std::vector<int> axes = detail::check_constraint_arguments(c, weights);
  const int device = stream_device(stream);
  check_device_view("weights", weights, device);
  detail::DeviceGuard guard(device);
  detail::launch_constraint(c, axes, weights, stream);
}

}  // namespace sepconv
