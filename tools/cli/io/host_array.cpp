#include "io/host_array.h"

#include "detail/checks.h"

namespace sepconv::io {

HostArray HostArray::zeros(DType dtype, std::vector<std::int64_t> shape) {
  if (shape.size() > static_cast<std::size_t>(kMaxRank)) {
    detail::fail("shape", detail::str("rank ", shape.size()), "rank 0 to 3");
  }
  std::int64_t n = 1;
  for (auto d : shape) {
    if (d < 0) detail::fail("shape", shape_tuple(shape), "non-negative extents");
    n = detail::checked_mul(n, d, "shape");
  }
  const std::int64_t bytes =
      detail::checked_mul(n, static_cast<std::int64_t>(dtype_size(dtype)), "shape");
  HostArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.bytes.assign(static_cast<std::size_t>(bytes), 0);
  return a;
}

std::int64_t HostArray::numel() const noexcept {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

ConstTensorView HostArray::view() const noexcept {
  ConstTensorView v;
  v.data = bytes.empty() ? nullptr : bytes.data();
  v.dtype = dtype;
  v.rank = static_cast<int>(shape.size());
  std::int64_t stride = 1;
  for (int i = v.rank - 1; i >= 0; --i) {
    v.shape[i] = shape[static_cast<std::size_t>(i)];
    v.strides[i] = stride;
    stride *= v.shape[i] > 0 ? v.shape[i] : 1;
  }
  return v;
}

TensorView HostArray::view() noexcept {
  const ConstTensorView c = static_cast<const HostArray&>(*this).view();
  return {const_cast<void*>(c.data), c.dtype, c.rank, c.shape, c.strides};
}

double HostArray::get(std::int64_t i) const { return detail::load_element(bytes.data(), dtype, i); }

HostArray converted(const HostArray& array, DType dtype) {
  if (array.dtype == dtype) return array;
  HostArray out = HostArray::zeros(dtype, array.shape);
  const std::int64_t n = array.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    detail::store_element(out.bytes.data(), dtype, i, array.get(i));
  }
  return out;
}

std::string shape_tuple(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace sepconv::io
