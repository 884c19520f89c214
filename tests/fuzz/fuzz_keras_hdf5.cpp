// Fuzz target: Keras HDF5 files (sepconv_keras over the HDF5 C library, from memory through HDF5's
// core driver). Every input is a model file (keras::ModelFile::from_memory): a legacy .h5 model
// holds its config; a weights-only file (Keras 3 .weights.h5, legacy weights .h5) is read with the
// model config of tests/data/keras_models's model of its kind and with one layer's config (the
// name-based search). Every rejection must be a FileError naming the file in one clear line;
// what loads must be consistent (fuzz_support.h's run_model). HDF5 itself is not instrumented.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_support.h"
#include "keras/hdf5.h"
#include "keras/model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sepconv;
  const std::string name = "fuzz.h5";
  // Which configs a weights-only file needs: peek at its format (a failure here is reported,
  // and checked, by the public call below).
  std::optional<keras::Format> format;
  try {
    format = keras::detail::hdf5_format(keras::hdf5::File::open_image(data, size));
  } catch (const keras::detail::Problem&) {
  }
  if (format == keras::Format::keras_weights) {
    fuzz::run_model(data, size, name, fuzz::model_text("k3_model.json"));
    fuzz::run_model(data, size, name, fuzz::model_text("k3_model.layer.sep.json"));
  } else if (format == keras::Format::legacy_weights) {
    fuzz::run_model(data, size, name, fuzz::model_text("tk_model.json"));
    fuzz::run_model(data, size, name, fuzz::model_text("tk_model.layer.sep_s.json"));
  } else {
    fuzz::run_model(data, size, name, {});
  }
  return 0;
}
