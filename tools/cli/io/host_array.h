// sepconv_io — a host array that owns its bytes: what .npy files are read into and written from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sepconv/tensor.h"

namespace sepconv::io {

/// A C-order host array of rank 0 to 3 of any sepconv dtype.
struct HostArray {
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::vector<unsigned char> bytes;  ///< numel() * dtype_size(dtype) bytes

  /// A zero-filled array. Throws `InvalidArgument` ("shape") for a rank above 3, a negative
  /// extent or a byte size that overflows 64 bits.
  [[nodiscard]] static HostArray zeros(DType dtype, std::vector<std::int64_t> shape);

  /// Product of the shape (1 for rank 0).
  [[nodiscard]] std::int64_t numel() const noexcept;
  /// Row-major views of the array (rank 0 gives a rank-0 view of its single element).
  [[nodiscard]] ConstTensorView view() const noexcept;
  [[nodiscard]] TensorView view() noexcept;
  /// Element i (row-major) as double.
  [[nodiscard]] double get(std::int64_t i) const;
};

/// `array` converted to `dtype`, each element rounded to nearest even.
[[nodiscard]] HostArray converted(const HostArray& array, DType dtype);

/// "(2, 3)", "(5,)", "()": a shape as Python writes a tuple.
[[nodiscard]] std::string shape_tuple(const std::vector<std::int64_t>& shape);

}  // namespace sepconv::io
