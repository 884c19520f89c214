// The CPU reference's backward against real Keras: one test per case of
// tests/data/golden/gradients/manifest.json. Keras's gradients of sum(output * G) with respect to
// the input and every weight must lie within keras_gradient_tolerance(policy) of the float64
// reference's, relative to the magnitude of each element's terms (golden_gradients.h says why).
#include <gtest/gtest.h>

#include <set>

#include "golden/golden_data.h"
#include "golden/golden_gradients.h"
#include "io/npy.h"
#include "sepconv/error.h"

namespace sepconv::test::golden {
namespace {

TEST(GoldenGradientData, ManifestLoads) {
  std::vector<GradientCase> cases;
  try {
    cases = load_gradient_manifest();
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  EXPECT_GE(cases.size(), 30u);
  std::set<std::string> policies;
  for (const auto& c : cases) {
    EXPECT_EQ(c.input_shape.size(), 3u) << c.name;
    policies.insert(c.policy);
  }
  EXPECT_EQ(policies, (std::set<std::string>{"float32", "float16", "mixed_float16"}));
}

class GoldenGradients : public ::testing::TestWithParam<GradientCase> {};

TEST_P(GoldenGradients, ReferenceMatchesKeras) {
  const GradientCase& c = GetParam();
  SCOPED_TRACE(c.name + ": " + c.label() + (c.notes.empty() ? "" : "; " + c.notes));
  GradientData d;
  try {
    d = load_gradient_data(c);
  } catch (const Error& e) {  // InvalidArgument (the config) or io::FileError
    FAIL() << e.what();
  }
  const LayerConfig& config = d.config.layer;
  ASSERT_EQ(d.input.shape, c.input_shape);
  ASSERT_EQ(d.input.dtype, c.dtype == "float16" ? DType::f16 : DType::f32);
  // Mixed precision: the weight gradients are float32 whatever the compute dtype.
  for (const auto* g : {&d.grad_depthwise, &d.grad_pointwise}) EXPECT_EQ(g->dtype, DType::f32);

  reference::GradientDetail ref;
  try {
    ref = reference::backward_detail(config, d.input.view(), d.weights(), d.grad_output.view());
  } catch (const InvalidArgument& e) {
    FAIL() << "Keras (" << c.label() << ") computed these gradients but sepconv rejects the call: "
           << e.what();
  }
  const double tolerance = keras_gradient_tolerance(c.policy);
  // A floor for elements whose terms nearly cancel: one unit of float32 (of float16 for dx
  // under a float16 policy) at the gradient's scale is below every magnitude here, so the floor
  // only matters for exact zeros (a bias gradient of softmax along the row).
  const double floor = c.dtype == "float16" ? 1e-6 : 1e-9;
  const std::vector<std::tuple<std::string, const io::HostArray*, const std::vector<double>*,
                               const std::vector<double>*>>
      grads = {{"grad_input", &d.grad_input, &ref.input, &ref.input_magnitude},
               {"grad_depthwise", &d.grad_depthwise, &ref.depthwise, &ref.depthwise_magnitude},
               {"grad_pointwise", &d.grad_pointwise, &ref.pointwise, &ref.pointwise_magnitude},
               {"grad_bias", &d.grad_bias, &ref.bias, &ref.bias_magnitude}};
  double worst = 0;
  for (const auto& [name, keras, want, magnitude] : grads) {
    if (name == "grad_bias" && !config.use_bias) {
      EXPECT_TRUE(want->empty());
      continue;
    }
    const GradientCheck check = check_gradient(name, *keras, *want, *magnitude, tolerance, floor);
    EXPECT_TRUE(check.ok) << "Keras's gradient is outside the bound: " << check.summary;
    EXPECT_GT(check.checked, 0);
    worst = std::max(worst, check.worst_ratio);
  }
  RecordProperty("worst_ratio", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(Keras, GoldenGradients, ::testing::ValuesIn(gradient_cases()),
                         CaseName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GoldenGradients);  // ManifestLoads fails

}  // namespace
}  // namespace sepconv::test::golden
