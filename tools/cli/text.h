// The CLI's messages: sepconv's format for an invalid argument (sepconv::InvalidArgument), and
// concatenation for the rest.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

#include "sepconv/error.h"

namespace sepconv::cli {

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

}  // namespace sepconv::cli
