// Internal: host access to one element of any dtype, in float64.
#pragma once

#include <cstdint>

#include "sepconv/types.h"

namespace sepconv::detail {

/// Reads element `offset` (in elements) of a host buffer of `dtype` as double.
double load_element(const void* base, DType dtype, std::int64_t offset);
/// Rounds `value` to `dtype` (round to nearest even) and stores it at element `offset`.
void store_element(void* base, DType dtype, std::int64_t offset, double value);
/// `value` rounded to `dtype` and back.
double round_to(DType dtype, double value);

}  // namespace sepconv::detail
