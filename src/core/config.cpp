#include "sepconv/config.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "detail/message.h"
#include "detail/checked_math.h"
#include "detail/stream.h"
#include "detail/views.h"

namespace sepconv {

using detail::fail;
using detail::str;

namespace {

void require_positive(std::string_view argument, std::int64_t value) {
  if (value <= 0) fail(argument, std::to_string(value), "a strictly positive integer");
}

// The axes of a rank-3 activation tensor for the data format.
struct Axes {
  int time;
  int channels;
};
Axes axes_of(DataFormat format) {
  return format == DataFormat::channels_last ? Axes{1, 2} : Axes{2, 1};
}

// The output length and padding of a validated config (the arithmetic of `geometry`).
Geometry geometry_of(const LayerConfig& c, std::int64_t length);
// The weight checks of a validated config.
void check_weights(const LayerConfig& c, DType dtype, std::int64_t in_channels, const Weights& w);

}  // namespace

void validate(const LayerConfig& c) {
  require_positive("filters", c.filters);
  require_positive("kernel_size", c.kernel_size);
  require_positive("strides", c.strides);
  require_positive("dilation_rate", c.dilation_rate);
  require_positive("depth_multiplier", c.depth_multiplier);
  if (c.strides > 1 && c.dilation_rate > 1) {
    fail("strides", str(c.strides, " together with dilation_rate ", c.dilation_rate),
         "strides == 1 when dilation_rate > 1 (Keras rejects strides > 1 with dilation_rate > 1)");
  }
  const auto max = std::numeric_limits<std::int64_t>::max();
  if (c.kernel_size > 1 && c.dilation_rate > (max - 1) / (c.kernel_size - 1)) {
    fail("dilation_rate", str(c.dilation_rate, " with kernel_size ", c.kernel_size),
         "an effective kernel size dilation_rate*(kernel_size-1)+1 that fits in 64 bits");
  }
  detail::checked_mul(c.filters, 1, "filters");
  detail::checked_mul(c.depth_multiplier, 1, "depth_multiplier");
}

std::int64_t effective_kernel_size(const LayerConfig& c) {
  validate(c);
  return c.dilation_rate * (c.kernel_size - 1) + 1;
}

Geometry geometry(const LayerConfig& c, std::int64_t length) {
  validate(c);
  return geometry_of(c, length);
}

namespace {

Geometry geometry_of(const LayerConfig& c, std::int64_t length) {
  Geometry g;
  g.effective_kernel = c.dilation_rate * (c.kernel_size - 1) + 1;
  if (length <= 0) fail("length", str(length, " steps"), "at least 1 input step");
  const std::int64_t s = c.strides;
  switch (c.padding) {
    case Padding::valid:
      if (length < g.effective_kernel) {
        fail("length",
             str(length, " steps with padding \"valid\" and effective kernel size ",
                 g.effective_kernel, " (dilation_rate*(kernel_size-1)+1)"),
             str("at least ", g.effective_kernel,
                 " steps: the output length would be zero or negative"));
      }
      g.out_length = (length - g.effective_kernel) / s + 1;
      break;
    case Padding::same: {
      g.out_length = length / s + (length % s != 0 ? 1 : 0);
      // ((Lout-1)*s - L) lies in (-s, 0], so adding effk afterwards cannot overflow.
      const std::int64_t total =
          std::max<std::int64_t>(((g.out_length - 1) * s - length) + g.effective_kernel, 0);
      g.pad.left = total / 2;
      g.pad.right = total - g.pad.left;
      break;
    }
    case Padding::causal:
      g.out_length = length / s + (length % s != 0 ? 1 : 0);
      g.pad.left = g.effective_kernel - 1;
      break;
  }
  return g;
}

}  // namespace

std::int64_t output_length(const LayerConfig& c, std::int64_t length) {
  return geometry(c, length).out_length;
}

std::array<std::int64_t, 3> input_shape(const LayerConfig& c, std::int64_t batch,
                                        std::int64_t length, std::int64_t in_channels) {
  return c.data_format == DataFormat::channels_last
             ? std::array<std::int64_t, 3>{batch, length, in_channels}
             : std::array<std::int64_t, 3>{batch, in_channels, length};
}

std::array<std::int64_t, 3> output_shape(const LayerConfig& c, std::int64_t batch,
                                         std::int64_t length) {
  const std::int64_t lout = output_length(c, length);
  return c.data_format == DataFormat::channels_last
             ? std::array<std::int64_t, 3>{batch, lout, c.filters}
             : std::array<std::int64_t, 3>{batch, c.filters, lout};
}

void validate(const Precision& p) {
  if (p.math == MathMode::tf32 && p.dtype != DType::f32 && !p.float32_intermediate) {
    fail("precision", str("math mode tf32 with dtype ", to_string(p.dtype)),
         "tf32 only for float32 GEMMs: float32 layers, or float16/bfloat16 layers with "
         "float32_intermediate (their own GEMMs always use half-precision tensor cores)");
  }
}

void validate_weights(const LayerConfig& c, DType dtype, std::int64_t in_channels,
                      const Weights& w) {
  validate(c);
  check_weights(c, dtype, in_channels, w);
}

namespace {

void check_weights(const LayerConfig& c, DType dtype, std::int64_t in_channels, const Weights& w) {
  require_positive("in_channels", in_channels);
  const std::int64_t cm = detail::checked_mul(in_channels, c.depth_multiplier, "depth_multiplier");
  detail::check_view("depthwise", w.depthwise, dtype, 3);
  detail::check_shape("depthwise", w.depthwise, {c.kernel_size, in_channels, c.depth_multiplier},
                      3, "= (kernel_size, in_channels, depth_multiplier)");
  detail::check_view("pointwise", w.pointwise, dtype, 3);
  detail::check_shape("pointwise", w.pointwise, {1, cm, c.filters}, 3,
                      "= (1, in_channels*depth_multiplier, filters)");
  if (c.use_bias) {
    if (w.bias.empty()) {
      fail("bias", "no bias", str("a bias of shape (", c.filters, ",) because use_bias is true"));
    }
    detail::check_view("bias", w.bias, dtype, 1);
    detail::check_shape("bias", w.bias, {c.filters, 0, 0}, 1, "= (filters,)");
  } else if (!w.bias.empty()) {
    fail("bias", str("a bias of shape ", detail::shape_string(w.bias)),
         "no bias (an empty view) because use_bias is false");
  }
}

}  // namespace

namespace {

// x's checks (dtype, rank, shape, the contiguous last axis): the shape of the problem, without
// its geometry (which depends on the call: a whole sequence, or a streaming chunk).
ProblemShape check_x(const LayerConfig& c, DType dtype, const ConstTensorView& x) {
  const Axes axes = axes_of(c.data_format);
  const char* layout = c.data_format == DataFormat::channels_last ? "(batch, steps, channels)"
                                                                  : "(batch, channels, steps)";
  detail::check_view("x", x, dtype, 3);
  ProblemShape p;
  p.batch = x.shape[0];
  p.length = x.shape[axes.time];
  p.in_channels = x.shape[axes.channels];
  if (p.in_channels <= 0) {
    fail("x", str("shape ", detail::shape_string(x), " with ", p.in_channels, " channels"),
         str("at least 1 channel in a ", layout, " tensor"));
  }
  if (p.length <= 0) {
    fail("x", str("shape ", detail::shape_string(x), " with ", p.length, " steps"),
         str("at least 1 step in a ", layout, " tensor"));
  }
  if (x.shape[2] > 1 && x.strides[2] != 1) {
    fail("x", str("strides ", detail::shape_string(x.strides, 3), " for shape ",
                  detail::shape_string(x)),
         str("stride 1 on the contiguous last axis of a ", layout, " tensor"));
  }
  return p;
}

}  // namespace

namespace detail {

ProblemShape check_input(const LayerConfig& c, DType dtype, const ConstTensorView& x) {
  ProblemShape p = check_x(c, dtype, x);
  p.geometry = geometry_of(c, p.length);
  return p;
}

void check_weights(const LayerConfig& c, DType dtype, std::int64_t in_channels, const Weights& w) {
  sepconv::check_weights(c, dtype, in_channels, w);
}

}  // namespace detail

namespace {

// The checks of one call (validate_forward, validate_chunk): x, the weights and y, with the output
// length and padding `geometry_for(length)` gives for x's steps.
template <class GeometryFor>
ProblemShape check_call(const LayerConfig& c, DType dtype, ConstTensorView x, const Weights& w,
                        TensorView y, GeometryFor&& geometry_for) {
  const char* layout = c.data_format == DataFormat::channels_last ? "(batch, steps, channels)"
                                                                  : "(batch, channels, steps)";
  ProblemShape p = check_x(c, dtype, x);
  p.geometry = geometry_for(p.length);
  check_weights(c, dtype, p.in_channels, w);

  const std::int64_t lout = p.geometry.out_length;
  const auto expected = c.data_format == DataFormat::channels_last
                            ? std::array<std::int64_t, 3>{p.batch, lout, c.filters}
                            : std::array<std::int64_t, 3>{p.batch, c.filters, lout};
  detail::check_view("y", y, dtype, 3);
  detail::check_shape("y", y, expected, 3,
                      c.data_format == DataFormat::channels_last ? "= (batch, out_steps, filters)"
                                                                 : "= (batch, filters, out_steps)");
  if (y.shape[2] > 1 && y.strides[2] != 1) {
    fail("y", str("strides ", detail::shape_string(y.strides, 3), " for shape ",
                  detail::shape_string(y)),
         str("stride 1 on the contiguous last axis of a ", layout, " tensor"));
  }
  if (!detail::elements_are_distinct(y)) {
    fail("y", str("strides ", detail::shape_string(y.strides, 3), " for shape ",
                  detail::shape_string(y)),
         "strides that give every output element its own address");
  }
  const auto out = detail::byte_range(y);
  const std::pair<const char*, ConstTensorView> inputs[] = {
      {"x", x}, {"depthwise", w.depthwise}, {"pointwise", w.pointwise}, {"bias", w.bias}};
  for (const auto& [name, view] : inputs) {
    if (out.overlaps(detail::byte_range(view))) {
      fail("y", str("an output that overlaps `", name, "` in memory"),
           str("an output disjoint from `", name, "`"));
    }
  }
  return p;
}

// Why a layer cannot stream, or nothing: same padding centres its windows (an output reads steps
// after its own), and softmax / log_softmax of a channels_first layer normalise along time.
void check_streamable(const LayerConfig& c) {
  if (c.padding == Padding::same) {
    fail("padding", "\"same\" for a stream",
         "\"causal\" or \"valid\": with \"same\" an output's window reaches past its own step "
         "and its padding depends on the whole sequence's length, which a stream does not know");
  }
  if (is_row_reduction(c.activation) && c.data_format == DataFormat::channels_first) {
    fail("activation", str(to_string(c.activation), " of a channels_first layer for a stream"),
         "an activation that does not reduce along time (channels_first softmax and log_softmax "
         "normalise over every output step of the sequence)");
  }
}

}  // namespace

ProblemShape validate_forward(const LayerConfig& c, DType dtype, ConstTensorView x,
                              const Weights& w, TensorView y) {
  validate(c);  // once: the rest of the call trusts the config
  return check_call(c, dtype, x, w, y, [&](std::int64_t length) { return geometry_of(c, length); });
}

// ---- streaming ------------------------------------------------------------------------------------

std::int64_t stream_history(const LayerConfig& c) {
  validate(c);
  return c.dilation_rate * (c.kernel_size - 1);
}

ChunkGeometry chunk_geometry(const LayerConfig& c, std::int64_t position, std::int64_t steps) {
  validate(c);
  check_streamable(c);
  if (position < 0) fail("position", std::to_string(position), "a stream position >= 0");
  if (steps <= 0) fail("steps", std::to_string(steps), "a chunk of at least 1 step");
  const std::int64_t history = c.dilation_rate * (c.kernel_size - 1);
  const std::int64_t s = c.strides;
  // Output t's window ends at input step t*s + last: 0 for causal (its padding is the history),
  // d*(k-1) for valid. The chunk produces the outputs whose windows end inside it.
  const std::int64_t last = c.padding == Padding::valid ? history : 0;
  const std::int64_t end = detail::checked_add(position, steps, "steps");
  auto first_ending_at_or_after = [&](std::int64_t step) {
    const std::int64_t from = std::max<std::int64_t>(step - last, 0);
    return from / s + (from % s != 0 ? 1 : 0);
  };
  ChunkGeometry g;
  g.first_output = first_ending_at_or_after(position);
  g.out_length = first_ending_at_or_after(end) - g.first_output;
  g.window_start = g.first_output * s + last - history - position;
  return g;
}

ProblemShape validate_chunk(const LayerConfig& c, DType dtype, ConstTensorView x,
                            const Weights& w, TensorView y, std::int64_t position) {
  validate(c);
  check_streamable(c);
  return check_call(c, dtype, x, w, y, [&](std::int64_t length) {
    return detail::chunk_shape(c, 0, 0, position, length).geometry;
  });
}

}  // namespace sepconv
