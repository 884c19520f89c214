// Internal to sepconv_keras: message formatting. The library is a client of sepconv's public API
// only (its internal helpers are not exported from the shared library), so it has its own.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sepconv/error.h"

namespace sepconv::keras::detail {

/// What is wrong with a file's contents, without the file's name (the public API adds it when it
/// throws FileError). The HDF5 and zip readers' errors derive from it.
class Problem : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Formats values for messages with operator<<.
template <class... Ts>
std::string str(const Ts&... values) {
  std::ostringstream out;
  (out << ... << values);
  return out.str();
}

/// Throws InvalidArgument: "sepconv: invalid `argument`: got <got>; expected <expected>".
[[noreturn]] inline void fail(std::string_view argument, const std::string& got,
                              const std::string& expected) {
  throw InvalidArgument(std::string(argument), got, expected);
}

/// `text` with control and non-ASCII bytes replaced by '?', and cut to `max` characters: what a
/// malformed file says, made safe to print in one line.
inline std::string printable(std::string_view text, std::size_t max = 120) {
  std::string s(text.substr(0, max));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  if (text.size() > max) s += "...";
  return s;
}

/// 'name' in quotes, printable.
inline std::string in_quotes(std::string_view name) { return "'" + printable(name) + "'"; }

}  // namespace sepconv::keras::detail
