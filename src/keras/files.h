// Internal to sepconv_keras: reading whole (small) files and file prefixes, with FileError.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sepconv::keras::detail {

/// The largest config JSON read (model configs of large models are a few megabytes).
inline constexpr std::size_t kMaxConfigBytes = 64u * 1024 * 1024;

/// The contents of a regular file of at most kMaxConfigBytes; `what` names it in messages ("a
/// layer config"). Throws FileError.
[[nodiscard]] std::string read_text_file(const std::string& path, std::string_view what);

/// The first `n` bytes of a regular file (fewer when it is shorter). Throws FileError when it
/// cannot be opened or is not a regular file.
[[nodiscard]] std::vector<unsigned char> read_prefix(const std::string& path, std::size_t n);

}  // namespace sepconv::keras::detail
