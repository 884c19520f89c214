// Fuzz target: the Keras config JSON parser (sepconv_keras). Every input is a config JSON text:
//   * parsed as one layer's config (keras::parse_layer_config, public) and as a model's or a
//     layer's (detail::parse_model_config, what ModelFile reads); a rejection must be an
//     InvalidArgument naming the JSON key in one clear line;
//   * when it parses as a model or layer config, it is the config of the weights-only files of
//     tests/data/keras_models (a Keras 3 .weights.h5 and a legacy weights .h5): the layers it
//     names are located in them and loaded (fuzz_support.h's run_model).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "keras/config_json.h"

namespace {

void check_invalid_argument(const sepconv::InvalidArgument& e) {
  sepconv::fuzz::require(!e.argument().empty(), std::string("an InvalidArgument naming no argument: ") + e.what());
  sepconv::fuzz::check_message(e.argument());
  sepconv::fuzz::check_message(e.what());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sepconv;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const keras::LayerSpec spec = keras::parse_layer_config(text);
    fuzz::check_message(keras::describe(spec));
  } catch (const InvalidArgument& e) {
    check_invalid_argument(e);
  }
  try {
    (void)keras::detail::parse_model_config(text);
  } catch (const InvalidArgument& e) {
    check_invalid_argument(e);
    return 0;
  }
  for (const char* weights : {"k3_model.weights.h5", "tk_model_weights.h5"}) {
    const auto& bytes = fuzz::model_data(weights);
    fuzz::run_model(bytes.data(), bytes.size(), weights, text);
  }
  return 0;
}
