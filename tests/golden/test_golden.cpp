// The CPU reference against real Keras: one test per case of tests/data/golden/manifest.json.
//   forward cases: sepconv's output shape is Keras's, and Keras's float32 output lies within the
//                  accuracy bound (sepconv/accuracy.h) of the float64 reference;
//   error cases:   sepconv rejects the config / input shape with InvalidArgument naming the same
//                  argument as the manifest.
// Where Keras and sepconv disagree (Keras accepts glu, sparsemax, an empty output, ...: the
// manifest's keras_raised = false), the test passes — sepconv's behaviour is the choice docs/semantics.md states —
// and says so in a NOTE line; GoldenData.DisagreementsWithKeras lists them all.
#include <gtest/gtest.h>

#include <iostream>

#include "golden/golden_data.h"
#include "io/npy.h"
#include "sepconv/accuracy.h"
#include "sepconv/error.h"
#include "sepconv/reference.h"

namespace sepconv::test::golden {
namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// What Keras did with an error case, for messages.
std::string keras_outcome(const Case& c) {
  return c.keras_raised ? c.framework_label() + " raised " + c.error_type + ": " +
                              first_line(c.error_message)
                        : c.framework_label() + " accepted it";
}

// The manifest names Keras's input-shape errors `input`; sepconv names them `length` (geometry)
// or `x` (validate_forward). Every other argument has the same name.
bool same_argument(const std::string& manifest, const std::string& sepconv) {
  if (manifest == "input") return sepconv == "length" || sepconv == "x";
  return manifest == sepconv;
}

TEST(GoldenData, ManifestLoads) {
  std::vector<Case> cases;
  try {
    cases = load_manifest();
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  EXPECT_FALSE(cases_of_kind("forward").empty());
  EXPECT_FALSE(cases_of_kind("error").empty());
  for (const auto& c : cases) {
    EXPECT_TRUE(c.kind == "forward" || c.kind == "error") << c.name;
    EXPECT_EQ(c.input_shape.size(), 3u) << c.name;
  }
}

TEST(GoldenData, DisagreementsWithKeras) {
  std::vector<Case> cases;
  ASSERT_NO_THROW(cases = load_manifest());
  int n = 0;
  for (const auto& c : cases) {
    if (c.kind == "error" && !c.keras_raised) {
      std::cout << "[   NOTE   ] " << c.name << ": " << keras_outcome(c)
                << "; sepconv rejects it (`" << c.error_argument << "`). " << c.notes << "\n";
      ++n;
    }
  }
  std::cout << "[   NOTE   ] " << n << " case(s) where Keras accepts what sepconv rejects by design\n";
  RecordProperty("keras_accepts_sepconv_rejects", n);
}

class GoldenForward : public ::testing::TestWithParam<Case> {};

TEST_P(GoldenForward, MatchesKeras) {
  const Case& c = GetParam();
  SCOPED_TRACE(c.name + ": " + c.framework_label() + (c.notes.empty() ? "" : "; " + c.notes));
  ForwardCase f;
  try {
    f = load_forward(c);
  } catch (const InvalidArgument& e) {
    FAIL() << "Keras (" << c.framework_label() << ") ran this layer but sepconv rejects its "
           << "config: " << e.what();
  } catch (const io::FileError& e) {
    FAIL() << e.what();
  }
  const LayerConfig& config = f.config.layer;
  ASSERT_EQ(f.input.shape, c.input_shape) << "input.npy does not have the manifest's shape";

  reference::Detail detail;
  std::array<std::int64_t, 3> shape{};
  try {
    const bool last = config.data_format == DataFormat::channels_last;
    shape = output_shape(config, c.input_shape[0], c.input_shape[last ? 1 : 2]);
    detail = reference::forward_detail(config, f.input.view(), f.weights());
  } catch (const InvalidArgument& e) {
    FAIL() << "Keras (" << c.framework_label() << ") ran this layer but sepconv rejects it: "
           << e.what();
  }
  ASSERT_EQ(f.output.shape, std::vector<std::int64_t>(shape.begin(), shape.end()))
      << "Keras's output shape differs from sepconv::output_shape";
  const accuracy::Report report = accuracy::compare(config, f.in_channels(), DType::f32,
                                                    MathMode::exact, detail, f.output.view());
  EXPECT_EQ(report.checked, f.output.numel());
  RecordProperty("worst_ratio", std::to_string(report.worst_ratio));
  EXPECT_TRUE(report.ok()) << "Keras's output is outside sepconv's accuracy bound: "
                           << report.summary();
}

INSTANTIATE_TEST_SUITE_P(Keras, GoldenForward, ::testing::ValuesIn(cases_of_kind("forward")),
                         CaseName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GoldenForward);  // GoldenData.ManifestLoads fails

class GoldenError : public ::testing::TestWithParam<Case> {};

TEST_P(GoldenError, RejectedLikeKeras) {
  const Case& c = GetParam();
  SCOPED_TRACE(c.name + ": " + keras_outcome(c) + (c.notes.empty() ? "" : "; " + c.notes));
  try {
    // The config parser validates the config; geometry checks the input length.
    const LayerConfig config = load_config(c).layer;
    ASSERT_EQ(c.input_shape.size(), 3u);
    const bool last = config.data_format == DataFormat::channels_last;
    (void)geometry(config, c.input_shape[last ? 1 : 2]);
    FAIL() << "sepconv accepts this case, but " << keras_outcome(c)
           << " and the manifest expects a rejection of `" << c.error_argument << "`";
  } catch (const InvalidArgument& e) {
    EXPECT_TRUE(same_argument(c.error_argument, e.argument()))
        << "sepconv rejects `" << e.argument() << "`, the manifest expects `" << c.error_argument
        << "`: " << e.what();
    if (!c.keras_raised) {
      std::cout << "[   NOTE   ] Keras and sepconv disagree on " << c.name << ": " << keras_outcome(c)
                << "; sepconv rejects it by design: " << e.what() << "\n";
    }
  } catch (const io::FileError& e) {
    FAIL() << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Keras, GoldenError, ::testing::ValuesIn(cases_of_kind("error")),
                         CaseName());
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GoldenError);

}  // namespace
}  // namespace sepconv::test::golden
