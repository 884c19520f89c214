// LayerConfig, string parsing and the shape arithmetic of docs/semantics.md ("Output length and padding").
#include <gtest/gtest.h>

#include <limits>

#include "sepconv/config.h"
#include "sepconv/error.h"

namespace sepconv {
namespace {

LayerConfig make(std::int64_t k, std::int64_t s, std::int64_t d, Padding p) {
  LayerConfig c;
  c.filters = 1;
  c.kernel_size = k;
  c.strides = s;
  c.dilation_rate = d;
  c.padding = p;
  return c;
}

// Expects `fn` to throw InvalidArgument naming `argument`, and returns the message.
template <class Fn>
std::string expect_invalid(const std::string& argument, Fn&& fn) {
  try {
    fn();
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), argument) << e.what();
    EXPECT_NE(std::string(e.what()).find("`" + argument + "`"), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no InvalidArgument(" << argument << ") thrown";
  return {};
}

TEST(Geometry, ValidLength) {
  EXPECT_EQ(output_length(make(3, 1, 1, Padding::valid), 10), 8);
  EXPECT_EQ(output_length(make(3, 2, 1, Padding::valid), 10), 4);  // (10-3)/2+1
  EXPECT_EQ(output_length(make(3, 1, 2, Padding::valid), 10), 6);  // effk 5
  EXPECT_EQ(output_length(make(1, 3, 1, Padding::valid), 1), 1);
  EXPECT_EQ(output_length(make(4, 1, 1, Padding::valid), 4), 1);
  const auto g = geometry(make(3, 2, 1, Padding::valid), 10);
  EXPECT_EQ(g.pad.left, 0);
  EXPECT_EQ(g.pad.right, 0);
}

// docs/semantics.md, "Traps we test": written as floor((L-effk)/s)+1 with truncating division, L = effk-1 and
// s = 2 would give 1. It is an error.
TEST(Geometry, ValidLengthOneShortIsAnErrorNotOne) {
  const auto msg = expect_invalid("length", [] { (void)output_length(make(5, 2, 1, Padding::valid), 4); });
  EXPECT_NE(msg.find("4 steps"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at least 5"), std::string::npos) << msg;
  expect_invalid("length", [] { (void)output_length(make(3, 1, 3, Padding::valid), 6); });  // effk 7
}

TEST(Geometry, ZeroLengthIsAnErrorForEveryPadding) {
  for (auto p : {Padding::valid, Padding::same, Padding::causal}) {
    expect_invalid("length", [&] { (void)output_length(make(1, 1, 1, p), 0); });
    expect_invalid("length", [&] { (void)output_length(make(1, 1, 1, p), -3); });
  }
}

TEST(Geometry, SameMatchesTensorFlowExamples) {
  // The examples of docs/semantics.md ("Output length and padding").
  auto g = geometry(make(3, 3, 1, Padding::same), 12);
  EXPECT_EQ(g.out_length, 4);
  EXPECT_EQ(g.pad.left, 0);
  EXPECT_EQ(g.pad.right, 0);
  g = geometry(make(4, 2, 1, Padding::same), 9);
  EXPECT_EQ(g.out_length, 5);
  EXPECT_EQ(g.pad.left, 1);
  EXPECT_EQ(g.pad.right, 2);
  g = geometry(make(3, 3, 1, Padding::same), 10);
  EXPECT_EQ(g.out_length, 4);
  EXPECT_EQ(g.pad.left, 1);
  EXPECT_EQ(g.pad.right, 1);
  // Even kernel: the odd extra zero goes on the right.
  g = geometry(make(4, 1, 1, Padding::same), 7);
  EXPECT_EQ(g.out_length, 7);
  EXPECT_EQ(g.pad.left, 1);
  EXPECT_EQ(g.pad.right, 2);
  // Length shorter than the kernel is fine.
  g = geometry(make(9, 1, 1, Padding::same), 2);
  EXPECT_EQ(g.out_length, 2);
  EXPECT_EQ(g.pad.left + g.pad.right, 8);
  // Dilation enters through the effective kernel size.
  g = geometry(make(3, 1, 4, Padding::same), 20);
  EXPECT_EQ(g.effective_kernel, 9);
  EXPECT_EQ(g.pad.left, 4);
  EXPECT_EQ(g.pad.right, 4);
}

TEST(Geometry, SameAgreesWithTheFormulaEverywhere) {
  for (std::int64_t k = 1; k <= 9; ++k)
    for (std::int64_t s = 1; s <= 4; ++s)
      for (std::int64_t L = 1; L <= 40; ++L) {
        const auto g = geometry(make(k, s, 1, Padding::same), L);
        const std::int64_t lout = (L + s - 1) / s;
        const std::int64_t total = std::max<std::int64_t>((lout - 1) * s + k - L, 0);
        ASSERT_EQ(g.out_length, lout);
        ASSERT_EQ(g.pad.left, total / 2);
        ASSERT_EQ(g.pad.right, total - total / 2);
      }
}

TEST(Geometry, Causal) {
  auto g = geometry(make(4, 1, 3, Padding::causal), 5);
  EXPECT_EQ(g.out_length, 5);
  EXPECT_EQ(g.pad.left, 9);
  EXPECT_EQ(g.pad.right, 0);
  g = geometry(make(3, 2, 1, Padding::causal), 7);
  EXPECT_EQ(g.out_length, 4);
  EXPECT_EQ(g.pad.left, 2);
}

TEST(Geometry, HugeValuesUse64Bits) {
  // d*(k-1) alone overflows 32 bits.
  auto c = make(1 << 16, 1, 1 << 16, Padding::causal);
  const auto g = geometry(c, std::int64_t{1} << 40);
  EXPECT_EQ(g.effective_kernel, (std::int64_t{1} << 32) - (1 << 16) + 1);
  EXPECT_EQ(g.out_length, std::int64_t{1} << 40);
  EXPECT_EQ(g.pad.left, g.effective_kernel - 1);
  c.padding = Padding::same;
  c.strides = 1;
  EXPECT_EQ(output_length(c, std::numeric_limits<std::int64_t>::max()),
            std::numeric_limits<std::int64_t>::max());
}

TEST(Validate, EffectiveKernelOverflowIsRejected) {
  auto c = make(std::int64_t{1} << 40, 1, std::int64_t{1} << 40, Padding::same);
  expect_invalid("dilation_rate", [&] { validate(c); });
}

TEST(Validate, StridesWithDilation) {
  const auto msg = expect_invalid("strides", [] { validate(make(3, 2, 2, Padding::same)); });
  EXPECT_NE(msg.find("dilation_rate 2"), std::string::npos) << msg;
  validate(make(3, 2, 1, Padding::same));
  validate(make(3, 1, 2, Padding::same));
}

TEST(Validate, NonPositiveFilters) {
  auto c = make(3, 1, 1, Padding::same);
  c.filters = 0;
  const auto msg = expect_invalid("filters", [&] { validate(c); });
  EXPECT_NE(msg.find("got 0"), std::string::npos) << msg;
  c.filters = -2;
  expect_invalid("filters", [&] { validate(c); });
}

TEST(Validate, NonPositiveKernelSize) {
  expect_invalid("kernel_size", [] { validate(make(0, 1, 1, Padding::same)); });
  expect_invalid("kernel_size", [] { validate(make(-1, 1, 1, Padding::same)); });
}

TEST(Validate, NonPositiveStrides) {
  expect_invalid("strides", [] { validate(make(3, 0, 1, Padding::same)); });
}

TEST(Validate, NonPositiveDilation) {
  expect_invalid("dilation_rate", [] { validate(make(3, 1, 0, Padding::same)); });
}

TEST(Validate, NonPositiveDepthMultiplier) {
  auto c = make(3, 1, 1, Padding::same);
  c.depth_multiplier = 0;
  expect_invalid("depth_multiplier", [&] { validate(c); });
}

TEST(Parse, PaddingIsCaseInsensitive) {
  EXPECT_EQ(parse_padding("valid"), Padding::valid);
  EXPECT_EQ(parse_padding("Same"), Padding::same);
  EXPECT_EQ(parse_padding("CAUSAL"), Padding::causal);
  const auto msg = expect_invalid("padding", [] { (void)parse_padding("full"); });
  EXPECT_NE(msg.find("\"full\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("causal"), std::string::npos) << msg;
}

TEST(Parse, DataFormat) {
  EXPECT_EQ(parse_data_format("channels_last"), DataFormat::channels_last);
  EXPECT_EQ(parse_data_format("Channels_First"), DataFormat::channels_first);
  expect_invalid("data_format", [] { (void)parse_data_format("NCW"); });
}

TEST(Parse, EveryActivationRoundTrips) {
  for (int i = 0; i < kActivationCount; ++i) {
    const auto a = static_cast<Activation>(i);
    EXPECT_EQ(parse_activation(to_string(a)), a) << to_string(a);
  }
  EXPECT_EQ(parse_activation("swish"), Activation::silu);
  EXPECT_EQ(parse_activation("hard_swish"), Activation::hard_silu);
}

TEST(Parse, UnknownAndRejectedActivations) {
  expect_invalid("activation", [] { (void)parse_activation("not_an_activation"); });
  expect_invalid("activation", [] { (void)parse_activation("ReLU"); });  // case-sensitive
  for (const char* name : {"glu", "threshold", "sparsemax"}) {
    const auto msg = expect_invalid("activation", [&] { (void)parse_activation(name); });
    EXPECT_NE(msg.find(name), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace sepconv
