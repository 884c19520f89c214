#include "run_layer.h"

#include "host/checks.h"
#include "sepconv/reference.h"

namespace sepconv::cli {

std::string_view to_string(Device device) noexcept {
  switch (device) {
    case Device::cpu: return "cpu";
    case Device::gpu: return "gpu";
    case Device::automatic: return "auto";
  }
  return "?";
}

Device parse_device(std::string_view text) {
  if (text == "cpu") return Device::cpu;
  if (text == "gpu") return Device::gpu;
  if (text == "auto") return Device::automatic;
  detail::fail("device", detail::str('"', text, '"'), "cpu, gpu or auto");
}

Device run_layer(const LayerConfig& config, DType dtype, ConstTensorView x, const Weights& weights,
                 TensorView y, Device device) {
  validate_forward(config, dtype, x, weights, y);
  // auto: the CPU until the GPU executor exists; then the GPU when a device is present.
  if (device == Device::automatic) device = Device::cpu;
  switch (device) {
    case Device::gpu:
      // The GPU executor plugs in here: copy x and the weights to the device, run the layer,
      // copy y back.
      throw Unsupported("sepconv: --device gpu: the GPU path is not built yet; use --device cpu "
                        "(or auto, which runs on the CPU for now)");
    case Device::cpu:
    case Device::automatic:
      reference::forward(config, x, weights, y);
      return Device::cpu;
  }
  return device;
}

}  // namespace sepconv::cli
