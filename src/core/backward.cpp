// The backward pass's validation (sepconv/backward.h): once per call, before any work.
#include "sepconv/backward.h"

#include <utility>

#include "detail/message.h"
#include "detail/views.h"

namespace sepconv {

using detail::fail;
using detail::str;

namespace {

const char* layout_of(DataFormat format, const char* what) {
  if (format == DataFormat::channels_last) {
    return std::string_view(what) == "x" ? "(batch, steps, channels)"
                                         : "(batch, out_steps, filters)";
  }
  return std::string_view(what) == "x" ? "(batch, channels, steps)" : "(batch, filters, out_steps)";
}

// An activation-shaped view (dy or dx): its dtype, shape and unit stride on the last axis.
void check_activation_view(std::string_view name, const ConstTensorView& v, DType dtype,
                           const std::array<std::int64_t, 3>& shape, const char* layout) {
  detail::check_view(name, v, dtype, 3);
  detail::check_shape(name, v, shape, 3, str("= ", layout));
  if (v.shape[2] > 1 && v.strides[2] != 1) {
    fail(
        name,
        str("strides ", detail::shape_string(v.strides, 3), " for shape ", detail::shape_string(v)),
        str("stride 1 on the contiguous last axis of a ", layout, " tensor"));
  }
}

// A weight gradient: float32 whatever the layer's dtype, of the weight's shape.
void check_weight_gradient(std::string_view name, const ConstTensorView& v, int rank,
                           const std::array<std::int64_t, 3>& shape, const char* meaning) {
  if (v.dtype != DType::f32) {
    fail(name, str("dtype ", to_string(v.dtype)),
         "dtype float32 (weight gradients are float32 whatever the layer's dtype, as Keras keeps "
         "its variables)");
  }
  detail::check_view(name, v, DType::f32, rank);
  detail::check_shape(name, v, shape, rank, meaning);
}

}  // namespace

ProblemShape detail::check_backward_inputs(const LayerConfig& c, DType dtype,
                                           const ConstTensorView& x, const Weights& w,
                                           const ConstTensorView& dy) {
  validate(c);
  const ProblemShape p = check_input(c, dtype, x);
  check_weights(c, dtype, p.in_channels, w);
  check_activation_view("dy", dy, dtype, output_shape(c, p.batch, p.length),
                        layout_of(c.data_format, "y"));
  return p;
}

ProblemShape validate_backward(const LayerConfig& c, DType dtype, ConstTensorView x,
                               const Weights& w, ConstTensorView dy, const Gradients& g,
                               bool trainable) {
  const ProblemShape p = detail::check_backward_inputs(c, dtype, x, w, dy);
  check_activation_view("grad_input", g.input, dtype,
                        input_shape(c, p.batch, p.length, p.in_channels),
                        layout_of(c.data_format, "x"));
  std::pair<const char*, ConstTensorView> outputs[4] = {{"grad_input", g.input}, {}, {}, {}};
  int count = 1;
  if (trainable) {
    const std::int64_t cm = p.mid_channels(c);
    check_weight_gradient("grad_depthwise", g.depthwise, 3,
                          {c.kernel_size, p.in_channels, c.depth_multiplier},
                          "= (kernel_size, in_channels, depth_multiplier)");
    check_weight_gradient("grad_pointwise", g.pointwise, 3, {1, cm, c.filters},
                          "= (1, in_channels*depth_multiplier, filters)");
    outputs[count++] = {"grad_depthwise", g.depthwise};
    outputs[count++] = {"grad_pointwise", g.pointwise};
    if (c.use_bias) {
      if (g.bias.empty()) {
        fail("grad_bias", "no view",
             str("a view of shape (", c.filters, ",) because use_bias is true"));
      }
      check_weight_gradient("grad_bias", g.bias, 1, {c.filters, 0, 0}, "= (filters,)");
      outputs[count++] = {"grad_bias", g.bias};
    } else if (!g.bias.empty()) {
      fail("grad_bias", str("a view of shape ", detail::shape_string(g.bias)),
           "no view (an empty one) because use_bias is false");
    }
  } else {
    for (const auto& [name, v] :
         {std::pair<const char*, ConstTensorView>{"grad_depthwise", g.depthwise},
          {"grad_pointwise", g.pointwise},
          {"grad_bias", g.bias}}) {
      if (!v.empty()) {
        fail(name, str("a view of shape ", detail::shape_string(v)),
             "no view (an empty one): a layer that is not trainable computes dx only");
      }
    }
  }
  // Outputs: each element its own address, and disjoint from every input and each other.
  const std::pair<const char*, ConstTensorView> inputs[] = {{"x", x},
                                                            {"dy", dy},
                                                            {"depthwise", w.depthwise},
                                                            {"pointwise", w.pointwise},
                                                            {"bias", w.bias}};
  for (int i = 0; i < count; ++i) {
    const auto& [name, view] = outputs[i];
    if (!detail::elements_are_distinct(view)) {
      fail(name,
           str("strides ", detail::shape_string(view.strides, view.rank), " for shape ",
               detail::shape_string(view)),
           "strides that give every element its own address");
    }
    const auto range = detail::byte_range(view);
    for (const auto& [other, in] : inputs) {
      if (range.overlaps(detail::byte_range(in))) {
        fail(name, str("a view that overlaps `", other, "` in memory"),
             str("a gradient disjoint from `", other, "`"));
      }
    }
    for (int j = 0; j < i; ++j) {
      if (range.overlaps(detail::byte_range(outputs[j].second))) {
        fail(name, str("a view that overlaps `", outputs[j].first, "` in memory"),
             str("a gradient disjoint from `", outputs[j].first, "`"));
      }
    }
  }
  return p;
}

}  // namespace sepconv
