#include "detail/views.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "detail/checked_math.h"
#include "detail/message.h"

namespace sepconv::detail {

ByteRange byte_range(const ConstTensorView& view) {
  if (view.data == nullptr || view.numel() == 0) return {};
  std::int64_t last = 0;
  for (int i = 0; i < view.rank; ++i) last += (view.shape[i] - 1) * view.strides[i];
  const auto begin = reinterpret_cast<std::uintptr_t>(view.data);
  const auto size = static_cast<std::uintptr_t>(dtype_size(view.dtype));
  return {begin, begin + static_cast<std::uintptr_t>(last) * size + size};
}

void check_view(std::string_view argument, const ConstTensorView& view, DType dtype, int rank) {
  if (view.rank != rank) {
    fail(argument, str("a view of rank ", view.rank, " ", shape_string(view)),
         str("rank ", rank));
  }
  if (view.dtype != dtype) {
    fail(argument, str("dtype ", to_string(view.dtype)),
         str("dtype ", to_string(dtype), " (the layer's storage type)"));
  }
  std::int64_t numel = 1;
  std::int64_t last = 0;
  for (int i = 0; i < rank; ++i) {
    if (view.shape[i] < 0) {
      fail(argument, str("shape ", shape_string(view)), "non-negative extents");
    }
    if (view.strides[i] < 0) {
      fail(argument, str("strides ", shape_string(view.strides, rank)), "non-negative strides");
    }
    numel = checked_mul(numel, view.shape[i], argument);
    if (view.shape[i] > 0) {
      last = checked_add(last, checked_mul(view.shape[i] - 1, view.strides[i], argument),
                         argument);
    }
  }
  checked_mul(checked_add(last, 1, argument), static_cast<std::int64_t>(dtype_size(dtype)),
              argument);
  if (numel > 0 && view.data == nullptr) {
    fail(argument, str("a null pointer with shape ", shape_string(view)),
         "a valid pointer for a view with elements");
  }
}

void check_shape(std::string_view argument, const ConstTensorView& view,
                 const std::array<std::int64_t, 3>& expected, int rank,
                 std::string_view expected_meaning) {
  for (int i = 0; i < rank; ++i) {
    if (view.shape[i] != expected[i]) {
      fail(argument, str("shape ", shape_string(view)),
           str(shape_string(expected, rank), " ", expected_meaning));
    }
  }
}

bool elements_are_distinct(const ConstTensorView& view) {
  // Sort the axes with more than one element by stride; the view is one-to-one when each stride
  // exceeds the largest offset reachable with the smaller axes.
  std::array<int, kMaxRank> axes{};  // no allocation: a forward checks this on every call
  int count = 0;
  for (int i = 0; i < view.rank; ++i) {
    if (view.shape[i] > 1) axes[count++] = i;
  }
  for (int a = 1; a < count; ++a) {  // by stride (at most three)
    for (int b = a; b > 0 && view.strides[axes[b]] < view.strides[axes[b - 1]]; --b) {
      std::swap(axes[b], axes[b - 1]);
    }
  }
  std::int64_t reach = 0;  // largest offset reachable with the axes seen so far
  for (int k = 0; k < count; ++k) {
    const int i = axes[k];
    if (view.strides[i] <= reach) return false;
    reach += view.strides[i] * (view.shape[i] - 1);
  }
  return true;
}

}  // namespace sepconv::detail
