#include "gpu_support.h"

#include <cstdio>

namespace sepconv::test {

int run_gpu_tests(int argc, char** argv, const char* suite) {
  ::testing::InitGoogleTest(&argc, argv);
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
