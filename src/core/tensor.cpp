#include "sepconv/tensor.h"

#include "detail/elements.h"
#include "detail/message.h"

namespace sepconv {
namespace {

template <class Pointer>
BasicTensorView<Pointer> make_view(Pointer data, DType dtype,
                                   std::initializer_list<std::int64_t> shape,
                                   std::initializer_list<std::int64_t> strides) {
  const auto rank = static_cast<int>(shape.size());
  if (rank < 1 || rank > kMaxRank) {
    detail::fail("shape", detail::str(rank, " extents"), "1 to 3 extents");
  }
  if (strides.size() != shape.size()) {
    detail::fail("strides", detail::str(strides.size(), " strides"),
                 detail::str(rank, " strides, one per extent"));
  }
  BasicTensorView<Pointer> view;
  view.data = data;
  view.dtype = dtype;
  view.rank = rank;
  int i = 0;
  for (auto extent : shape) {
    if (extent < 0) detail::fail("shape", detail::str("extent ", extent), "extents >= 0");
    view.shape[i++] = extent;
  }
  i = 0;
  for (auto stride : strides) {
    if (stride < 0) detail::fail("strides", detail::str("stride ", stride), "strides >= 0");
    view.strides[i++] = stride;
  }
  return view;
}

template <class Pointer>
BasicTensorView<Pointer> make_contiguous(Pointer data, DType dtype,
                                         std::initializer_list<std::int64_t> shape) {
  const auto rank = static_cast<int>(shape.size());
  if (rank < 1 || rank > kMaxRank) {
    detail::fail("shape", detail::str(rank, " extents"), "1 to 3 extents");
  }
  std::array<std::int64_t, kMaxRank> strides{1, 1, 1};
  const auto* extents = shape.begin();
  std::int64_t stride = 1;
  for (int i = rank - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= extents[i] > 0 ? extents[i] : 1;
  }
  switch (rank) {
    case 1: return make_view(data, dtype, shape, {strides[0]});
    case 2: return make_view(data, dtype, shape, {strides[0], strides[1]});
    default: return make_view(data, dtype, shape, {strides[0], strides[1], strides[2]});
  }
}

}  // namespace

TensorView contiguous_view(void* data, DType dtype, std::initializer_list<std::int64_t> shape) {
  return make_contiguous(data, dtype, shape);
}
ConstTensorView contiguous_view(const void* data, DType dtype,
                                std::initializer_list<std::int64_t> shape) {
  return make_contiguous(data, dtype, shape);
}
TensorView strided_view(void* data, DType dtype, std::initializer_list<std::int64_t> shape,
                        std::initializer_list<std::int64_t> strides) {
  return make_view(data, dtype, shape, strides);
}
ConstTensorView strided_view(const void* data, DType dtype,
                             std::initializer_list<std::int64_t> shape,
                             std::initializer_list<std::int64_t> strides) {
  return make_view(data, dtype, shape, strides);
}

double element(const ConstTensorView& view, std::int64_t i0, std::int64_t i1, std::int64_t i2) {
  return detail::load_element(view.data, view.dtype, view.offset(i0, i1, i2));
}

void set_element(const TensorView& view, std::int64_t i0, std::int64_t i1, std::int64_t i2,
                 double value) {
  detail::store_element(view.data, view.dtype, view.offset(i0, i1, i2), value);
}

void convert(const ConstTensorView& from, const TensorView& to) {
  if (from.rank != to.rank || from.shape != to.shape) {
    detail::fail("to", detail::str("a view of shape ", detail::shape_string(to)),
                 detail::str("the shape of the view converted, ", detail::shape_string(from)));
  }
  const std::int64_t n0 = from.rank > 0 ? from.shape[0] : 1;
  const std::int64_t n1 = from.rank > 1 ? from.shape[1] : 1;
  const std::int64_t n2 = from.rank > 2 ? from.shape[2] : 1;
  for (std::int64_t a = 0; a < n0; ++a)
    for (std::int64_t b = 0; b < n1; ++b)
      for (std::int64_t c = 0; c < n2; ++c) set_element(to, a, b, c, element(from, a, b, c));
}

}  // namespace sepconv
