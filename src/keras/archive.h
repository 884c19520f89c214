// Internal to sepconv_keras: reading members of a zip archive (a Keras 3 `.keras` file) with
// libzip, from a file or from memory. Archives are opened with libzip's consistency checks
// (ZIP_CHECKCONS) and every member read to its end, so its CRC-32 is verified; member sizes are
// bounded by the caller.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keras/text.h"
namespace sepconv::keras::zip {

/// A problem reading the archive (libzip's message, or a limit sepconv applies).
class Error : public detail::Problem {
 public:
  using detail::Problem::Problem;
};

class Archive {
 public:
  /// Opens an archive file. Throws Error (not a zip archive, truncated, inconsistent).
  [[nodiscard]] static Archive open(const std::string& path);
  /// Opens an archive held in memory; `bytes` must outlive the Archive.
  [[nodiscard]] static Archive open_memory(const unsigned char* bytes, std::size_t size);

  Archive(Archive&& other) noexcept;
  Archive& operator=(Archive&& other) noexcept;
  Archive(const Archive&) = delete;
  Archive& operator=(const Archive&) = delete;
  ~Archive();

  /// The names of the members.
  [[nodiscard]] std::vector<std::string> names() const;
  [[nodiscard]] bool contains(const std::string& name) const;
  /// A member's bytes, decompressed and checked against its CRC. Throws Error when it is missing,
  /// larger than `limit` bytes, or damaged.
  [[nodiscard]] std::vector<unsigned char> read(const std::string& name, std::uint64_t limit) const;

 private:
  explicit Archive(void* handle) : handle_(handle) {}
  void* handle_ = nullptr;  // zip_t*
};

}  // namespace sepconv::keras::zip
