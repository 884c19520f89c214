// Uses the installed package: runs the reference on a small exact case and checks the result.
#include <sepconv/sepconv.h>

#include <cstdio>
#include <cstring>

int main() {
  sepconv::LayerConfig config;
  config.filters = 1;
  config.kernel_size = 3;
  config.padding = sepconv::parse_padding("Causal");
  config.use_bias = false;
  const float x[5] = {1, 2, 3, 4, 5};
  const float dw[3] = {1, 10, 100};
  const float pw[1] = {2};
  float y[5] = {};
  sepconv::Weights weights{sepconv::contiguous_view(dw, {3, 1, 1}),
                           sepconv::contiguous_view(pw, {1, 1, 1}), {}};
  sepconv::reference::forward(config, sepconv::contiguous_view(x, {1, 5, 1}), weights,
                              sepconv::contiguous_view(y, {1, 5, 1}));
  const float want[5] = {200, 420, 642, 864, 1086};
  std::printf("sepconv %s (headers %s): y = %g %g %g %g %g\n", sepconv::version_string(),
              SEPCONV_VERSION_STRING, y[0], y[1], y[2], y[3], y[4]);
  if (std::memcmp(y, want, sizeof y) != 0) return 1;
  try {
    config.strides = 2;
    config.dilation_rate = 2;
    sepconv::validate(config);
    return 1;
  } catch (const sepconv::InvalidArgument& e) {
    std::printf("rejected as expected: %s\n", e.what());
  }
  return 0;
}
