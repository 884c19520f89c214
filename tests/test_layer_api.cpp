// The GPU API on a machine without a GPU: constructing a Context fails cleanly with a CudaError
// that names the call and the status, and the device query never raises.
#include <gtest/gtest.h>

#include "sepconv/error.h"
#include "sepconv/layer.h"

namespace sepconv {
namespace {

TEST(LayerApiWithoutGpu, DeviceQueryNeverRaises) {
  bool available = true;
  EXPECT_NO_THROW(available = cuda_device_available());
  EXPECT_NO_THROW(static_cast<void>(cuda_device_available()));  // twice: no sticky state
  if (available) GTEST_SKIP() << "a CUDA device is present";
}

TEST(LayerApiWithoutGpu, ContextFailsWithANamedCudaError) {
  if (cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  try {
    Context context(0);
    ADD_FAILURE() << "a Context was created without a device";
  } catch (const CudaError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cudaGetDeviceCount"), std::string::npos) << what;
    EXPECT_NE(e.status(), 0);
  }
}

}  // namespace
}  // namespace sepconv
