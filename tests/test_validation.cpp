// Validation of a forward call: every bad argument is rejected with a message naming it, the
// value and the expectation, before anything is written. One test per condition; each checks
// that the (poisoned) output buffer is untouched.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "sepconv/error.h"
#include "sepconv/reference.h"
#include "support/host_tensor.h"

namespace sepconv::test {
namespace {

class Validation : public ::testing::Test {
 protected:
  void SetUp() override {
    config.filters = 5;
    config.kernel_size = 3;
    config.padding = Padding::same;
    config.depth_multiplier = 2;
    config.activation = Activation::relu;
    std::mt19937_64 rng(7);
    x = random_input(config, 2, 11, 3, DType::f32, rng);
    weights = random_weights(config, 3, DType::f32, rng);
    y = poisoned_output(config, 2, 11, DType::f32);
  }

  // Runs the reference with the current state and expects InvalidArgument naming `argument`,
  // with every text in `mentions` in the message, and y's bytes unchanged.
  void expect_rejected(const std::string& argument, std::vector<std::string> mentions = {}) {
    expect_rejected_with(argument, mentions, x.view(), weights.view(), y.view());
  }
  void expect_rejected_with(const std::string& argument, const std::vector<std::string>& mentions,
                            ConstTensorView xv, Weights wv, TensorView yv) {
    const std::vector<unsigned char> before = y.bytes();
    try {
      reference::forward(config, xv, wv, yv);
      ADD_FAILURE() << "accepted; expected InvalidArgument(" << argument << ")";
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(e.argument(), argument) << e.what();
      const std::string msg = e.what();
      EXPECT_NE(msg.find("`" + argument + "`"), std::string::npos) << msg;
      EXPECT_NE(msg.find("expected"), std::string::npos) << msg;
      for (const auto& m : mentions) EXPECT_NE(msg.find(m), std::string::npos) << msg;
    }
    EXPECT_EQ(std::memcmp(before.data(), y.bytes().data(), before.size()), 0)
        << "the output was written before the error";
  }

  LayerConfig config;
  HostTensor x;
  HostWeights weights;
  HostTensor y;
};

TEST_F(Validation, ValidCallWritesEveryOutput) {
  reference::forward(config, x.view(), weights.view(), y.view());
  for (double v : y.values()) ASSERT_FALSE(std::isnan(v));
}

TEST_F(Validation, StridesWithDilation) {
  config.strides = 2;
  config.dilation_rate = 2;
  expect_rejected("strides", {"dilation_rate 2"});
}

TEST_F(Validation, NonPositiveFilters) {
  config.filters = 0;
  expect_rejected("filters", {"got 0"});
}

TEST_F(Validation, NonPositiveKernelSize) {
  config.kernel_size = -1;
  expect_rejected("kernel_size", {"got -1"});
}

TEST_F(Validation, NonPositiveStrides) {
  config.strides = 0;
  expect_rejected("strides", {"got 0"});
}

TEST_F(Validation, NonPositiveDilation) {
  config.dilation_rate = 0;
  expect_rejected("dilation_rate", {"got 0"});
}

TEST_F(Validation, NonPositiveDepthMultiplier) {
  config.depth_multiplier = 0;
  expect_rejected("depth_multiplier", {"got 0"});
}

TEST_F(Validation, ZeroChannels) {
  HostTensor empty(DType::f32, {2, 11, 0});
  expect_rejected_with("x", {"0 channels"}, empty.view(), weights.view(), y.view());
}

TEST_F(Validation, ZeroLength) {
  HostTensor empty(DType::f32, {2, 0, 3});
  expect_rejected_with("x", {"0 steps"}, empty.view(), weights.view(), y.view());
}

TEST_F(Validation, ValidPaddingTooShort) {
  config.padding = Padding::valid;
  config.kernel_size = 12;
  weights = [&] {
    std::mt19937_64 rng(1);
    return random_weights(config, 3, DType::f32, rng);
  }();
  expect_rejected("length", {"11 steps", "at least 12"});
}

TEST_F(Validation, ValidPaddingOneShortWithStride2) {
  // L = effk - 1 with s = 2: truncating division would wrongly give an output length of 1.
  config.padding = Padding::valid;
  config.strides = 2;
  config.kernel_size = 12;
  std::mt19937_64 rng(1);
  weights = random_weights(config, 3, DType::f32, rng);
  expect_rejected("length", {"11 steps"});
}

TEST_F(Validation, DepthwiseShape) {
  HostTensor wrong(DType::f32, {3, 3, 1});  // M = 1 instead of 2
  Weights w = weights.view();
  w.depthwise = wrong.view();
  expect_rejected_with("depthwise", {"(3, 3, 1)", "(3, 3, 2)"}, x.view(), w, y.view());
}

TEST_F(Validation, DepthwiseRank) {
  HostTensor wrong(DType::f32, {3, 6});
  Weights w = weights.view();
  w.depthwise = wrong.view();
  expect_rejected_with("depthwise", {"rank 2", "rank 3"}, x.view(), w, y.view());
}

TEST_F(Validation, PointwiseShape) {
  HostTensor wrong(DType::f32, {1, 3, 5});  // C*M = 6 expected
  Weights w = weights.view();
  w.pointwise = wrong.view();
  expect_rejected_with("pointwise", {"(1, 3, 5)", "(1, 6, 5)"}, x.view(), w, y.view());
}

TEST_F(Validation, MissingBias) {
  Weights w = weights.view();
  w.bias = {};
  expect_rejected_with("bias", {"use_bias is true"}, x.view(), w, y.view());
}

TEST_F(Validation, BiasGivenWithoutUseBias) {
  config.use_bias = false;
  expect_rejected("bias", {"use_bias is false"});
}

TEST_F(Validation, BiasShape) {
  HostTensor wrong(DType::f32, {4});
  Weights w = weights.view();
  w.bias = wrong.view();
  expect_rejected_with("bias", {"(4,)", "(5,)"}, x.view(), w, y.view());
}

TEST_F(Validation, NullInputWithElements) {
  ConstTensorView xv = x.view();
  xv.data = nullptr;
  expect_rejected_with("x", {"null pointer"}, xv, weights.view(), y.view());
}

TEST_F(Validation, NullOutputWithElements) {
  TensorView yv = y.view();
  yv.data = nullptr;
  expect_rejected_with("y", {"null pointer"}, x.view(), weights.view(), yv);
}

TEST_F(Validation, NullWeightWithElements) {
  Weights w = weights.view();
  w.pointwise.data = nullptr;
  expect_rejected_with("pointwise", {"null pointer"}, x.view(), w, y.view());
}

TEST_F(Validation, UndersizedOutput) {
  TensorView yv = y.view();
  yv.shape[1] = 10;  // Lout is 11
  expect_rejected_with("y", {"(2, 10, 5)", "(2, 11, 5)"}, x.view(), weights.view(), yv);
}

TEST_F(Validation, OutputWithWrongFilters) {
  TensorView yv = y.view();
  yv.shape[2] = 4;
  expect_rejected_with("y", {"(2, 11, 4)", "(2, 11, 5)"}, x.view(), weights.view(), yv);
}

TEST_F(Validation, NonUnitStrideOnContiguousAxisOfInput) {
  HostTensor wide(DType::f32, {2, 11, 6});
  ConstTensorView xv = wide.view();
  xv.shape[2] = 3;
  xv.strides[2] = 2;
  expect_rejected_with("x", {"stride 1"}, xv, weights.view(), y.view());
}

TEST_F(Validation, NonUnitStrideOnContiguousAxisOfOutput) {
  HostTensor wide(DType::f32, {2, 11, 10});
  wide.poison();
  TensorView yv = wide.view();
  yv.shape[2] = 5;
  yv.strides[2] = 2;
  const auto before = wide.bytes();
  EXPECT_THROW(reference::forward(config, x.view(), weights.view(), yv), InvalidArgument);
  EXPECT_EQ(std::memcmp(before.data(), wide.bytes().data(), before.size()), 0);
  expect_rejected_with("y", {"stride 1"}, x.view(), weights.view(), yv);
}

TEST_F(Validation, NonUnitTimeStrideAllowedForChannelsLastButNotChannelsFirst) {
  // channels_first: time is the contiguous axis.
  config.data_format = DataFormat::channels_first;
  HostTensor wide(DType::f32, {2, 3, 22});
  ConstTensorView xv = wide.view();
  xv.shape[2] = 11;
  xv.strides[2] = 2;
  y = poisoned_output(config, 2, 11, DType::f32);
  expect_rejected_with("x", {"stride 1"}, xv, weights.view(), y.view());
}

TEST_F(Validation, OverlappingInputAndOutput) {
  // y written over x's buffer.
  HostTensor shared(DType::f32, {2, 11, 5});
  TensorView yv = shared.view();
  ConstTensorView xv = shared.view();
  xv.shape[2] = 3;
  xv.strides = {33, 3, 1};
  expect_rejected_with("y", {"overlaps `x`"}, xv, weights.view(), yv);
}

TEST_F(Validation, OutputOverlappingWeights) {
  Weights w = weights.view();
  TensorView yv = y.view();
  w.bias = ConstTensorView{yv.data, DType::f32, 1, {5, 0, 0}, {1, 0, 0}};
  expect_rejected_with("y", {"overlaps `bias`"}, x.view(), w, yv);
}

TEST_F(Validation, OutputElementsAliasing) {
  TensorView yv = y.view();
  yv.strides[1] = 0;  // every step written to one row
  expect_rejected_with("y", {"own address"}, x.view(), weights.view(), yv);
}

TEST_F(Validation, DtypeMismatch) {
  HostTensor half(DType::f16, {2, 11, 5});
  expect_rejected_with("y", {"float16", "float32"}, x.view(), weights.view(), half.view());
}

TEST_F(Validation, NegativeStride) {
  ConstTensorView xv = x.view();
  xv.strides[0] = -1;
  expect_rejected_with("x", {"non-negative strides"}, xv, weights.view(), y.view());
}

TEST_F(Validation, WrongRank) {
  HostTensor flat(DType::f32, {22, 3});
  expect_rejected_with("x", {"rank 2", "rank 3"}, flat.view(), weights.view(), y.view());
}

TEST_F(Validation, BatchOfZeroIsValidAndDoesNothing) {
  HostTensor empty_x(DType::f32, {0, 11, 3});
  HostTensor empty_y(DType::f32, {0, 11, 5});
  TensorView yv = empty_y.view();
  ConstTensorView xv = empty_x.view();
  xv.data = nullptr;  // no elements: a null pointer is fine
  yv.data = nullptr;
  EXPECT_NO_THROW(reference::forward(config, xv, weights.view(), yv));
}

TEST(ViewFactories, RejectBadShapes) {
  float buffer[4] = {};
  EXPECT_THROW((void)contiguous_view(buffer, {1, 2, 3, 4}), InvalidArgument);
  EXPECT_THROW((void)contiguous_view(buffer, {-1}), InvalidArgument);
  EXPECT_THROW((void)strided_view(static_cast<void*>(buffer), DType::f32, {2, 2}, {1}),
               InvalidArgument);
  const auto v = contiguous_view(buffer, {2, 2});
  EXPECT_EQ(v.strides[0], 2);
  EXPECT_TRUE(v.is_contiguous());
}

}  // namespace
}  // namespace sepconv::test
