// Support for the GPU tests: one skip message when there is no device, device mirrors of host
// tensors, streams.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <vector>

#include "detail/cuda_check.h"
#include "runtime/device.h"
#include "sepconv/layer.h"
#include "support/host_tensor.h"

namespace sepconv::test {

/// The exit status CTest reads as "skipped" (SKIP_RETURN_CODE): a GPU test binary without a device
/// prints one message and exits with it.
inline constexpr int kSkipExitCode = 77;

/// A device copy of a HostTensor's whole allocation, with a view at the same offset and strides,
/// so strided (sliced) views and their untouched surroundings travel both ways.
class DeviceMirror {
 public:
  explicit DeviceMirror(const HostTensor& host) : buffer_(host.bytes().size()) { upload(host); }
  /// Synchronous: a copy from pageable memory may return before its DMA lands, and forwards on a
  /// non-blocking stream do not wait for the legacy stream, so the device is synchronised.
  void upload(const HostTensor& host) {
    SEPCONV_CUDA_TRY(cudaMemcpy(buffer_.data(), host.bytes().data(), host.bytes().size(),
                                cudaMemcpyHostToDevice));
    SEPCONV_CUDA_TRY(cudaDeviceSynchronize());
    const ConstTensorView v = host.view();
    view_ = {static_cast<unsigned char*>(buffer_.data()) +
                 (static_cast<const unsigned char*>(v.data) - host.bytes().data()),
             v.dtype, v.rank, v.shape, v.strides};
  }
  /// Copies the device allocation back into `host` (the same allocation size).
  void download(HostTensor& host) const {
    SEPCONV_CUDA_TRY(cudaMemcpy(const_cast<unsigned char*>(host.bytes().data()), buffer_.data(),
                                host.bytes().size(), cudaMemcpyDeviceToHost));
  }
  [[nodiscard]] TensorView view() const { return view_; }

 private:
  DeviceBuffer buffer_;
  TensorView view_;
};

/// An owned CUDA stream.
class Stream {
 public:
  [[nodiscard]] cudaStream_t get() const { return stream_.get(); }
  void sync() const { SEPCONV_CUDA_TRY(cudaStreamSynchronize(stream_.get())); }

 private:
  detail::Owned<cudaStream_t> stream_ = detail::make_stream();
};
/// Prints what tools/device_check.sh records, one "key: value" line each: sepconv's version, the
/// CUDA runtime and driver versions, cuBLASLt's version (the library loaded, and the headers built
/// against), "devices: N" and one line per device. Works without a device.
void print_versions();

/// Work captured from a stream into a CUDA graph and instantiated (owned).
struct CapturedGraph {
  detail::Owned<cudaGraph_t> graph;
  detail::Owned<cudaGraphExec_t> exec;

  /// Captures what `enqueue()` puts on `stream` (thread-local capture mode); the capture is ended
  /// even when enqueue throws.
  template <class Enqueue>
  static CapturedGraph capture(cudaStream_t stream, Enqueue&& enqueue) {
    CapturedGraph g;
    cudaGraph_t graph = nullptr;
    SEPCONV_CUDA_TRY(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    try {
      enqueue();
    } catch (...) {
      static_cast<void>(cudaStreamEndCapture(stream, &graph));
      g.graph.reset(graph);
      throw;
    }
    SEPCONV_CUDA_TRY(cudaStreamEndCapture(stream, &graph));
    g.graph.reset(graph);
    cudaGraphExec_t exec = nullptr;
    SEPCONV_CUDA_TRY(cudaGraphInstantiate(&exec, graph, 0));
    g.exec.reset(exec);
    return g;
  }
  void launch(cudaStream_t stream) const { SEPCONV_CUDA_TRY(cudaGraphLaunch(exec.get(), stream)); }
  [[nodiscard]] std::size_t nodes() const {
    std::size_t n = 0;
    SEPCONV_CUDA_TRY(cudaGraphGetNodes(graph.get(), nullptr, &n));
    return n;
  }
};

/// main() of a GPU test binary: with --sepconv-versions, print_versions() and exit 0; with
/// --gtest_list_tests, the list (no device needed); else one clear message and kSkipExitCode
/// without a device, or every test.
int run_gpu_tests(int argc, char** argv, const char* suite);

}  // namespace sepconv::test
