#include "sepconv/types.h"

#include <array>
#include <cctype>
#include <string>

#include "detail/activations.h"
#include "detail/message.h"

namespace sepconv {

std::size_t dtype_size(DType dtype) noexcept { return dtype == DType::f32 ? 4 : 2; }

std::string_view to_string(DType dtype) noexcept {
  switch (dtype) {
    case DType::f32: return "float32";
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
  }
  return "?";
}

std::string_view to_string(MathMode mode) noexcept {
  return mode == MathMode::exact ? "exact" : "tf32";
}

std::string_view to_string(Padding padding) noexcept {
  switch (padding) {
    case Padding::valid: return "valid";
    case Padding::same: return "same";
    case Padding::causal: return "causal";
  }
  return "?";
}

std::string_view to_string(DataFormat data_format) noexcept {
  return data_format == DataFormat::channels_last ? "channels_last" : "channels_first";
}

namespace {

std::string lower(std::string_view text) {
  std::string s(text);
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string quoted(std::string_view text) { return detail::str('"', text, '"'); }

}  // namespace

std::string_view to_string(Activation activation) noexcept {
  const auto i = static_cast<std::size_t>(activation);
  return i < detail::kActivations.size() ? detail::kActivations[i].name : "?";
}

Padding parse_padding(std::string_view text) {
  const std::string s = lower(text);
  if (s == "valid") return Padding::valid;
  if (s == "same") return Padding::same;
  if (s == "causal") return Padding::causal;
  detail::fail("padding", quoted(text), "one of \"valid\", \"same\", \"causal\" (any case)");
}

DataFormat parse_data_format(std::string_view text) {
  const std::string s = lower(text);
  if (s == "channels_last") return DataFormat::channels_last;
  if (s == "channels_first") return DataFormat::channels_first;
  detail::fail("data_format", quoted(text), "\"channels_last\" or \"channels_first\"");
}

Activation parse_activation(std::string_view text) {
  for (std::size_t i = 0; i < detail::kActivations.size(); ++i) {
    if (text == detail::kActivations[i].name) return static_cast<Activation>(i);
  }
  if (text == "swish") return Activation::silu;
  if (text == "hard_swish") return Activation::hard_silu;
  if (text == "glu") {
    detail::fail("activation", quoted(text),
                 "an elementwise activation: glu halves the last axis and changes the shape");
  }
  if (text == "threshold") {
    detail::fail("activation", quoted(text),
                 "an activation usable as a string: threshold needs two extra arguments");
  }
  if (text == "sparsemax") {
    detail::fail("activation", quoted(text), "a supported activation: sparsemax is not supported");
  }
  std::string names;
  for (const auto& a : detail::kActivations) names += detail::str(names.empty() ? "" : ", ", a.name);
  detail::fail("activation", quoted(text),
               detail::str("one of ", names, " (or the aliases swish, hard_swish)"));
}

}  // namespace sepconv
