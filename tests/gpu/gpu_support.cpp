#include "gpu_support.h"

#include <cublasLt.h>

#include <cstdio>
#include <cstring>

#include "sepconv/version.h"

namespace sepconv::test {
namespace {

// "13.0" from 13000 (CUDA's encoding: 1000 * major + 10 * minor).
void print_cuda_version(const char* what, int version, const char* how) {
  std::printf("%s: %d.%d (%s %d)\n", what, version / 1000, version % 1000 / 10, how, version);
}

}  // namespace

void print_versions() {
  std::printf("sepconv: %s\n", version_string());
  int runtime = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) {
    print_cuda_version("CUDA runtime", runtime, "cudaRuntimeGetVersion");
  }
  int driver = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0) {
    print_cuda_version("CUDA driver", driver, "cudaDriverGetVersion");
  } else {
    std::printf("CUDA driver: none\n");
  }
  const std::size_t lt = cublasLtGetVersion();
  std::printf(
      "cuBLASLt: %zu.%zu.%zu (cublasLtGetVersion %zu; built against %d.%d.%d; its CUDA "
      "runtime %zu)\n",
      lt / 10000, lt % 10000 / 100, lt % 100, lt, CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR,
      CUBLAS_VER_PATCH, cublasLtGetCudartVersion());
  int count = 0;
  if (!cuda_device_available() || cudaGetDeviceCount(&count) != cudaSuccess) count = 0;
  std::printf("devices: %d\n", count);
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) continue;
    const detail::DeviceLimits limits = detail::read_device_limits(d);
    std::printf(
        "device %d: %s, sm_%d%d, %lld SMs, %zu MiB, %lld KB shared memory per block "
        "(opt-in), depthwise budget %lld KB\n",
        d, prop.name, prop.major, prop.minor, static_cast<long long>(limits.multiprocessors),
        prop.totalGlobalMem >> 20, static_cast<long long>(limits.shared_optin / 1024),
        static_cast<long long>(limits.shared_budget / 1024));
  }
}

int run_gpu_tests(int argc, char** argv, const char* suite) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--sepconv-versions") == 0) {
      print_versions();
      return 0;
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  if (GTEST_FLAG_GET(list_tests)) return RUN_ALL_TESTS();  // listing needs no device
  if (!cuda_device_available()) {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    std::printf("%s: SKIPPED: no usable CUDA device (cudaGetDeviceCount: %s); %d tests not run\n",
                suite, status == cudaSuccess ? "0 devices" : cudaGetErrorName(status),
                ::testing::UnitTest::GetInstance()->total_test_count());
    return kSkipExitCode;
  }
  return RUN_ALL_TESTS();
}

}  // namespace sepconv::test
