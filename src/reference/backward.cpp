// The CPU reference backward: docs/semantics.md ("Gradients"), in float64, written for clarity.
// The linear part (everything after dz) runs twice over the same loops: once on the values, once
// on their magnitudes (absolute values, with the depthwise result's and dz's own magnitudes), which
// is what the gradient accuracy rule scales each gradient's error with.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "detail/activations.h"
#include "detail/elements.h"
#include "detail/message.h"
#include "detail/views.h"
#include "sepconv/reference.h"

namespace sepconv::reference {
namespace {

using detail::load_element;

// The problem's extents, and offsets into the canonical float64 arrays:
//   x[b][l][c], dw[j][c][m], pw[q][f], mid[b][t][q], dz[b][t][f]   (q = c*M + m)
struct Dims {
  std::int64_t batch, length, channels, multiplier, filters, taps, strides, dilation, pad_left,
      out_length;
  [[nodiscard]] std::int64_t mid_channels() const { return channels * multiplier; }
  [[nodiscard]] std::int64_t x(std::int64_t b, std::int64_t l, std::int64_t c) const {
    return (b * length + l) * channels + c;
  }
  [[nodiscard]] std::int64_t dw(std::int64_t j, std::int64_t c, std::int64_t m) const {
    return (j * channels + c) * multiplier + m;
  }
  [[nodiscard]] std::int64_t mid(std::int64_t b, std::int64_t t, std::int64_t q) const {
    return (b * out_length + t) * mid_channels() + q;
  }
  [[nodiscard]] std::int64_t z(std::int64_t b, std::int64_t t, std::int64_t f) const {
    return (b * out_length + t) * filters + f;
  }
  /// Input step that output step t reads with tap j (may be padding: outside [0, length)).
  [[nodiscard]] std::int64_t input_step(std::int64_t t, std::int64_t j) const {
    return t * strides + j * dilation - pad_left;
  }
};

struct Linear {
  std::vector<double> dx, ddw, dpw, dbias;
};

// Everything after dz, for one set of arrays (values, or magnitudes):
//   dbias[f]      = sum_{b,t} dz[b,t,f]
//   dpw[q,f]      = sum_{b,t} mid[b,t,q] dz[b,t,f]
//   dmid[b,t,q]   = sum_f pw[q,f] dz[b,t,f]
//   ddw[j,c,m]    = sum_{b,t} dmid[b,t,cM+m] x[b, t*s + j*d - pad_left, c]   (inside the input)
//   dx[b,l,c]     = sum over (t, j, m) with t*s + j*d - pad_left = l of dw[j,c,m] dmid[b,t,cM+m]
Linear linear_backward(const Dims& n, const std::vector<double>& x, const std::vector<double>& dw,
                       const std::vector<double>& pw, const std::vector<double>& mid,
                       const std::vector<double>& dz, bool trainable, bool use_bias) {
  const std::int64_t cm = n.mid_channels();
  std::vector<double> dmid(static_cast<std::size_t>(n.batch * n.out_length * cm), 0.0);
  for (std::int64_t b = 0; b < n.batch; ++b) {
    for (std::int64_t t = 0; t < n.out_length; ++t) {
      for (std::int64_t q = 0; q < cm; ++q) {
        double sum = 0;
        for (std::int64_t f = 0; f < n.filters; ++f)
          sum += pw[q * n.filters + f] * dz[n.z(b, t, f)];
        dmid[n.mid(b, t, q)] = sum;
      }
    }
  }
  Linear r;
  r.dx.assign(static_cast<std::size_t>(n.batch * n.length * n.channels), 0.0);
  for (std::int64_t b = 0; b < n.batch; ++b) {
    for (std::int64_t t = 0; t < n.out_length; ++t) {
      for (std::int64_t j = 0; j < n.taps; ++j) {
        const std::int64_t l = n.input_step(t, j);
        if (l < 0 || l >= n.length) continue;  // padding: no input element
        for (std::int64_t c = 0; c < n.channels; ++c) {
          for (std::int64_t m = 0; m < n.multiplier; ++m) {
            r.dx[n.x(b, l, c)] += dw[n.dw(j, c, m)] * dmid[n.mid(b, t, c * n.multiplier + m)];
          }
        }
      }
    }
  }
  if (!trainable) return r;
  r.ddw.assign(static_cast<std::size_t>(n.taps * cm), 0.0);
  for (std::int64_t j = 0; j < n.taps; ++j) {
    for (std::int64_t c = 0; c < n.channels; ++c) {
      for (std::int64_t m = 0; m < n.multiplier; ++m) {
        double sum = 0;
        for (std::int64_t b = 0; b < n.batch; ++b) {
          for (std::int64_t t = 0; t < n.out_length; ++t) {
            const std::int64_t l = n.input_step(t, j);
            if (l < 0 || l >= n.length) continue;
            sum += dmid[n.mid(b, t, c * n.multiplier + m)] * x[n.x(b, l, c)];
          }
        }
        r.ddw[n.dw(j, c, m)] = sum;
      }
    }
  }
  r.dpw.assign(static_cast<std::size_t>(cm * n.filters), 0.0);
  for (std::int64_t q = 0; q < cm; ++q) {
    for (std::int64_t f = 0; f < n.filters; ++f) {
      double sum = 0;
      for (std::int64_t b = 0; b < n.batch; ++b) {
        for (std::int64_t t = 0; t < n.out_length; ++t)
          sum += mid[n.mid(b, t, q)] * dz[n.z(b, t, f)];
      }
      r.dpw[q * n.filters + f] = sum;
    }
  }
  if (use_bias) {
    r.dbias.assign(static_cast<std::size_t>(n.filters), 0.0);
    for (std::int64_t f = 0; f < n.filters; ++f) {
      double sum = 0;
      for (std::int64_t b = 0; b < n.batch; ++b) {
        for (std::int64_t t = 0; t < n.out_length; ++t) sum += dz[n.z(b, t, f)];
      }
      r.dbias[f] = sum;
    }
  }
  return r;
}

// Reads an activation-shaped view (x: (B, L, C) / (B, C, L); y-shaped: (B, Lout, F) /
// (B, F, Lout)) into a canonical [b][step][channel] array.
std::vector<double> canonical(const ConstTensorView& v, DataFormat format, std::int64_t batch,
                              std::int64_t steps, std::int64_t channels) {
  std::vector<double> out(static_cast<std::size_t>(batch * steps * channels));
  const bool last = format == DataFormat::channels_last;
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t t = 0; t < steps; ++t) {
      for (std::int64_t c = 0; c < channels; ++c) {
        out[static_cast<std::size_t>((b * steps + t) * channels + c)] =
            load_element(v.data, v.dtype, last ? v.offset(b, t, c) : v.offset(b, c, t));
      }
    }
  }
  return out;
}

// A canonical [b][step][channel] array in the format's layout (row-major).
std::vector<double> in_layout(const std::vector<double>& a, DataFormat format, std::int64_t batch,
                              std::int64_t steps, std::int64_t channels) {
  if (format == DataFormat::channels_last) return a;
  std::vector<double> out(a.size());
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t t = 0; t < steps; ++t) {
      for (std::int64_t c = 0; c < channels; ++c) {
        out[static_cast<std::size_t>((b * channels + c) * steps + t)] =
            a[static_cast<std::size_t>((b * steps + t) * channels + c)];
      }
    }
  }
  return out;
}

// dz and its magnitude from z and dy (canonical [b][t][f]): elementwise, or along the rows of y's
// last axis (filters for channels_last, time for channels_first) for softmax / log_softmax.
void activation_backward(const LayerConfig& c, const Dims& n, const std::vector<double>& z,
                         const std::vector<double>& dy, std::vector<double>& dz,
                         std::vector<double>& magnitude) {
  dz.assign(z.size(), 0.0);
  magnitude.assign(z.size(), 0.0);
  const auto& info = detail::activation_info(c.activation);
  if (!info.row_reduction) {
    for (std::size_t i = 0; i < z.size(); ++i) {
      const double slope = info.reference_derivative(z[i]);
      dz[i] = dy[i] * slope;
      magnitude[i] = std::fabs(dy[i]) * info.derivative_scale(z[i], slope);
    }
    return;
  }
  // Rows: `count` of them, `length` elements `stride` apart starting at first(row).
  const bool time_rows = c.data_format == DataFormat::channels_first;
  const std::int64_t count = time_rows ? n.batch * n.filters : n.batch * n.out_length;
  const std::int64_t length = time_rows ? n.out_length : n.filters;
  const std::int64_t stride = time_rows ? n.filters : 1;
  auto first = [&](std::int64_t row) {
    return time_rows ? n.z(row / n.filters, 0, row % n.filters) : row * n.filters;
  };
  std::vector<double> p(static_cast<std::size_t>(length));
  for (std::int64_t row = 0; row < count; ++row) {
    const std::int64_t at = first(row);
    auto idx = [&](std::int64_t i) { return static_cast<std::size_t>(at + i * stride); };
    double top = -INFINITY;
    for (std::int64_t i = 0; i < length; ++i) top = std::max(top, z[idx(i)]);
    double sum = 0;
    for (std::int64_t i = 0; i < length; ++i) sum += std::exp(z[idx(i)] - top);
    double weighted = 0;      // softmax: sum_j p_j dy_j; log_softmax: sum_j dy_j
    double weighted_abs = 0;  // the same with |dy_j|
    for (std::int64_t i = 0; i < length; ++i) {
      p[static_cast<std::size_t>(i)] = std::exp(z[idx(i)] - top) / sum;
      const double w = c.activation == Activation::softmax ? p[static_cast<std::size_t>(i)] : 1.0;
      weighted += w * dy[idx(i)];
      weighted_abs += w * std::fabs(dy[idx(i)]);
    }
    for (std::int64_t i = 0; i < length; ++i) {
      const double pi = p[static_cast<std::size_t>(i)];
      const double g = dy[idx(i)];
      if (c.activation == Activation::softmax) {
        dz[idx(i)] = pi * (g - weighted);
        magnitude[idx(i)] = pi * (std::fabs(g) + weighted_abs);
      } else {
        dz[idx(i)] = g - pi * weighted;
        magnitude[idx(i)] = std::fabs(g) + pi * weighted_abs;
      }
    }
  }
}

std::vector<double> absolute(std::vector<double> v) {
  for (double& e : v) e = std::fabs(e);
  return v;
}

void store(const TensorView& view, const std::vector<double>& values) {
  std::int64_t i = 0;
  for (std::int64_t a = 0; a < view.shape[0]; ++a) {
    for (std::int64_t b = 0; b < (view.rank > 1 ? view.shape[1] : 1); ++b) {
      for (std::int64_t c = 0; c < (view.rank > 2 ? view.shape[2] : 1); ++c) {
        detail::store_element(view.data, view.dtype, view.offset(a, b, c),
                              values[static_cast<std::size_t>(i++)]);
      }
    }
  }
}

}  // namespace

GradientDetail backward_detail(const LayerConfig& config, ConstTensorView x, const Weights& w,
                               ConstTensorView dy, const BackwardOptions& options) {
  const ProblemShape p = detail::check_backward_inputs(config, x.dtype, x, w, dy);
  Dims n{p.batch,
         p.length,
         p.in_channels,
         config.depth_multiplier,
         config.filters,
         config.kernel_size,
         config.strides,
         config.dilation_rate,
         p.geometry.pad.left,
         p.geometry.out_length};
  const DataFormat format = config.data_format;
  const auto out = output_shape(config, p.batch, p.length);
  if (!options.preactivation.empty()) {
    detail::check_view("preactivation", options.preactivation, options.preactivation.dtype, 3);
    detail::check_shape("preactivation", options.preactivation, out, 3, "= the output's shape");
  }
  // z: given, or the reference forward's.
  std::vector<double> z;
  if (!options.preactivation.empty()) {
    z = canonical(options.preactivation, format, n.batch, n.out_length, n.filters);
  } else {
    const Detail d = forward_detail(config, x, w);
    z.resize(d.preactivation.size());
    for (std::int64_t b = 0; b < n.batch; ++b) {
      for (std::int64_t t = 0; t < n.out_length; ++t) {
        for (std::int64_t f = 0; f < n.filters; ++f) {
          z[static_cast<std::size_t>(n.z(b, t, f))] = d.preactivation[d.index(b, t, f)];
        }
      }
    }
  }
  std::vector<double> dz, dz_magnitude;
  activation_backward(config, n, z, canonical(dy, format, n.batch, n.out_length, n.filters), dz,
                      dz_magnitude);

  // The weights and x as canonical arrays, the depthwise result and its term magnitudes.
  const std::int64_t cm = n.mid_channels();
  std::vector<double> dw(static_cast<std::size_t>(n.taps * cm));
  for (std::int64_t j = 0; j < n.taps; ++j) {
    for (std::int64_t c = 0; c < n.channels; ++c) {
      for (std::int64_t m = 0; m < n.multiplier; ++m) {
        dw[n.dw(j, c, m)] =
            load_element(w.depthwise.data, w.depthwise.dtype, w.depthwise.offset(j, c, m));
      }
    }
  }
  std::vector<double> pw(static_cast<std::size_t>(cm * n.filters));
  for (std::int64_t q = 0; q < cm; ++q) {
    for (std::int64_t f = 0; f < n.filters; ++f) {
      pw[q * n.filters + f] =
          load_element(w.pointwise.data, w.pointwise.dtype, w.pointwise.offset(0, q, f));
    }
  }
  const std::vector<double> xs = canonical(x, format, n.batch, n.length, n.channels);
  std::vector<double> mid, mid_magnitude;
  if (options.trainable) {  // dpw needs the depthwise result
    const Intermediate d = depthwise(config, x, w.depthwise);
    mid = d.mid;
    mid_magnitude = d.abs_sum;
  }

  const Linear value = linear_backward(n, xs, dw, pw, mid, dz, options.trainable, config.use_bias);
  const Linear size = linear_backward(n, absolute(xs), absolute(dw), absolute(pw), mid_magnitude,
                                      dz_magnitude, options.trainable, config.use_bias);
  GradientDetail g;
  g.input = in_layout(value.dx, format, n.batch, n.length, n.channels);
  g.input_magnitude = in_layout(size.dx, format, n.batch, n.length, n.channels);
  g.depthwise = value.ddw;
  g.depthwise_magnitude = size.ddw;
  g.pointwise = value.dpw;
  g.pointwise_magnitude = size.dpw;
  g.bias = value.dbias;
  g.bias_magnitude = size.dbias;
  g.preactivation_gradient = in_layout(dz, format, n.batch, n.out_length, n.filters);
  return g;
}

void backward(const LayerConfig& config, ConstTensorView x, const Weights& weights,
              ConstTensorView dy, const Gradients& gradients, bool trainable) {
  validate_backward(config, x.dtype, x, weights, dy, gradients, trainable);
  BackwardOptions options;
  options.trainable = trainable;
  const GradientDetail g = backward_detail(config, x, weights, dy, options);
  store(gradients.input, g.input);
  if (!trainable) return;
  store(gradients.depthwise, g.depthwise);
  store(gradients.pointwise, g.pointwise);
  if (config.use_bias) store(gradients.bias, g.bias);
}

}  // namespace sepconv::reference
