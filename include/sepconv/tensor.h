// sepconv — non-owning tensor views.
//
// A view is {pointer, dtype, shape, strides} for a tensor of rank 1 to 3; it owns nothing and
// says nothing about where the memory lives (the function taking it documents whether it must be
// host or device memory). Strides are in elements, may differ from the contiguous ones (a slice of
// a larger buffer) and must be >= 0. Views let sepconv check shapes, sizes, layouts and overlap
// before touching memory, which raw pointers cannot.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "sepconv/export.h"
#include "sepconv/types.h"

namespace sepconv {

/// Maximum rank of a view.
inline constexpr int kMaxRank = 3;

template <class Pointer>
struct BasicTensorView {
  Pointer data = nullptr;
  DType dtype = DType::f32;
  int rank = 0;
  std::array<std::int64_t, kMaxRank> shape{};
  std::array<std::int64_t, kMaxRank> strides{};  ///< in elements

  /// Number of elements (the product of the shape; 1 for rank 0).
  [[nodiscard]] std::int64_t numel() const noexcept {
    std::int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= shape[i];
    return n;
  }
  /// True when no view holds a tensor (a default-constructed view, e.g. an absent bias).
  [[nodiscard]] bool empty() const noexcept { return data == nullptr && rank == 0; }
  /// True when the strides are the row-major (C order) strides of the shape.
  [[nodiscard]] bool is_contiguous() const noexcept {
    std::int64_t expected = 1;
    for (int i = rank - 1; i >= 0; --i) {
      if (shape[i] != 1 && strides[i] != expected) return false;
      expected *= shape[i];
    }
    return true;
  }
  /// Element offset of a multi-index (no bounds check).
  [[nodiscard]] std::int64_t offset(std::int64_t i0, std::int64_t i1 = 0,
                                    std::int64_t i2 = 0) const noexcept {
    return i0 * strides[0] + i1 * strides[1] + i2 * strides[2];
  }
  /// Bytes from `data` to the end of the last element: what a copy of the view's memory (with
  /// whatever lies between its elements) spans; 0 without elements.
  [[nodiscard]] std::int64_t span_bytes() const noexcept {
    if (numel() == 0) return 0;
    std::int64_t last = 0;
    for (int i = 0; i < rank; ++i) last += (shape[i] - 1) * strides[i];
    return (last + 1) * static_cast<std::int64_t>(dtype_size(dtype));
  }

  /// A read-only view of the same tensor (mutable views only: a conversion of the read-only view
  /// to itself would never be called, which nvcc reports as an error under -Werror).
  // NOLINTNEXTLINE(google-explicit-constructor): mutable views convert to read-only ones.
  template <class P = Pointer, std::enable_if_t<!std::is_same_v<P, const void*>, int> = 0>
  operator BasicTensorView<const void*>() const noexcept {
    return {data, dtype, rank, shape, strides};
  }
};

/// A view of a tensor sepconv may write (outputs).
using TensorView = BasicTensorView<void*>;
/// A view of a tensor sepconv only reads (inputs, weights).
using ConstTensorView = BasicTensorView<const void*>;

/// A row-major (C order) view of `shape` (rank 1 to 3) starting at `data`. Throws
/// `InvalidArgument` ("shape") for another rank or a negative extent.
[[nodiscard]] SEPCONV_EXPORT TensorView contiguous_view(void* data, DType dtype,
                                         std::initializer_list<std::int64_t> shape);
[[nodiscard]] SEPCONV_EXPORT ConstTensorView contiguous_view(const void* data, DType dtype,
                                              std::initializer_list<std::int64_t> shape);
[[nodiscard]] inline TensorView contiguous_view(float* data,
                                                std::initializer_list<std::int64_t> shape) {
  return contiguous_view(static_cast<void*>(data), DType::f32, shape);
}
[[nodiscard]] inline ConstTensorView contiguous_view(const float* data,
                                                     std::initializer_list<std::int64_t> shape) {
  return contiguous_view(static_cast<const void*>(data), DType::f32, shape);
}

/// A view with explicit strides (in elements). Throws `InvalidArgument` ("shape"/"strides") when
/// the two lists differ in length, the rank is not 1 to 3, or an extent or stride is negative.
[[nodiscard]] SEPCONV_EXPORT TensorView strided_view(void* data, DType dtype,
                                      std::initializer_list<std::int64_t> shape,
                                      std::initializer_list<std::int64_t> strides);
[[nodiscard]] SEPCONV_EXPORT ConstTensorView strided_view(const void* data, DType dtype,
                                           std::initializer_list<std::int64_t> shape,
                                           std::initializer_list<std::int64_t> strides);

/// Element (i0, i1, i2) of a view of host memory, of any dtype, as double.
[[nodiscard]] SEPCONV_EXPORT double element(const ConstTensorView& view, std::int64_t i0,
                                            std::int64_t i1 = 0, std::int64_t i2 = 0);
/// Sets element (i0, i1, i2) of a view of host memory to `value` rounded to the view's dtype
/// (round to nearest even).
SEPCONV_EXPORT void set_element(const TensorView& view, std::int64_t i0, std::int64_t i1,
                                std::int64_t i2, double value);
/// Copies a view of host memory into another of the same shape, converting between dtypes
/// (round to nearest even; any strides). Throws InvalidArgument ("to") when the shapes differ.
SEPCONV_EXPORT void convert(const ConstTensorView& from, const TensorView& to);

}  // namespace sepconv
