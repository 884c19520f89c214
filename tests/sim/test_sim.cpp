// The simulated device itself (label sim): each of its rules broken on purpose, and the failure
// it must give. Device memory (registry, use after free, double free, copies past an allocation,
// host access, initialisation), streams and events (deferred work, the legacy stream's ordering,
// a missing synchronisation), graph capture (what it forbids, replay), launches (device limits,
// launch bounds, dynamic shared memory and its opt-in), kernel faults (out of bounds, shared-memory
// races), and cuBLASLt (the heuristic's requirements, the algorithm's alignment and workspace,
// attributes read when the matmul is called).
#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "kernels/launch.cuh"
#include "runtime/lt_matmul.h"
#include "sim/control.h"

namespace sepconv::test {
namespace {

// ---- helpers -----------------------------------------------------------------------------------

// Tests here provoke errors on purpose; as in CUDA, an error stays the thread's last error until
// read, and the next launch's check would report it. Each test leaves none behind.
class ClearLastError : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo&) override { static_cast<void>(cudaGetLastError()); }
};
const bool kClearLastError = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new ClearLastError);
  return true;
}();

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Device memory freed at the end of the scope (unless freed before).
struct DeviceFloats {
  float* data = nullptr;
  std::size_t count = 0;
  explicit DeviceFloats(std::size_t n) : count(n) {
    EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&data), n * sizeof(float)), cudaSuccess);
  }
  ~DeviceFloats() {
    if (data != nullptr) static_cast<void>(cudaFree(data));
  }
  DeviceFloats(const DeviceFloats&) = delete;
  DeviceFloats& operator=(const DeviceFloats&) = delete;
  void upload(const std::vector<float>& v) const {
    ASSERT_EQ(cudaMemcpy(data, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice),
              cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  }
  [[nodiscard]] std::vector<float> download() const {
    std::vector<float> v(count);
    EXPECT_EQ(cudaMemcpy(v.data(), data, count * sizeof(float), cudaMemcpyDeviceToHost),
              cudaSuccess);
    return v;
  }
};

cudaStream_t new_stream(unsigned flags = cudaStreamNonBlocking) {
  cudaStream_t s = nullptr;
  EXPECT_EQ(cudaStreamCreateWithFlags(&s, flags), cudaSuccess);
  return s;
}

// dst[i] = src[i] + 1 for i < n, grid-stride over blocks of kThreads.
struct AddOne {
  struct State {};
  static constexpr int kMaxThreads = 128;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "test add-one";
  const float* src = nullptr;
  float* dst = nullptr;
  std::int64_t n = 0;
  template <class Exec>
  void operator()(std::int64_t cta, Exec& ex) const {
    ex.phase([&](int t, State&) {
      auto& mem = ex.memory();
      for (std::int64_t i = cta * kMaxThreads + t; i < n; i += ex.grid() * kMaxThreads) {
        mem.store_global(dst + i, mem.load_global(src + i) + 1.0f);
      }
    });
  }
};

// Each thread stores its index in shared memory and reads its neighbour's: correct only with the
// barrier between the two.
struct Rotate {
  struct State {};
  static constexpr int kMaxThreads = 64;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "test rotate";
  float* out = nullptr;
  bool barrier = true;
  template <class Exec>
  void operator()(std::int64_t, Exec& ex) const {
    auto* shared = reinterpret_cast<float*>(ex.smem());
    auto& mem = ex.memory();
    if (barrier) {
      ex.phase([&](int t, State&) { mem.store_shared(shared + t, static_cast<float>(t)); });
      ex.barrier();
      ex.phase([&](int t, State&) {
        mem.store_global(out + t, mem.load_shared(shared + (t + 1) % kMaxThreads));
      });
    } else {
      ex.phase([&](int t, State&) {
        mem.store_shared(shared + t, static_cast<float>(t));
        mem.store_global(out + t, mem.load_shared(shared + (t + 1) % kMaxThreads));
      });
    }
  }
};

// A kernel that only needs dynamic shared memory of its launch's size.
struct Touch {
  struct State {};
  static constexpr int kMaxThreads = 32;
  static constexpr int kMinBlocks = 1;
  static constexpr const char* kName = "test touch";
  template <class Exec>
  void operator()(std::int64_t, Exec& ex) const {
    ex.phase([&](int t, State&) { ex.memory().store_shared(ex.smem() + t, std::uint8_t{1}); });
  }
};

// The error a launch through the library's seam throws, or cudaSuccess.
template <class K>
int launch_status(const K& kernel, const detail::LaunchShape& shape, cudaStream_t stream) {
  try {
    detail::launch_kernel(kernel, shape, stream);
  } catch (const CudaError& e) {
    return e.status();
  }
  return cudaSuccess;
}

// ---- the device ----------------------------------------------------------------------------------

TEST(SimDevice, PlaysAnH100OrTheProfileTheEnvironmentNames) {
  const char* env = std::getenv("SEPCONV_SIM_DEVICE");
  const bool a100 = env != nullptr && std::string(env) == "a100";
  cudaDeviceProp prop{};
  ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
  EXPECT_TRUE(contains(prop.name, "simulated")) << prop.name;
  int sms = 0, shared = 0, optin = 0, per_sm = 0, threads = 0, grid_y = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  cudaDeviceGetAttribute(&shared, cudaDevAttrMaxSharedMemoryPerBlock, 0);
  cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0);
  cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, 0);
  cudaDeviceGetAttribute(&threads, cudaDevAttrMaxThreadsPerBlock, 0);
  cudaDeviceGetAttribute(&grid_y, cudaDevAttrMaxGridDimY, 0);
  EXPECT_EQ(sms, a100 ? 108 : 132);
  EXPECT_EQ(prop.major, a100 ? 8 : 9);
  EXPECT_EQ(shared, 48 * 1024);
  EXPECT_EQ(optin, (a100 ? 163 : 227) * 1024);
  EXPECT_EQ(per_sm, (a100 ? 164 : 228) * 1024);
  EXPECT_EQ(threads, 1024);
  EXPECT_EQ(grid_y, 65535);
  EXPECT_EQ(cudaSetDevice(1), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // read and reset
}

// ---- memory ----------------------------------------------------------------------------------------

TEST(SimMemory, PointerAttributesTellDeviceFromHostMemory) {
  DeviceFloats d(100);
  std::vector<float> host(4);
  cudaPointerAttributes a{};
  ASSERT_EQ(cudaPointerGetAttributes(&a, d.data + 17), cudaSuccess);  // inside it too
  EXPECT_EQ(a.type, cudaMemoryTypeDevice);
  EXPECT_EQ(a.device, 0);
  ASSERT_EQ(cudaPointerGetAttributes(&a, host.data()), cudaSuccess);
  EXPECT_EQ(a.type, cudaMemoryTypeUnregistered);
  // 256-byte aligned, as cudaMalloc promises, and no more (512 would hide alignment bugs).
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(d.data) % 256, 0u);
  EXPECT_NE(reinterpret_cast<std::uintptr_t>(d.data) % 512, 0u);
}

TEST(SimMemory, UseAfterFreeDoubleFreeAndCopiesPastTheEndFailNamingTheCall) {
  std::vector<float> host(64, 1.0f);
  void* p = nullptr;
  ASSERT_EQ(cudaMalloc(&p, 64 * sizeof(float)), cudaSuccess);
  // Past the end of the allocation.
  EXPECT_EQ(cudaMemcpy(p, host.data(), 65 * sizeof(float), cudaMemcpyHostToDevice),
            cudaErrorInvalidValue);
  EXPECT_TRUE(contains(sim::last_error_message(), "cudaMemcpy")) << sim::last_error_message();
  EXPECT_TRUE(contains(sim::last_error_message(), "run past its end")) << sim::last_error_message();
  cudaStream_t s = new_stream();
  EXPECT_EQ(cudaMemcpyAsync(static_cast<float*>(p) + 1, host.data(), 64 * sizeof(float),
                            cudaMemcpyHostToDevice, s),
            cudaErrorInvalidValue);
  EXPECT_TRUE(contains(sim::last_error_message(), "cudaMemcpyAsync"));
  ASSERT_EQ(cudaFree(p), cudaSuccess);
  // Use after free.
  EXPECT_EQ(cudaMemcpy(p, host.data(), sizeof(float), cudaMemcpyHostToDevice),
            cudaErrorInvalidValue);
  EXPECT_TRUE(contains(sim::last_error_message(), "use after free")) << sim::last_error_message();
  cudaPointerAttributes a{};
  EXPECT_EQ(cudaPointerGetAttributes(&a, p), cudaErrorInvalidValue);
  // Double free, and a pointer into an allocation.
  EXPECT_EQ(cudaFree(p), cudaErrorInvalidValue);
  EXPECT_TRUE(contains(sim::last_error_message(), "double free")) << sim::last_error_message();
  DeviceFloats d(8);
  EXPECT_EQ(cudaFree(d.data + 1), cudaErrorInvalidValue);
  EXPECT_TRUE(contains(sim::last_error_message(), "not its start"));
  cudaStreamDestroy(s);
}

TEST(SimMemoryDeathTest, TheHostCannotDereferenceDeviceMemory) {
  DeviceFloats d(16);
  d.upload(std::vector<float>(16, 2.0f));
  EXPECT_DEATH({ std::printf("%f\n", static_cast<double>(*static_cast<volatile float*>(d.data))); }, "");
}

// ---- streams and synchronisation --------------------------------------------------------------

TEST(SimStreams, WorkRunsOnlyWhenSomethingSynchronisesWithIt) {
  DeviceFloats a(256), b(256);
  a.upload(std::vector<float>(256, 1.0f));
  cudaStream_t s = new_stream();
  const auto before = sim::stats();
  detail::launch_kernel(AddOne{a.data, b.data, 256}, {2, 128, 0, false}, s);
  EXPECT_EQ(sim::stats().executed, before.executed) << "the kernel ran before any sync";
  EXPECT_GT(sim::stats().pending, 0);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_GT(sim::stats().executed, before.executed);
  EXPECT_EQ(b.download(), std::vector<float>(256, 2.0f));
  cudaStreamDestroy(s);
}

TEST(SimStreams, AMissingSynchronisationReadsStaleData) {
  DeviceFloats a(256), b(256);
  a.upload(std::vector<float>(256, 1.0f));
  b.upload(std::vector<float>(256, -7.0f));
  cudaStream_t s = new_stream();  // non-blocking: the legacy stream does not wait for it
  detail::launch_kernel(AddOne{a.data, b.data, 256}, {2, 128, 0, false}, s);
  // Downloaded on the legacy stream without synchronising s: the kernel has not run.
  EXPECT_EQ(b.download(), std::vector<float>(256, -7.0f));
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(b.download(), std::vector<float>(256, 2.0f));
  // An upload with cudaMemcpy may land after work of a non-blocking stream that reads it.
  std::vector<float> fresh(256, 10.0f);
  ASSERT_EQ(cudaMemcpy(a.data, fresh.data(), fresh.size() * sizeof(float), cudaMemcpyHostToDevice),
            cudaSuccess);
  detail::launch_kernel(AddOne{a.data, b.data, 256}, {2, 128, 0, false}, s);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(b.download(), std::vector<float>(256, 2.0f)) << "the kernel read the old a";
  cudaStreamDestroy(s);
}

TEST(SimStreams, TheLegacyStreamWaitsForBlockingStreamsAndEventsOrderStreams) {
  DeviceFloats a(128), b(128), c(128);
  a.upload(std::vector<float>(128, 1.0f));
  b.upload(std::vector<float>(128, 0.0f));
  // A blocking stream's work is finished before the legacy stream's next copy reads b.
  cudaStream_t blocking = new_stream(cudaStreamDefault);
  detail::launch_kernel(AddOne{a.data, b.data, 128}, {1, 128, 0, false}, blocking);
  EXPECT_EQ(b.download(), std::vector<float>(128, 2.0f));
  // Two non-blocking streams: the second waits for the first through an event.
  cudaStream_t first = new_stream(), second = new_stream();
  cudaEvent_t done = nullptr;
  ASSERT_EQ(cudaEventCreate(&done), cudaSuccess);
  detail::launch_kernel(AddOne{b.data, a.data, 128}, {1, 128, 0, false}, first);  // a = 3
  ASSERT_EQ(cudaEventRecord(done, first), cudaSuccess);
  ASSERT_EQ(cudaStreamWaitEvent(second, done, 0), cudaSuccess);
  detail::launch_kernel(AddOne{a.data, c.data, 128}, {1, 128, 0, false}, second);  // c = 4
  ASSERT_EQ(cudaStreamSynchronize(second), cudaSuccess);
  EXPECT_EQ(c.download(), std::vector<float>(128, 4.0f));
  float ms = -1;
  EXPECT_EQ(cudaEventElapsedTime(&ms, done, done), cudaSuccess);
  EXPECT_EQ(ms, 0.0f);
  cudaEventDestroy(done);
  for (cudaStream_t s : {blocking, first, second}) cudaStreamDestroy(s);
}

TEST(SimStreams, ADestroyedStreamIsNoLongerAValidHandle) {
  cudaStream_t s = new_stream();
  ASSERT_EQ(cudaStreamDestroy(s), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorInvalidResourceHandle);
}

// ---- kernels -----------------------------------------------------------------------------------------

TEST(SimKernels, LaunchesAreCheckedAgainstTheDeviceAndTheLaunchBounds) {
  DeviceFloats a(4), b(4);
  cudaStream_t s = new_stream();
  // More threads than the kernel's __launch_bounds__.
  EXPECT_EQ(launch_status(AddOne{a.data, b.data, 4}, {1, 256, 0, false}, s),
            cudaErrorLaunchOutOfResources);
  EXPECT_TRUE(contains(sim::last_error_message(), "__launch_bounds__"));
  // An empty grid, a grid past 2^31 - 1.
  EXPECT_EQ(launch_status(AddOne{a.data, b.data, 4}, {0, 32, 0, false}, s),
            cudaErrorInvalidConfiguration);
  EXPECT_EQ(launch_status(AddOne{a.data, b.data, 4}, {std::int64_t{1} << 31, 32, 0, false}, s),
            cudaErrorInvalidConfiguration);
  cudaStreamDestroy(s);
}

TEST(SimKernels, DynamicSharedMemoryAbove48KBNeedsTheAttribute) {
  cudaStream_t s = new_stream();
  const std::size_t big = 100 * 1024;
  // Without the opt-in: refused, as CUDA refuses it.
  sim::launch({detail::kernel_handle<Touch>(), "test touch", 32, 1}, {1, 32, big, false}, s,
              [](emulator::CheckedMemory&) {});
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_TRUE(contains(sim::last_error_message(), "cudaFuncSetAttribute"));
  // With it (the library's launcher raises the limit when the shape says so).
  EXPECT_EQ(launch_status(Touch{}, {1, 32, big, true}, s), cudaSuccess);
  // Never above the opt-in cap.
  EXPECT_EQ(launch_status(Touch{}, {1, 32, 300 * 1024, true}, s), cudaErrorInvalidValue);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  cudaStreamDestroy(s);
}

TEST(SimKernels, OutOfBoundsAndUninitialisedReadsFaultAtTheNextSynchronisation) {
  DeviceFloats a(100), b(100);
  a.upload(std::vector<float>(100, 1.0f));
  cudaStream_t s = new_stream();
  detail::launch_kernel(AddOne{a.data, b.data, 101}, {1, 128, 0, false}, s);  // one too many
  EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorIllegalAddress);
  EXPECT_TRUE(contains(sim::last_error_message(), "past the end")) << sim::last_error_message();
  EXPECT_EQ(cudaGetLastError(), cudaErrorIllegalAddress);  // as CUDA: the last error, until read
  DeviceFloats never_written(100);
  detail::launch_kernel(AddOne{never_written.data, b.data, 100}, {1, 128, 0, false}, s);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorLaunchFailure);
  EXPECT_TRUE(contains(sim::last_error_message(), "uninitialised global read"));
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaSuccess);  // reported once
  cudaStreamDestroy(s);
}

TEST(SimKernels, AMissingBarrierIsASharedMemoryRace) {
  DeviceFloats out(64);
  cudaStream_t s = new_stream();
  const detail::LaunchShape shape{1, 64, 64 * sizeof(float), false};
  detail::launch_kernel(Rotate{out.data, true}, shape, s);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  std::vector<float> expected(64);
  for (int t = 0; t < 64; ++t) expected[t] = static_cast<float>((t + 1) % 64);
  EXPECT_EQ(out.download(), expected);
  detail::launch_kernel(Rotate{out.data, false}, shape, s);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorLaunchFailure);
  EXPECT_TRUE(contains(sim::last_error_message(), "race")) << sim::last_error_message();
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  cudaStreamDestroy(s);
}

// ---- graph capture -------------------------------------------------------------------------------

TEST(SimCapture, CaptureRecordsAndReplayRunsAgain) {
  DeviceFloats a(128), b(128);
  a.upload(std::vector<float>(128, 1.0f));
  cudaStream_t s = new_stream();
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(cudaMemsetAsync(b.data, 0, 128 * sizeof(float), s), cudaSuccess);
  detail::launch_kernel(AddOne{a.data, b.data, 128}, {1, 128, 0, false}, s);
  ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
  std::size_t nodes = 0;
  ASSERT_EQ(cudaGraphGetNodes(graph, nullptr, &nodes), cudaSuccess);
  EXPECT_EQ(nodes, 2u);
  EXPECT_EQ(sim::stats().pending, 0) << "captured work must not be enqueued";
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  for (float value : {5.0f, 9.0f}) {  // new data in the same buffer, replayed
    a.upload(std::vector<float>(128, value));
    ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT_EQ(b.download(), std::vector<float>(128, value + 1));
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(s);
}

TEST(SimCapture, AllocationAndSynchronisationDuringCaptureFailAndInvalidateIt) {
  cudaStream_t s = new_stream();
  cudaGraph_t graph = nullptr;
  for (int forbidden = 0; forbidden < 3; ++forbidden) {
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    void* p = nullptr;
    const cudaError_t status = forbidden == 0   ? cudaMalloc(&p, 256)
                               : forbidden == 1 ? cudaStreamSynchronize(s)
                                                : cudaDeviceSynchronize();
    EXPECT_EQ(status, cudaErrorStreamCaptureUnsupported) << forbidden;
    EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(graph, nullptr);
  }
  // A thread-local capture does not see another thread's allocation.
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  cudaError_t other = cudaErrorUnknown;
  void* p = nullptr;
  std::thread([&] { other = cudaMalloc(&p, 256); }).join();
  EXPECT_EQ(other, cudaSuccess);
  ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
  cudaGraphDestroy(graph);
  cudaFree(p);
  cudaStreamDestroy(s);
}

TEST(SimCapture, TheLegacyStreamCannotRunWhileABlockingStreamIsCaptured) {
  DeviceFloats a(16);
  cudaStream_t blocking = new_stream(cudaStreamDefault);
  ASSERT_EQ(cudaStreamBeginCapture(blocking, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(cudaMemsetAsync(a.data, 0, 64, nullptr), cudaErrorStreamCaptureImplicit);
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(blocking, &graph), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal),
            cudaErrorStreamCaptureUnsupported);
  cudaStreamDestroy(blocking);
}

// ---- cuBLASLt --------------------------------------------------------------------------------------

// A 4 x 2 x 3 float32 GEMM with a BIAS epilogue on device memory: A (4 x 3), B (3 x 2), D (4 x 2).
struct SmallGemm {
  detail::GemmPlan g;
  DeviceFloats a{12}, b{6}, d{8}, bias{5};
  cublasLtHandle_t handle = nullptr;
  SmallGemm() {
    g.m = g.lda = g.ldc = 4;
    g.n = 2;
    g.k = g.ldb = 3;
    g.epilogue = detail::GemmEpilogue::bias;
    a.upload(std::vector<float>(12, 1.0f));
    b.upload(std::vector<float>(6, 1.0f));
    bias.upload({0.5f, 0.5f, 0.5f, 0.5f, 0.5f});
    EXPECT_EQ(cublasLtCreate(&handle), CUBLAS_STATUS_SUCCESS);
  }
  ~SmallGemm() { cublasLtDestroy(handle); }
  cublasStatus_t run(const detail::LtMatmul& lt, const cublasLtMatmulAlgo_t* algo, void* workspace,
                     std::size_t bytes) const {
    const float one = 1, zero = 0;
    return cublasLtMatmul(handle, lt.desc(), &one, a.data, lt.layout_a(), b.data, lt.layout_b(),
                          &zero, d.data, lt.layout_c(), d.data, lt.layout_d(), algo, workspace,
                          bytes, nullptr);
  }
};

// The heuristic's answer for an LtMatmul with its bias at `bias`.
cublasStatus_t heuristic(const SmallGemm& s, const detail::LtMatmul& lt, const void* bias,
                         cublasLtMatmulHeuristicResult_t& result, std::size_t max_workspace) {
  const std::uint64_t limit = max_workspace;
  cublasLtMatmulPreferenceSetAttribute(lt.preference(), CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                       &limit, sizeof limit);
  cublasLtMatmulDescSetAttribute(lt.desc(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
  int found = 0;
  return cublasLtMatmulAlgoGetHeuristic(s.handle, lt.desc(), lt.layout_a(), lt.layout_b(),
                                        lt.layout_c(), lt.layout_c(), lt.preference(), 1, &result,
                                        &found);
}

TEST(SimCublasLt, MatmulRunsTheDescriptorsWithTheBiasReadWhenCalled) {
  SmallGemm s;
  detail::LtMatmul lt(s.g);
  cublasLtMatmulHeuristicResult_t r{};
  ASSERT_EQ(heuristic(s, lt, s.bias.data, r, 0), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(s.run(lt, &r.algo, nullptr, 0), CUBLAS_STATUS_SUCCESS);
  // Changing the descriptor after the call changes nothing: cuBLASLt read it when called.
  const void* other = s.bias.data + 1;
  cublasLtMatmulDescSetAttribute(lt.desc(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, &other, sizeof other);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(s.d.download(), std::vector<float>(8, 3.5f));
}

TEST(SimCublasLt, AMisalignedBiasGetsNoAlgorithmAndALessAlignedOneIsRefused) {
  SmallGemm s;
  detail::LtMatmul lt(s.g);
  cublasLtMatmulHeuristicResult_t r{};
  const void* odd = reinterpret_cast<const unsigned char*>(s.bias.data) + 2;  // 2-byte aligned
  EXPECT_EQ(heuristic(s, lt, odd, r, 0), CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_TRUE(contains(sim::last_error_message(), "bias")) << sim::last_error_message();
  // Chosen for a 16-byte aligned bias, run with a 4-byte aligned one.
  ASSERT_EQ(heuristic(s, lt, s.bias.data + 4, r, 0), CUBLAS_STATUS_SUCCESS);
  const void* less = s.bias.data + 1;
  cublasLtMatmulDescSetAttribute(lt.desc(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, &less, sizeof less);
  EXPECT_EQ(s.run(lt, &r.algo, nullptr, 0), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_TRUE(contains(sim::last_error_message(), "aligned")) << sim::last_error_message();
}

TEST(SimCublasLt, TheChosenWorkspaceAndProblemAreRequired) {
  SmallGemm s;
  sim::set_heuristic([](const sim::GemmQuery&) { return std::size_t{4096}; });
  detail::LtMatmul lt(s.g);
  cublasLtMatmulHeuristicResult_t r{};
  EXPECT_EQ(heuristic(s, lt, s.bias.data, r, 1024), CUBLAS_STATUS_NOT_SUPPORTED);  // over the max
  ASSERT_EQ(heuristic(s, lt, s.bias.data, r, 1 << 20), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(r.workspaceSize, 4096u);
  DeviceFloats workspace(1024);
  EXPECT_EQ(s.run(lt, &r.algo, workspace.data, 2048), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_TRUE(contains(sim::last_error_message(), "workspace"));
  EXPECT_EQ(s.run(lt, &r.algo, workspace.data, 4096), CUBLAS_STATUS_SUCCESS);
  // The algorithm of another problem.
  detail::GemmPlan g3 = s.g;
  g3.n = 1;
  detail::LtMatmul other(g3);
  other.set_bias_pointer(s.bias.data);
  EXPECT_EQ(s.run(other, &r.algo, workspace.data, 4096), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_TRUE(contains(sim::last_error_message(), "not chosen")) << sim::last_error_message();
  sim::set_heuristic({});
  // No algorithm at all.
  sim::set_heuristic([](const sim::GemmQuery&) { return std::optional<std::size_t>{}; });
  EXPECT_EQ(heuristic(s, lt, s.bias.data, r, 1 << 20), CUBLAS_STATUS_NOT_SUPPORTED);
  sim::set_heuristic({});
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

TEST(SimCublasLt, AnUninitialisedOperandFaults) {
  SmallGemm s;
  DeviceFloats never_written(12);
  detail::LtMatmul lt(s.g);
  cublasLtMatmulHeuristicResult_t r{};
  ASSERT_EQ(heuristic(s, lt, s.bias.data, r, 0), CUBLAS_STATUS_SUCCESS);
  const float one = 1, zero = 0;
  ASSERT_EQ(cublasLtMatmul(s.handle, lt.desc(), &one, never_written.data, lt.layout_a(), s.b.data,
                           lt.layout_b(), &zero, s.d.data, lt.layout_c(), s.d.data, lt.layout_d(),
                           &r.algo, nullptr, 0, nullptr),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  EXPECT_TRUE(contains(sim::last_error_message(), "uninitialised")) << sim::last_error_message();
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
}

}  // namespace
}  // namespace sepconv::test
