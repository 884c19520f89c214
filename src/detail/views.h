// Internal: the checks every tensor view argument gets, and its byte range.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "sepconv/config.h"
#include "sepconv/tensor.h"

namespace sepconv::detail {

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

/// The checks of a forward's input x against a validated config (`validate_forward`'s, which
/// the backward's validation shares): rank 3 of `dtype`, at least one channel and one step, unit
/// stride on the contiguous last axis; returns the problem's shapes (core/config.cpp).
ProblemShape check_input(const LayerConfig& config, DType dtype, const ConstTensorView& x);
/// The weight checks of `validate_weights` for a validated config (core/config.cpp).
void check_weights(const LayerConfig& config, DType dtype, std::int64_t in_channels,
                   const Weights& weights);

/// The input checks of `validate_backward`: x and the weights as `validate_forward` checks them,
/// dy of the output's shape and `dtype` with unit stride on its last axis (core/backward.cpp).
ProblemShape check_backward_inputs(const LayerConfig& config, DType dtype,
                                   const ConstTensorView& x, const Weights& weights,
                                   const ConstTensorView& dy);

/// True when no two distinct multi-indices of the view address the same element.
bool elements_are_distinct(const ConstTensorView& view);

/// The view of steps [begin, begin + count) of a (B, T, X) / (B, X, T) tensor view (time on axis
/// 1 for channels_last, 2 for channels_first): the same strides, data moved to step `begin`.
template <class Pointer>
BasicTensorView<Pointer> time_slice(BasicTensorView<Pointer> v, DataFormat format,
                                    std::int64_t begin, std::int64_t count) {
  const int axis = format == DataFormat::channels_last ? 1 : 2;
  using Byte = std::conditional_t<std::is_const_v<std::remove_pointer_t<Pointer>>,
                                  const unsigned char, unsigned char>;
  v.data = static_cast<Byte*>(v.data) +
           begin * v.strides[axis] * static_cast<std::int64_t>(dtype_size(v.dtype));
  v.shape[axis] = count;
  return v;
}

}  // namespace sepconv::detail
