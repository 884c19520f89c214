#include "cases.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace sepconv::bench {

std::string_view to_string(Stage stage) noexcept {
  switch (stage) {
    case Stage::depthwise: return "depthwise";
    case Stage::pointwise: return "pointwise";
    case Stage::forward: return "forward";
    case Stage::backward: return "backward";
  }
  return "?";
}

const std::vector<Stage>& all_stages() {
  static const std::vector<Stage> stages = {Stage::depthwise, Stage::pointwise, Stage::forward,
                                           Stage::backward};
  return stages;
}

const std::vector<Mode>& all_modes() {
  static const std::vector<Mode> modes = {{"fp32", DType::f32, MathMode::exact},
                                          {"tf32", DType::f32, MathMode::tf32},
                                          {"fp16", DType::f16, MathMode::exact},
                                          {"bf16", DType::bf16, MathMode::exact}};
  return modes;
}

LayerConfig Shape::config(DataFormat format) const {
  LayerConfig c;
  c.filters = filters;
  c.kernel_size = kernel;
  c.strides = stride;
  c.padding = padding;
  c.data_format = format;
  c.dilation_rate = dilation;
  c.depth_multiplier = multiplier;
  c.activation = Activation::linear;
  c.use_bias = true;
  return c;
}

std::int64_t Shape::out_length() const {
  return output_length(config(DataFormat::channels_last), length);
}

std::string Shape::describe() const {
  std::ostringstream o;
  o << "B=" << batch << " L=" << length << " C=" << channels << " k=" << kernel
    << " M=" << multiplier << " F=" << filters << " s=" << stride;
  if (dilation != 1) o << " d=" << dilation;
  o << " " << to_string(padding);
  return o.str();
}

const std::vector<Shape>& gpu_shapes() {
  using DF = DataFormat;
  // clang-format off
  static const std::vector<Shape> shapes = {
      // name, what, B, L, C, k, M, F, stride, dilation, padding, formats
      {"a", "mamba-like", 8, 4096, 2048, 4, 1, 2048, 1, 1, Padding::causal, {DF::channels_last}},
      {"b", "quartznet-like", 32, 1024, 256, 33, 1, 256, 1, 1, Padding::same,
       {DF::channels_last, DF::channels_first}},
      {"c", "small channels, long sequence", 4, 65536, 64, 7, 1, 64, 1, 1, Padding::same,
       {DF::channels_last, DF::channels_first}},
      {"d", "strided valid, multiplier 2", 16, 8192, 512, 5, 2, 512, 2, 1, Padding::valid,
       {DF::channels_last}},
      {"e", "wide model", 1, 16384, 12288, 4, 1, 12288, 1, 1, Padding::causal, {DF::channels_last}},
  };
  // clang-format on
  return shapes;
}

std::vector<Shape> cpu_shapes(bool quick) {
  std::vector<Shape> shapes = gpu_shapes();
  const std::int64_t length = quick ? 64 : 512;
  const std::int64_t channels = quick ? 8 : 48;
  for (Shape& s : shapes) {
    s.batch = 1;
    s.length = std::min(s.length, length);
    s.channels = std::min(s.channels, channels);
    s.filters = std::min(s.filters, channels);
  }
  return shapes;
}

ShapeWork count_work(const Shape& s, DType dtype) {
  const auto e = static_cast<double>(dtype_size(dtype));
  const auto b = static_cast<double>(s.batch);
  const auto lout = static_cast<double>(s.out_length());
  const auto cm = static_cast<double>(s.mid_channels());
  const auto f = static_cast<double>(s.filters);
  const auto k = static_cast<double>(s.kernel);
  const double x = b * static_cast<double>(s.length) * static_cast<double>(s.channels);
  const double dw_weights = k * cm;
  const double d = b * lout * cm;
  const double pw_weights = cm * f + f;  // pointwise matrix and bias
  const double y = b * lout * f;
  ShapeWork w;
  w.depthwise = {(x + dw_weights + d) * e, 2 * k * b * lout * cm};
  w.pointwise = {(d + pw_weights + y) * e, 2 * b * lout * cm * f};
  w.fused = {(x + dw_weights + pw_weights + y) * e, w.depthwise.flops + w.pointwise.flops};
  w.backward = {(2 * x + dw_weights + pw_weights + y) * e + (dw_weights + pw_weights) * 4,
                2 * w.fused.flops};
  return w;
}

bool Ceilings::complete_for(const Mode& mode) const {
  const auto it = gemm_tflops.find(mode.name);
  return bandwidth_gbs > 0 && fma_tflops > 0 && it != gemm_tflops.end() && it->second > 0;
}

Ceilings datasheet_h100_sxm() {
  Ceilings c;
  c.bandwidth_gbs = 3350;
  c.fma_tflops = 66.9;
  c.gemm_tflops = {{"fp32", 66.9}, {"tf32", 494.7}, {"fp16", 989.4}, {"bf16", 989.4}};
  return c;
}

Floors floors(const ShapeWork& w, const Ceilings& c, const Mode& mode) {
  const double bandwidth = c.bandwidth_gbs * 1e9;
  const double fma = c.fma_tflops * 1e12;
  const double gemm = c.gemm_tflops.at(mode.name) * 1e12;
  Floors fl;
  const double dw_memory = w.depthwise.bytes / bandwidth;
  const double dw_compute = w.depthwise.flops / fma;
  const double pw_memory = w.pointwise.bytes / bandwidth;
  const double pw_compute = w.pointwise.flops / gemm;
  const double fused_memory = w.fused.bytes / bandwidth;
  fl.depthwise = std::max(dw_memory, dw_compute);
  fl.pointwise = std::max(pw_memory, pw_compute);
  fl.two_kernel = fl.depthwise + fl.pointwise;
  fl.fused = std::max({fused_memory, dw_compute, pw_compute});
  fl.depthwise_memory_bound = dw_memory >= dw_compute;
  fl.pointwise_memory_bound = pw_memory >= pw_compute;
  fl.fused_memory_bound = fused_memory >= std::max(dw_compute, pw_compute);
  return fl;
}

bool Selection::has(Stage stage) const {
  return std::find(stages.begin(), stages.end(), stage) != stages.end();
}

bool Selection::has(DataFormat format) const {
  return std::find(formats.begin(), formats.end(), format) != formats.end();
}

int rotation_copies(double bytes, double l2_bytes) {
  if (bytes <= 0) return 1;
  const double copies = std::ceil(3 * l2_bytes / bytes);
  return static_cast<int>(std::clamp(copies, 1.0, 64.0));
}

Timing summarize(std::vector<double> us) {
  Timing t;
  t.runs = static_cast<int>(us.size());
  if (us.empty()) return t;
  std::sort(us.begin(), us.end());
  const std::size_t n = us.size();
  t.median_us = n % 2 == 1 ? us[n / 2] : 0.5 * (us[n / 2 - 1] + us[n / 2]);
  t.min_us = us.front();
  t.max_us = us.back();
  return t;
}

}  // namespace sepconv::bench
