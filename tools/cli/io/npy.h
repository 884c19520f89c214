// sepconv_io — NumPy .npy files: read float32 / float16 arrays of rank 0 to 3, write them back.
//
// Not part of the installed sepconv library (which stays dependency-free): the sepconv1d CLI and
// the tests use it. Reading is defensive: every size in the file is checked against limits and
// against the file's real size before anything is allocated, so a malformed, truncated or
// hostile file gives a `FileError` naming the file and the problem, never a crash or a huge
// allocation.
//
// Reading accepts format versions 1.0, 2.0 and 3.0, dtypes '<f4' and '<f2' (little-endian float32
// and float16), C or Fortran order (Fortran order is converted to C order on reading), rank 0 to
// 3. Everything else is rejected; so are bytes after the data (np.save never writes any: a longer
// file means the header does not describe the data).
//
// Writing produces exactly what np.save writes for a C-order '<f4' / '<f2' array (version 1.0
// header padded to a multiple of 64 bytes), into a temporary file in the destination's directory
// that is renamed into place only once everything is written: on failure no file, not even a
// partial one, is left behind, and an existing file of that name is untouched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "io/host_array.h"
#include "sepconv/error.h"

namespace sepconv::io {

/// A file that cannot be read or written, or whose contents are malformed or unsupported.
/// `what()` is "<path>: <problem>".
class FileError : public Error {
 public:
  FileError(std::string path, const std::string& problem);
  /// The file the problem is about.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

/// The largest .npy header accepted when reading (np.save writes fewer than 200 bytes for the
/// arrays sepconv uses; numpy itself refuses headers above 10000 bytes by default).
inline constexpr std::size_t kMaxNpyHeaderBytes = 64 * 1024;

/// Reads a .npy file. Throws `FileError` naming `path` and the problem.
[[nodiscard]] HostArray read_npy(const std::string& path);

/// Parses the bytes of a whole .npy file; `name` is used in error messages (as the path).
[[nodiscard]] HostArray parse_npy(const unsigned char* data, std::size_t size,
                                  const std::string& name);

/// The version 1.0 header (magic, version, length and the padded dict) np.save writes for a
/// C-order array of `dtype` (f32 or f16) and `shape`.
[[nodiscard]] std::string npy_header(DType dtype, const std::vector<std::int64_t>& shape);

/// Writes `array` (f32 as '<f4', f16 as '<f2'; bf16 is rejected: numpy has no bfloat16) to
/// `path` through a temporary file renamed into place on success. Throws `FileError`.
void write_npy(const std::string& path, const HostArray& array);

}  // namespace sepconv::io
