// Keras model files on the GPU path (a CUDA device, or the simulated device: label sim): every
// layer of every file, loaded through sepconv/keras.h, set on a SeparableConv1D in the precision
// its dtype policy names, run on the device; its output and Keras's both lie within the accuracy
// bound of the float64 reference on the loaded weights.
#include <gtest/gtest.h>

#include "gpu_support.h"
#include "keras/keras_models.h"
#include "sepconv/accuracy.h"
#include "sepconv/keras.h"
#include "sepconv/layer.h"
#include "sepconv/reference.h"

namespace sepconv::test {
namespace {

using keras_models::LayerLoad;

class LayerFromFileOnGpu : public ::testing::TestWithParam<LayerLoad> {};

TEST_P(LayerFromFileOnGpu, ReproducesKeras) {
  const LayerLoad& l = GetParam();
  SCOPED_TRACE(l.file + (l.config.empty() ? "" : " with " + l.config) + ", layer " + l.layer.path);
  const keras::Layer loaded = keras::load_layer(l.file, l.layer.path, l.config);
  const LayerConfig& config = loaded.info.spec.layer;
  const DType dtype = loaded.precision.dtype;
  ASSERT_EQ(dtype, keras_models::dtype_of(l.layer.compute_dtype));

  const io::HostArray x_file = keras_models::input(l.layer, dtype);
  HostTensor x(dtype, x_file.shape);
  convert(x_file.view(), x.view());
  const bool last = config.data_format == DataFormat::channels_last;
  const std::int64_t batch = x_file.shape[0], length = x_file.shape[last ? 1 : 2];

  Context context(0);
  SeparableConv1D layer(context, config, loaded.info.in_channels, loaded.precision);
  layer.set_weights(loaded.weights());  // host views
  context.reserve(layer, batch, length);
  HostTensor y = poisoned_output(config, batch, length, dtype);
  const DeviceMirror dx(x);
  const DeviceMirror dy(y);
  const Stream stream;
  layer.forward(dx.view(), dy.view(), stream.get());
  stream.sync();
  dy.download(y);

  const reference::Detail detail = reference::forward_detail(config, x.view(), loaded.weights());
  const accuracy::Report ours =
      accuracy::compare(config, loaded.info.in_channels, loaded.precision, detail, y.view());
  EXPECT_EQ(ours.checked, y.numel());
  EXPECT_TRUE(ours.ok()) << "the device's output: " << ours.summary();
  const io::HostArray y_keras = keras_models::keras_output(l.layer);
  const accuracy::Report keras =
      accuracy::compare(config, loaded.info.in_channels, loaded.precision, detail, y_keras.view());
  EXPECT_EQ(keras.checked, y.numel());
  EXPECT_TRUE(keras.ok()) << "Keras's output: " << keras.summary();
}

INSTANTIATE_TEST_SUITE_P(Keras, LayerFromFileOnGpu, ::testing::ValuesIn(keras_models::layer_loads()),
                         keras_models::LoadName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(LayerFromFileOnGpu);

}  // namespace
}  // namespace sepconv::test

int main(int argc, char** argv) {
  return sepconv::test::run_gpu_tests(argc, argv, "sepconv Keras model files on the GPU");
}
