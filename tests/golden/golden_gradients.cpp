#include "golden/golden_gradients.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "golden/golden_data.h"
#include "io/npy.h"

namespace sepconv::test::golden {

std::string GradientCase::label() const {
  return framework + " " + framework_version + " (" + backend + "), " + policy;
}

std::string gradients_directory() { return directory() + "/gradients"; }

std::vector<GradientCase> load_gradient_manifest() {
  const std::string path = gradients_directory() + "/manifest.json";
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error(path + ": missing (run tools/gen_keras_golden.py --gradients-only)");
  }
  std::vector<GradientCase> cases;
  try {
    const auto manifest = nlohmann::json::parse(in);
    for (const auto& j : manifest.at("cases")) {
      GradientCase c;
      c.name = j.at("name").get<std::string>();
      c.framework = j.at("framework").get<std::string>();
      c.framework_version = j.at("framework_version").get<std::string>();
      c.backend = j.at("backend").get<std::string>();
      c.policy = j.at("policy").get<std::string>();
      c.dtype = j.at("dtype").get<std::string>();
      c.input_shape = j.at("input_shape").get<std::vector<std::int64_t>>();
      c.notes = j.value("notes", "");
      cases.push_back(std::move(c));
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": malformed: " + e.what());
  }
  return cases;
}

std::vector<GradientCase> gradient_cases() {
  try {
    return load_gradient_manifest();
  } catch (const std::exception&) {
    return {};  // reported by GoldenGradientData.ManifestLoads
  }
}

GradientData load_gradient_data(const GradientCase& c) {
  GradientData d;
  d.folder = gradients_directory() + "/" + c.name;
  d.config = keras::read_layer_config(d.file("config.json"));
  const bool bias = d.config.layer.use_bias;
  d.input = io::read_npy(d.file("input.npy"));
  d.depthwise = io::read_npy(d.file("depthwise.npy"));
  d.pointwise = io::read_npy(d.file("pointwise.npy"));
  if (bias) d.bias = io::read_npy(d.file("bias.npy"));
  d.grad_output = io::read_npy(d.file("grad_output.npy"));
  d.grad_input = io::read_npy(d.file("grad_input.npy"));
  d.grad_depthwise = io::read_npy(d.file("grad_depthwise.npy"));
  d.grad_pointwise = io::read_npy(d.file("grad_pointwise.npy"));
  if (bias) d.grad_bias = io::read_npy(d.file("grad_bias.npy"));
  return d;
}

Weights GradientData::weights() const {
  return {depthwise.view(), pointwise.view(),
          config.layer.use_bias ? bias.view() : ConstTensorView{}};
}

double keras_gradient_tolerance(const std::string& policy) {
  if (policy == "float32") return 1e-5;
  if (policy == "mixed_float16" || policy == "float16") return 2e-2;
  throw std::runtime_error("no golden gradient tolerance for the policy " + policy);
}

std::vector<double> values(const io::HostArray& a) {
  std::vector<double> v(static_cast<std::size_t>(a.numel()));
  for (std::int64_t i = 0; i < a.numel(); ++i) v[static_cast<std::size_t>(i)] = a.get(i);
  return v;
}

GradientCheck check_gradient(const std::string& what, const io::HostArray& got,
                             const std::vector<double>& want,
                             const std::vector<double>& magnitude, double tolerance,
                             double floor) {
  GradientCheck r;
  if (static_cast<std::size_t>(got.numel()) != want.size() || magnitude.size() != want.size()) {
    r.ok = false;
    r.summary = what + ": " + std::to_string(got.numel()) + " elements, expected " +
                std::to_string(want.size());
    return r;
  }
  std::int64_t worst = -1;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double g = got.get(static_cast<std::int64_t>(i));
    // A magnitude is a sum of absolute values: a negative one (or NaN) is a bug of its own.
    const double allowed = magnitude[i] >= 0 ? tolerance * magnitude[i] + floor : NAN;
    const double ratio = std::abs(g - want[i]) / allowed;
    ++r.checked;
    if (!(ratio <= 1.0)) r.ok = false;
    if (!(ratio <= r.worst_ratio)) {  // NaN becomes the worst
      r.worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
      worst = static_cast<std::int64_t>(i);
    }
  }
  std::ostringstream s;
  s.precision(9);
  s << what << ": " << r.checked << " elements, worst |diff|/allowed " << r.worst_ratio;
  if (worst >= 0) {
    const auto w = static_cast<std::size_t>(worst);
    s << " at element " << worst << " (got " << got.get(worst) << ", expected " << want[w]
      << ", magnitude " << magnitude[w] << ", tolerance " << tolerance << ")";
  }
  r.summary = s.str();
  return r;
}

}  // namespace sepconv::test::golden
