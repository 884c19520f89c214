// Internal: one message format for every invalid argument, and formatting for messages.
#pragma once

#include <array>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "sepconv/error.h"
#include "sepconv/tensor.h"

namespace sepconv::detail {

/// Throws InvalidArgument: "sepconv: invalid `argument`: got <got>; expected <expected>".
[[noreturn]] void fail(std::string_view argument, const std::string& got,
                       const std::string& expected);

/// Formats values for messages with operator<<.
template <class... Ts>
std::string str(const Ts&... values) {
  std::ostringstream out;
  (out << ... << values);
  return out.str();
}

/// "(2, 17, 3)".
std::string shape_string(const ConstTensorView& view);
template <std::size_t N>
std::string shape_string(const std::array<std::int64_t, N>& shape, int rank = N) {
  std::string s = "(";
  for (int i = 0; i < rank; ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (rank == 1 ? ",)" : ")");
}

}  // namespace sepconv::detail
