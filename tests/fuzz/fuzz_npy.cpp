// Fuzz target: the .npy reader (tools/cli/io/npy.h, the CLI's). Every input is read as a whole
// .npy file; a rejection must be an io::FileError naming the file in one clear line, and an array
// that reads must be consistent and read back the same from the bytes np.save writes for it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sepconv;
  using fuzz::require;
  const std::string name = "fuzz.npy";
  io::HostArray a;
  try {
    a = io::parse_npy(data, size, name);
  } catch (const io::FileError& e) {
    require(e.path() == name, "FileError::path() is not the file's name");
    fuzz::check_file_message(e.what(), name);
    return 0;
  }
  require(a.shape.size() <= 3, "an array of rank " + std::to_string(a.shape.size()));
  require(a.dtype == DType::f32 || a.dtype == DType::f16, "a dtype other than float32/float16");
  std::size_t n = dtype_size(a.dtype);
  for (const auto d : a.shape) {
    require(d >= 0, "a negative extent");
    n *= static_cast<std::size_t>(d);
  }
  require(a.bytes.size() == n, "the bytes do not match the shape");
  // np.save's bytes of the array (C order) read back as the same array.
  std::string file = io::npy_header(a.dtype, a.shape);
  file.append(reinterpret_cast<const char*>(a.bytes.data()), a.bytes.size());
  try {
    const io::HostArray b =
        io::parse_npy(reinterpret_cast<const unsigned char*>(file.data()), file.size(), name);
    require(b.dtype == a.dtype && b.shape == a.shape && b.bytes == a.bytes,
            "np.save's bytes of an array read back differently");
  } catch (const io::FileError& e) {
    fuzz::finding(std::string("np.save's bytes of an array it read are rejected: ") + e.what());
  }
  return 0;
}
