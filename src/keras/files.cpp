#include "keras/files.h"

#include <filesystem>
#include <fstream>

#include "keras/text.h"
#include "sepconv/keras.h"

namespace sepconv::keras::detail {
namespace {

// Opens a regular file for reading; its size in `size`.
std::ifstream open_regular(const std::string& path, std::uint64_t& size) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (error) throw FileError(path, "cannot open: " + error.message());
  if (!std::filesystem::is_regular_file(status)) throw FileError(path, "not a regular file");
  size = std::filesystem::file_size(path, error);
  if (error) throw FileError(path, "cannot read its size: " + error.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, "cannot open");
  return in;
}

}  // namespace

std::string read_text_file(const std::string& path, std::string_view what) {
  std::uint64_t size = 0;
  std::ifstream in = open_regular(path, size);
  if (size > kMaxConfigBytes) {
    throw FileError(path, str(what, " of ", size, " bytes; expected at most ", kMaxConfigBytes,
                              " (a Keras config is kilobytes to a few megabytes)"));
  }
  std::string contents(static_cast<std::size_t>(size), '\0');
  if (!in.read(contents.data(), static_cast<std::streamsize>(size))) throw FileError(path, "cannot read");
  return contents;
}

std::vector<unsigned char> read_prefix(const std::string& path, std::size_t n) {
  std::uint64_t size = 0;
  std::ifstream in = open_regular(path, size);
  std::vector<unsigned char> bytes(static_cast<std::size_t>(std::min<std::uint64_t>(size, n)));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()))) {
    throw FileError(path, "cannot read");
  }
  return bytes;
}

}  // namespace sepconv::keras::detail
