// Internal helpers for argument checking: one message format everywhere, overflow-checked
// arithmetic, and element access of any dtype for the host code.
#pragma once

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

/// a * b, or InvalidArgument(argument) when it overflows int64.
std::int64_t checked_mul(std::int64_t a, std::int64_t b, std::string_view argument);
/// a + b, or InvalidArgument(argument) when it overflows int64.
std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view argument);

/// Half-open byte range [begin, end) covered by a view's elements; empty (begin == end) when the
/// view has no elements.
struct ByteRange {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
  [[nodiscard]] bool overlaps(const ByteRange& o) const {
    return begin < end && o.begin < o.end && begin < o.end && o.begin < end;
  }
};
ByteRange byte_range(const ConstTensorView& view);

/// Checks the common properties of a view named `argument`: dtype, rank, non-negative extents and
/// strides, a pointer when it has elements, offsets that fit int64.
void check_view(std::string_view argument, const ConstTensorView& view, DType dtype, int rank);

/// Checks the extents of a view against the expected ones (after check_view).
void check_shape(std::string_view argument, const ConstTensorView& view,
                 const std::array<std::int64_t, 3>& expected, int rank,
                 std::string_view expected_meaning);

/// True when no two distinct multi-indices of the view address the same element.
bool elements_are_distinct(const ConstTensorView& view);

/// Reads element `offset` (in elements) of a host buffer of `dtype` as double.
double load_element(const void* base, DType dtype, std::int64_t offset);
/// Rounds `value` to `dtype` (round to nearest even) and stores it at element `offset`.
void store_element(void* base, DType dtype, std::int64_t offset, double value);
/// `value` rounded to `dtype` and back.
double round_to(DType dtype, double value);

}  // namespace sepconv::detail
