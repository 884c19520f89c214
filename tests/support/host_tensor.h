// Test support: host tensors of any dtype with views, seeded random fills, poison, and random
// layer configurations.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "detail/elements.h"
#include "sepconv/config.h"
#include "sepconv/tensor.h"

namespace sepconv::test {

/// A host tensor of rank 1-3 that owns its bytes. With `slack`, each axis is allocated larger and
/// the view is a slice of the bigger buffer starting at an offset, so strides differ from the
/// contiguous ones (sliced inputs); the contiguous last axis stays unit-stride.
class HostTensor {
 public:
  HostTensor() = default;
  HostTensor(DType dtype, std::vector<std::int64_t> shape, std::array<std::int64_t, 3> slack = {});
  /// A copy views its own bytes (at the same offset), not the original's.
  HostTensor(const HostTensor& other);
  HostTensor& operator=(const HostTensor& other);
  HostTensor(HostTensor&&) noexcept = default;  // the buffer moves with its view
  HostTensor& operator=(HostTensor&&) noexcept = default;

  [[nodiscard]] TensorView view() { return view_; }
  [[nodiscard]] ConstTensorView view() const { return view_; }
  [[nodiscard]] std::int64_t numel() const { return view_.numel(); }
  [[nodiscard]] const std::vector<std::int64_t>& shape() const { return shape_; }

  [[nodiscard]] double get(std::int64_t i0, std::int64_t i1 = 0, std::int64_t i2 = 0) const {
    return detail::load_element(view_.data, view_.dtype, view_.offset(i0, i1, i2));
  }
  void set(std::int64_t i0, std::int64_t i1, std::int64_t i2, double v) {
    detail::store_element(view_.data, view_.dtype, view_.offset(i0, i1, i2), v);
  }
  /// Every element of the view, in row-major order of the view's shape, as double.
  [[nodiscard]] std::vector<double> values() const { return values_of(view_); }
  /// Every element of any host view, in row-major order, as double.
  [[nodiscard]] static std::vector<double> values_of(const ConstTensorView& view);
  /// Sets every element (row-major order of the view) from `values`.
  void assign(const std::vector<double>& values);
  /// Uniform values in [lo, hi), rounded to the dtype.
  void fill_uniform(std::mt19937_64& rng, double lo, double hi);
  /// Every byte of the allocation (the view and the slack around it) set to NaN.
  void poison();
  /// The raw allocation (view and slack), to check that nothing outside the view was written.
  [[nodiscard]] const std::vector<unsigned char>& bytes() const { return bytes_; }

 private:
  std::vector<std::int64_t> shape_;
  std::vector<unsigned char> bytes_;
  TensorView view_;
};

/// Layer weights in Keras layouts, owned.
struct HostWeights {
  HostTensor depthwise;  // (k, C, M)
  HostTensor pointwise;  // (1, C*M, F)
  HostTensor bias;       // (F) or empty
  [[nodiscard]] Weights view() const {
    return {depthwise.view(), pointwise.view(),
            bias.shape().empty() ? ConstTensorView{} : bias.view()};
  }
};

/// Random weights for a config, uniform in [-1, 1) (pointwise scaled by 1/sqrt(C*M) so outputs
/// stay O(1)), bias in [-0.5, 0.5).
HostWeights random_weights(const LayerConfig& config, std::int64_t in_channels, DType dtype,
                           std::mt19937_64& rng);

/// A random input (B, L, C) or (B, C, L), uniform in [-1, 1).
HostTensor random_input(const LayerConfig& config, std::int64_t batch, std::int64_t length,
                        std::int64_t in_channels, DType dtype, std::mt19937_64& rng,
                        std::array<std::int64_t, 3> slack = {});

/// An output tensor for the config, poisoned with NaN.
HostTensor poisoned_output(const LayerConfig& config, std::int64_t batch, std::int64_t length,
                           DType dtype, std::array<std::int64_t, 3> slack = {});

/// A short readable description of a config ("k3 s2 d1 M2 F5 same channels_first relu bias").
std::string describe(const LayerConfig& config);

}  // namespace sepconv::test
