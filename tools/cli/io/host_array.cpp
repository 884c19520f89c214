#include "io/host_array.h"

#include "text.h"

namespace sepconv::io {

HostArray HostArray::zeros(DType dtype, std::vector<std::int64_t> shape) {
  if (shape.size() > static_cast<std::size_t>(kMaxRank)) {
    cli::fail("shape", cli::str("rank ", shape.size()), "rank 0 to 3");
  }
  auto times = [&](std::int64_t a, std::int64_t b) {
    std::int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) {
      cli::fail("shape", shape_tuple(shape), "a size whose bytes fit in 64 bits");
    }
    return r;
  };
  std::int64_t n = 1;
  for (auto d : shape) {
    if (d < 0) cli::fail("shape", shape_tuple(shape), "non-negative extents");
    n = times(n, d);
  }
  const std::int64_t bytes = times(n, static_cast<std::int64_t>(dtype_size(dtype)));
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

double HostArray::get(std::int64_t i) const {
  return element(contiguous_view(static_cast<const void*>(bytes.data()), dtype, {numel()}), i);
}

HostArray converted(const HostArray& array, DType dtype) {
  if (array.dtype == dtype) return array;
  HostArray out = HostArray::zeros(dtype, array.shape);
  const std::int64_t n = array.numel();
  convert(contiguous_view(static_cast<const void*>(array.bytes.data()), array.dtype, {n}),
          contiguous_view(static_cast<void*>(out.bytes.data()), dtype, {n}));
  return out;
}

std::string shape_tuple(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace sepconv::io
