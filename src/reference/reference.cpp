// The CPU reference: docs/semantics.md (the forward pass, padding, activations), in float64, written for clarity.
#include "sepconv/reference.h"

#include <algorithm>
#include <cmath>

#include "detail/activations.h"
#include "detail/message.h"
#include "detail/views.h"
#include "detail/elements.h"

namespace sepconv::reference {
namespace {

using detail::fail;
using detail::load_element;
using detail::str;

// Element accessors for the Keras layouts; views may be strided.
struct Input {
  ConstTensorView view;
  DataFormat format;
  double at(std::int64_t b, std::int64_t t, std::int64_t c) const {
    const std::int64_t off = format == DataFormat::channels_last ? view.offset(b, t, c)
                                                                 : view.offset(b, c, t);
    return load_element(view.data, view.dtype, off);
  }
};

double at(const ConstTensorView& v, std::int64_t i0, std::int64_t i1 = 0, std::int64_t i2 = 0) {
  return load_element(v.data, v.dtype, v.offset(i0, i1, i2));
}

// Resolves -1 counts and checks the window against the output extents.
Window resolve(const Window& w, std::int64_t batch, std::int64_t out_length) {
  Window r = w;
  if (r.batch_count < 0) r.batch_count = batch - r.batch_begin;
  if (r.time_count < 0) r.time_count = out_length - r.time_begin;
  if (r.batch_begin < 0 || r.batch_count < 0 || r.batch_begin > batch ||
      r.batch_count > batch - r.batch_begin) {
    fail("window", str("batches [", w.batch_begin, ", +", w.batch_count, ")"),
         str("a range inside [0, ", batch, ")"));
  }
  if (r.time_begin < 0 || r.time_count < 0 || r.time_begin > out_length ||
      r.time_count > out_length - r.time_begin) {
    fail("window", str("output steps [", w.time_begin, ", +", w.time_count, ")"),
         str("a range inside [0, ", out_length, ")"));
  }
  return r;
}

ProblemShape check_input(const LayerConfig& config, const ConstTensorView& x) {
  validate(config);
  detail::check_view("x", x, x.dtype, 3);
  ProblemShape p;
  const bool last = config.data_format == DataFormat::channels_last;
  p.batch = x.shape[0];
  p.length = x.shape[last ? 1 : 2];
  p.in_channels = x.shape[last ? 2 : 1];
  if (p.in_channels <= 0) fail("x", str("shape ", detail::shape_string(x)), "at least 1 channel");
  p.geometry = geometry(config, p.length);
  return p;
}

Intermediate depthwise_window(const LayerConfig& config, const ProblemShape& p,
                              const ConstTensorView& x, const ConstTensorView& dw,
                              const Window& window) {
  const Input in{x, config.data_format};
  const std::int64_t M = config.depth_multiplier;
  Intermediate r;
  r.window = window;
  r.mid_channels = p.in_channels * M;
  const auto size = static_cast<std::size_t>(window.batch_count * window.time_count *
                                             r.mid_channels);
  r.mid.assign(size, 0.0);
  r.abs_sum.assign(size, 0.0);
  for (std::int64_t b = 0; b < window.batch_count; ++b) {
    for (std::int64_t t = 0; t < window.time_count; ++t) {
      // Output step t reads padded positions (t*s + j*d); padded position p is input p - left.
      const std::int64_t first = (window.time_begin + t) * config.strides - p.geometry.pad.left;
      for (std::int64_t c = 0; c < p.in_channels; ++c) {
        for (std::int64_t m = 0; m < M; ++m) {
          double sum = 0;
          double abs_sum = 0;
          for (std::int64_t j = 0; j < config.kernel_size; ++j) {
            const std::int64_t pos = first + j * config.dilation_rate;
            if (pos < 0 || pos >= p.length) continue;  // zero padding
            const double term = at(dw, j, c, m) * in.at(window.batch_begin + b, pos, c);
            sum += term;
            abs_sum += std::fabs(term);
          }
          const std::int64_t i = r.index(b, t, c * M + m);  // q = c*M + m
          r.mid[i] = sum;
          r.abs_sum[i] = abs_sum;
        }
      }
    }
  }
  return r;
}

// softmax or log_softmax over `n` values spaced `stride` apart, in place.
void row_activation(Activation a, double* z, std::int64_t n, std::int64_t stride) {
  double top = -INFINITY;
  for (std::int64_t i = 0; i < n; ++i) top = std::max(top, z[i * stride]);
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += std::exp(z[i * stride] - top);
  const double log_sum = std::log(sum);
  for (std::int64_t i = 0; i < n; ++i) {
    const double shifted = z[i * stride] - top;
    z[i * stride] = a == Activation::softmax ? std::exp(shifted) / sum : shifted - log_sum;
  }
}

}  // namespace

double activation(Activation a, double z) {
  const auto& entry = detail::activation_info(a);
  if (entry.row_reduction) detail::fail_not_elementwise(a);
  return entry.reference(z);
}

Intermediate depthwise(const LayerConfig& config, ConstTensorView x, ConstTensorView dw,
                       const Window& window) {
  const ProblemShape p = check_input(config, x);
  detail::check_view("depthwise", dw, dw.dtype, 3);
  detail::check_shape("depthwise", dw,
                      {config.kernel_size, p.in_channels, config.depth_multiplier}, 3,
                      "= (kernel_size, in_channels, depth_multiplier)");
  return depthwise_window(config, p, x, dw,
                          resolve(window, p.batch, p.geometry.out_length));
}

Detail forward_detail(const LayerConfig& config, ConstTensorView x, const Weights& weights,
                      const Window& window) {
  const ProblemShape p = check_input(config, x);
  validate_weights(config, x.dtype, p.in_channels, weights);
  const Window win = resolve(window, p.batch, p.geometry.out_length);
  const bool time_rows = config.data_format == DataFormat::channels_first;
  if (is_row_reduction(config.activation) && time_rows &&
      win.time_count != p.geometry.out_length) {
    fail("window", str("output steps [", win.time_begin, ", +", win.time_count, ")"),
         str("all ", p.geometry.out_length,
             " output steps: softmax/log_softmax of a channels_first layer reduce along time"));
  }
  const Intermediate mid = depthwise_window(config, p, x, weights.depthwise, win);

  Detail d;
  d.window = win;
  d.filters = config.filters;
  d.data_format = config.data_format;
  const auto size = static_cast<std::size_t>(win.batch_count * win.time_count * config.filters);
  d.preactivation.assign(size, 0.0);
  d.magnitude.assign(size, 0.0);
  for (std::int64_t b = 0; b < win.batch_count; ++b) {
    for (std::int64_t t = 0; t < win.time_count; ++t) {
      for (std::int64_t f = 0; f < config.filters; ++f) {
        double z = 0;
        double s = 0;
        for (std::int64_t q = 0; q < mid.mid_channels; ++q) {
          const double pw = at(weights.pointwise, 0, q, f);
          z += mid.mid[mid.index(b, t, q)] * pw;
          s += std::fabs(pw) * mid.abs_sum[mid.index(b, t, q)];
        }
        if (config.use_bias) {
          const double bias = at(weights.bias, f);
          z += bias;
          s += std::fabs(bias);
        }
        d.preactivation[d.index(b, t, f)] = z;
        d.magnitude[d.index(b, t, f)] = s;
      }
    }
  }

  d.output = d.preactivation;
  if (!is_row_reduction(config.activation)) {
    for (double& v : d.output) v = activation(config.activation, v);
  } else if (!time_rows) {  // rows along filters, contiguous in the detail arrays
    for (std::int64_t r = 0; r < win.batch_count * win.time_count; ++r) {
      row_activation(config.activation, &d.output[r * config.filters], config.filters, 1);
    }
  } else {  // rows along time
    for (std::int64_t r = 0; r < win.batch_count * config.filters; ++r) {
      row_activation(config.activation, &d.output[r * win.time_count], win.time_count, 1);
    }
  }
  return d;
}

void forward(const LayerConfig& config, ConstTensorView x, const Weights& weights,
             TensorView y) {
  const ProblemShape p = validate_forward(config, x.dtype, x, weights, y);
  // One batch at a time keeps the float64 scratch bounded by one sample.
  for (std::int64_t b = 0; b < p.batch; ++b) {
    const Detail d = forward_detail(config, x, weights, Window{b, 1, 0, -1});
    for (std::int64_t t = 0; t < p.geometry.out_length; ++t) {
      for (std::int64_t f = 0; f < config.filters; ++f) {
        const std::int64_t off = config.data_format == DataFormat::channels_last
                                     ? y.offset(b, t, f)
                                     : y.offset(b, f, t);
        detail::store_element(y.data, y.dtype, off, d.output[d.index(0, t, f)]);
      }
    }
  }
}

}  // namespace sepconv::reference
