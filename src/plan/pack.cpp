#include "plan/pack.h"

#include "detail/elements.h"

namespace sepconv::detail {

std::vector<unsigned char> pack_depthwise(const LayerConfig& c, std::int64_t in_channels,
                                          ConstTensorView dw) {
  const std::int64_t C = in_channels;
  const std::int64_t M = c.depth_multiplier;
  const std::int64_t k = c.kernel_size;
  const auto e = static_cast<std::int64_t>(dtype_size(dw.dtype));
  std::vector<unsigned char> out(static_cast<std::size_t>(M * k * C * e));
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t j = 0; j < k; ++j)
      for (std::int64_t ch = 0; ch < C; ++ch) {
        const double v = load_element(dw.data, dw.dtype, dw.offset(j, ch, m));
        store_element(out.data(), dw.dtype, (m * k + j) * C + ch, v);
      }
  return out;
}

std::vector<unsigned char> pack_pointwise(const LayerConfig& c, std::int64_t in_channels,
                                          ConstTensorView pw, ConstTensorView bias,
                                          BiasMode bias_mode, DType out_dtype) {
  const std::int64_t C = in_channels;
  const std::int64_t M = c.depth_multiplier;
  const std::int64_t F = c.filters;
  const bool ones = bias_mode == BiasMode::ones_row;
  const std::int64_t rows = C * M + (ones ? 1 : 0);
  const auto e = static_cast<std::int64_t>(dtype_size(out_dtype));
  std::vector<unsigned char> out(static_cast<std::size_t>(rows * F * e));
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t ch = 0; ch < C; ++ch)
      for (std::int64_t f = 0; f < F; ++f) {
        const double v = load_element(pw.data, pw.dtype, pw.offset(0, ch * M + m, f));
        store_element(out.data(), out_dtype, (m * C + ch) * F + f, v);
      }
  if (ones) {
    for (std::int64_t f = 0; f < F; ++f) {
      store_element(out.data(), out_dtype, C * M * F + f,
                    load_element(bias.data, bias.dtype, bias.offset(f)));
    }
  }
  return out;
}

}  // namespace sepconv::detail
