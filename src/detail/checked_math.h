// Internal: 64-bit size arithmetic that reports overflow as an invalid argument.
#pragma once

#include <cstdint>
#include <string_view>

namespace sepconv::detail {

/// a * b, or InvalidArgument(argument) when it overflows int64.
std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view argument);
/// a + b, or InvalidArgument(argument) when it overflows int64.
std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view argument);

}  // namespace sepconv::detail
