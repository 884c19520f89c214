// Test support: the golden gradients made by real Keras (tests/data/golden/gradients, written by
// tools/gen_keras_golden.py; its README describes the layout): for a loss sum(output * G), the
// gradients Keras's autodiff returned with respect to the input and every weight, and a check of
// any gradient against them.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "io/host_array.h"
#include "sepconv/keras.h"
#include "sepconv/reference.h"

namespace sepconv::test::golden {

/// One entry of gradients/manifest.json.
struct GradientCase {
  std::string name;  ///< its folder
  std::string framework, framework_version, backend;
  std::string policy;  ///< Keras's dtype policy: float32, mixed_float16 or float16
  std::string dtype;   ///< of the input, the weights and G: float32 or float16
  std::vector<std::int64_t> input_shape;
  std::string notes;
  /// "keras 3.15.1 (jax), mixed_float16".
  [[nodiscard]] std::string label() const;
};

/// directory()/gradients.
[[nodiscard]] std::string gradients_directory();
/// The cases of gradients/manifest.json; throws std::runtime_error when missing or malformed.
[[nodiscard]] std::vector<GradientCase> load_gradient_manifest();
/// The same, empty when the manifest cannot be read (for TEST_P instantiation).
[[nodiscard]] std::vector<GradientCase> gradient_cases();

/// A case's files, read with sepconv_io (bias and grad_bias empty without use_bias).
struct GradientData {
  keras::LayerSpec config;
  io::HostArray input, depthwise, pointwise, bias, grad_output;
  io::HostArray grad_input, grad_depthwise, grad_pointwise, grad_bias;
  std::string folder;
  [[nodiscard]] Weights weights() const;
  [[nodiscard]] std::string file(const std::string& name) const { return folder + "/" + name; }
};
[[nodiscard]] GradientData load_gradient_data(const GradientCase& c);

/// How far Keras's gradients may lie from the exact ones, relative to the magnitude of each
/// gradient element's terms (reference::GradientDetail's *_magnitude), by the case's policy:
///   float32: 1e-5. Keras computes in float32; the longest chain of roundings in these cases is
///            a float32 sum of at most ~110 terms (B*Lout*F for a weight gradient) after ~10
///            roundings (z, the activation's derivative, dz, dD), (110 + 10) * 2^-24 = 7.2e-6;
///            the forward golden cases use the same 1e-5.
///   mixed_float16 / float16: 2e-2. Keras computes in float16 (u = 2^-11 = 4.9e-4): D, z, dz,
///            dD are each rounded to float16 and (for the float16 policy) the weight gradients
///            too, and XLA's CPU float16 sums may round at every step; the longest chain here is
///            ~40 such roundings, 40 * 4.9e-4 = 2e-2.
[[nodiscard]] double keras_gradient_tolerance(const std::string& policy);

/// The result of a gradient check.
struct GradientCheck {
  bool ok = true;
  std::int64_t checked = 0;
  double worst_ratio = 0;  ///< max |got - want| / allowed
  std::string summary;     ///< the worst element, readable
};

/// Checks `got` (a host array of any dtype, in the gradient's Keras layout, `want.size()`
/// elements) against `want`: |got - want| <= tolerance * magnitude + floor elementwise; NaN (in
/// `got`, `want` or `magnitude`) and a negative magnitude fail.
[[nodiscard]] GradientCheck check_gradient(const std::string& what, const io::HostArray& got,
                                           const std::vector<double>& want,
                                           const std::vector<double>& magnitude, double tolerance,
                                           double floor);

/// An array's elements as doubles.
[[nodiscard]] std::vector<double> values(const io::HostArray& a);

/// GoogleTest prints a case as its name.
inline void PrintTo(const GradientCase& c, std::ostream* os) { *os << c.name; }

}  // namespace sepconv::test::golden
