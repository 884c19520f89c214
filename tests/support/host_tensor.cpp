#include "host_tensor.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace sepconv::test {

HostTensor::HostTensor(DType dtype, std::vector<std::int64_t> shape,
                       std::array<std::int64_t, 3> slack)
    : shape_(std::move(shape)) {
  const int rank = static_cast<int>(shape_.size());
  view_.dtype = dtype;
  view_.rank = rank;
  // Allocated extents: the view's plus the slack on each axis; the view starts at slack/2.
  std::array<std::int64_t, 3> alloc{1, 1, 1};
  std::array<std::int64_t, 3> start{0, 0, 0};
  for (int i = 0; i < rank; ++i) {
    view_.shape[i] = shape_[i];
    alloc[i] = shape_[i] + slack[i];
    start[i] = slack[i] / 2;
  }
  std::int64_t stride = 1;
  std::int64_t total = 1;
  for (int i = rank - 1; i >= 0; --i) {
    view_.strides[i] = stride;
    stride *= std::max<std::int64_t>(alloc[i], 1);
    total *= alloc[i];
  }
  const auto size = dtype_size(dtype);
  bytes_.assign(static_cast<std::size_t>(std::max<std::int64_t>(total, 1)) * size, 0);
  std::int64_t offset = 0;
  for (int i = 0; i < rank; ++i) offset += start[i] * view_.strides[i];
  view_.data = bytes_.data() + offset * static_cast<std::int64_t>(size);
}

HostTensor::HostTensor(const HostTensor& other)
    : shape_(other.shape_), bytes_(other.bytes_), view_(other.view_) {
  if (!other.bytes_.empty()) {
    view_.data = bytes_.data() + (static_cast<const unsigned char*>(other.view_.data) -
                                  other.bytes_.data());
  }
}

HostTensor& HostTensor::operator=(const HostTensor& other) {
  if (this != &other) *this = HostTensor(other);
  return *this;
}

std::vector<double> HostTensor::values_of(const ConstTensorView& view) {
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(view.numel()));
  const int r = view.rank;
  const std::int64_t n0 = r > 0 ? view.shape[0] : 1;
  const std::int64_t n1 = r > 1 ? view.shape[1] : 1;
  const std::int64_t n2 = r > 2 ? view.shape[2] : 1;
  for (std::int64_t a = 0; a < n0; ++a)
    for (std::int64_t b = 0; b < n1; ++b)
      for (std::int64_t c = 0; c < n2; ++c)
        out.push_back(detail::load_element(view.data, view.dtype, view.offset(a, b, c)));
  return out;
}

void HostTensor::assign(const std::vector<double>& values) {
  const int r = view_.rank;
  const std::int64_t n0 = r > 0 ? view_.shape[0] : 1;
  const std::int64_t n1 = r > 1 ? view_.shape[1] : 1;
  const std::int64_t n2 = r > 2 ? view_.shape[2] : 1;
  std::size_t i = 0;
  for (std::int64_t a = 0; a < n0; ++a)
    for (std::int64_t b = 0; b < n1; ++b)
      for (std::int64_t c = 0; c < n2; ++c) set(a, b, c, values.at(i++));
}

void HostTensor::fill_uniform(std::mt19937_64& rng, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(static_cast<std::size_t>(numel()));
  for (auto& x : v) x = dist(rng);
  assign(v);
}

void HostTensor::poison() {
  const auto size = dtype_size(view_.dtype);
  for (std::size_t i = 0; i + size <= bytes_.size(); i += size) {
    detail::store_element(bytes_.data() + i, view_.dtype, 0,
                          std::numeric_limits<double>::quiet_NaN());
  }
}

HostWeights random_weights(const LayerConfig& c, std::int64_t in_channels, DType dtype,
                           std::mt19937_64& rng) {
  const std::int64_t cm = in_channels * c.depth_multiplier;
  HostWeights w;
  w.depthwise = HostTensor(dtype, {c.kernel_size, in_channels, c.depth_multiplier});
  w.depthwise.fill_uniform(rng, -1, 1);
  const double scale = 1 / std::sqrt(static_cast<double>(cm));
  w.pointwise = HostTensor(dtype, {1, cm, c.filters});
  w.pointwise.fill_uniform(rng, -scale, scale);
  if (c.use_bias) {
    w.bias = HostTensor(dtype, {c.filters});
    w.bias.fill_uniform(rng, -0.5, 0.5);
  }
  return w;
}

HostTensor random_input(const LayerConfig& c, std::int64_t batch, std::int64_t length,
                        std::int64_t in_channels, DType dtype, std::mt19937_64& rng,
                        std::array<std::int64_t, 3> slack) {
  const auto s = input_shape(c, batch, length, in_channels);
  HostTensor x(dtype, {s[0], s[1], s[2]}, slack);
  x.fill_uniform(rng, -1, 1);
  return x;
}

HostTensor poisoned_output(const LayerConfig& c, std::int64_t batch, std::int64_t length,
                           DType dtype, std::array<std::int64_t, 3> slack) {
  const auto s = output_shape(c, batch, length);
  HostTensor y(dtype, {s[0], s[1], s[2]}, slack);
  y.poison();
  return y;
}

std::string describe(const LayerConfig& c) {
  std::ostringstream out;
  out << "k" << c.kernel_size << " s" << c.strides << " d" << c.dilation_rate << " M"
      << c.depth_multiplier << " F" << c.filters << " " << to_string(c.padding) << " "
      << to_string(c.data_format) << " " << to_string(c.activation)
      << (c.use_bias ? " bias" : " nobias");
  return out.str();
}

}  // namespace sepconv::test
