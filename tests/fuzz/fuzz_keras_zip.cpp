// Fuzz target: Keras 3 .keras archives (sepconv_keras over libzip, from memory through
// zip_source_buffer). Every input is a model file (keras::ModelFile::from_memory): the archive's
// members, its config.json and its model.weights.h5 are read and every layer loaded; every
// rejection must be a FileError naming the file in one clear line; what loads must be consistent
// (fuzz_support.h's run_model).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sepconv::fuzz::run_model(data, size, "fuzz.keras", {});
  return 0;
}
