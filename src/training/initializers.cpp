// The Keras initializers on the host: parameters, fans, the resolution of an initializer for a
// shape (shared with the GPU entry point), the host fill (the generator of detail/random.h, the
// same bits as the device), and Orthogonal's QR (Eigen).
#include <Eigen/QR>

#include <cmath>
#include <string>
#include <utility>

#include "detail/elements.h"
#include "detail/message.h"
#include "detail/random.h"
#include "training/training_internal.h"

namespace sepconv {

namespace initializers {
namespace {
Initializer of(InitializerKind kind) {
  Initializer i;
  i.kind = kind;
  return i;
}
}  // namespace
Initializer zeros() { return of(InitializerKind::zeros); }
Initializer ones() { return of(InitializerKind::ones); }
Initializer constant(double value) {
  Initializer i = of(InitializerKind::constant);
  i.value = value;
  return i;
}
Initializer random_uniform(double minval, double maxval) {
  Initializer i = of(InitializerKind::random_uniform);
  i.minval = minval;
  i.maxval = maxval;
  return i;
}
Initializer random_normal(double mean, double stddev) {
  Initializer i = of(InitializerKind::random_normal);
  i.mean = mean;
  i.stddev = stddev;
  return i;
}
Initializer truncated_normal(double mean, double stddev) {
  Initializer i = random_normal(mean, stddev);
  i.kind = InitializerKind::truncated_normal;
  return i;
}
Initializer variance_scaling(double scale, FanMode mode, VarianceDistribution distribution) {
  Initializer i = of(InitializerKind::variance_scaling);
  i.scale = scale;
  i.mode = mode;
  i.distribution = distribution;
  return i;
}
Initializer glorot_uniform() { return of(InitializerKind::glorot_uniform); }
Initializer glorot_normal() { return of(InitializerKind::glorot_normal); }
Initializer he_uniform() { return of(InitializerKind::he_uniform); }
Initializer he_normal() { return of(InitializerKind::he_normal); }
Initializer lecun_uniform() { return of(InitializerKind::lecun_uniform); }
Initializer lecun_normal() { return of(InitializerKind::lecun_normal); }
Initializer orthogonal(double gain) {
  Initializer i = of(InitializerKind::orthogonal);
  i.gain = gain;
  return i;
}
}  // namespace initializers

namespace {

// Keras's snake-case and class names of each kind.
struct KindName {
  InitializerKind kind;
  const char* snake;
  const char* klass;
};
constexpr KindName kKindNames[] = {
    {InitializerKind::zeros, "zeros", "Zeros"},
    {InitializerKind::ones, "ones", "Ones"},
    {InitializerKind::constant, "constant", "Constant"},
    {InitializerKind::random_uniform, "random_uniform", "RandomUniform"},
    {InitializerKind::random_normal, "random_normal", "RandomNormal"},
    {InitializerKind::truncated_normal, "truncated_normal", "TruncatedNormal"},
    {InitializerKind::variance_scaling, "variance_scaling", "VarianceScaling"},
    {InitializerKind::glorot_uniform, "glorot_uniform", "GlorotUniform"},
    {InitializerKind::glorot_normal, "glorot_normal", "GlorotNormal"},
    {InitializerKind::he_uniform, "he_uniform", "HeUniform"},
    {InitializerKind::he_normal, "he_normal", "HeNormal"},
    {InitializerKind::lecun_uniform, "lecun_uniform", "LecunUniform"},
    {InitializerKind::lecun_normal, "lecun_normal", "LecunNormal"},
    {InitializerKind::orthogonal, "orthogonal", "Orthogonal"},
};

// The variance_scaling parameters of the named members of the family.
Initializer as_variance_scaling(const Initializer& init) {
  using VD = VarianceDistribution;
  switch (init.kind) {
    case InitializerKind::glorot_uniform:
      return initializers::variance_scaling(1.0, FanMode::fan_avg, VD::uniform);
    case InitializerKind::glorot_normal:
      return initializers::variance_scaling(1.0, FanMode::fan_avg, VD::truncated_normal);
    case InitializerKind::he_uniform:
      return initializers::variance_scaling(2.0, FanMode::fan_in, VD::uniform);
    case InitializerKind::he_normal:
      return initializers::variance_scaling(2.0, FanMode::fan_in, VD::truncated_normal);
    case InitializerKind::lecun_uniform:
      return initializers::variance_scaling(1.0, FanMode::fan_in, VD::uniform);
    case InitializerKind::lecun_normal:
      return initializers::variance_scaling(1.0, FanMode::fan_in, VD::truncated_normal);
    default: return init;
  }
}

void require(bool ok, const std::string& got, const std::string& expected) {
  if (!ok) detail::fail("initializer", got, expected);
}

void check_shape(const std::vector<std::int64_t>& shape) {
  if (shape.empty() || shape.size() > 3) {
    detail::fail("shape", detail::str("rank ", shape.size()), "rank 1 to 3");
  }
  for (const std::int64_t s : shape) {
    if (s < 0) detail::fail("shape", detail::str("extent ", s), "non-negative extents");
  }
}

std::int64_t count_of(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const std::int64_t s : shape) n *= s;
  return n;
}

// The float64 values of every element, in row-major order, for a checked shape.
std::vector<double> values_for(const Initializer& init, std::uint64_t seed,
                               const std::vector<std::int64_t>& shape) {
  if (init.kind == InitializerKind::orthogonal) return detail::orthogonal_values(init, seed, shape);
  const detail::RandomSpec spec = detail::resolve_initializer(init, shape);
  std::vector<double> values(static_cast<std::size_t>(count_of(shape)));
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = detail::random_value(spec, seed, i);
  }
  return values;
}

}  // namespace

Initializer parse_initializer(std::string_view identifier) {
  for (const KindName& k : kKindNames) {
    if (identifier == k.snake || identifier == k.klass) {
      Initializer init;
      init.kind = k.kind;
      return init;
    }
  }
  if (identifier == "normal") return initializers::random_normal();
  if (identifier == "uniform") return initializers::random_uniform();
  if (identifier == "zero") return initializers::zeros();
  if (identifier == "one") return initializers::ones();
  if (identifier == "OrthogonalInitializer") return initializers::orthogonal();
  std::string names;
  for (const KindName& k : kKindNames) names += std::string(names.empty() ? "" : ", ") + k.snake;
  detail::fail("initializer", detail::str("\"", identifier, "\""),
               "a Keras initializer: " + names + " (or its class name)");
}

std::string to_string(InitializerKind kind) {
  for (const KindName& k : kKindNames) {
    if (k.kind == kind) return k.snake;
  }
  return "?";
}

Fans compute_fans(const std::vector<std::int64_t>& shape) {
  if (shape.empty()) return {1, 1};
  if (shape.size() == 1) return {shape[0], shape[0]};
  if (shape.size() == 2) return {shape[0], shape[1]};
  std::int64_t receptive = 1;
  for (std::size_t i = 0; i + 2 < shape.size(); ++i) receptive *= shape[i];
  return {shape[shape.size() - 2] * receptive, shape.back() * receptive};
}

namespace detail {

RandomSpec resolve_initializer(const Initializer& given, const std::vector<std::int64_t>& shape) {
  const Initializer init = as_variance_scaling(given);
  switch (init.kind) {
    case InitializerKind::zeros: return {RandomKind::constant, 0.0, 0.0};
    case InitializerKind::ones: return {RandomKind::constant, 1.0, 0.0};
    case InitializerKind::constant: return {RandomKind::constant, init.value, 0.0};
    case InitializerKind::random_uniform:
      require(std::isfinite(init.minval) && std::isfinite(init.maxval) &&
                  init.minval <= init.maxval,
              str("random_uniform(minval=", init.minval, ", maxval=", init.maxval, ")"),
              "finite minval <= maxval");
      return {RandomKind::uniform, init.minval, init.maxval};
    case InitializerKind::random_normal:
    case InitializerKind::truncated_normal:
      require(std::isfinite(init.mean) && std::isfinite(init.stddev) && init.stddev >= 0.0,
              str(to_string(init.kind), "(mean=", init.mean, ", stddev=", init.stddev, ")"),
              "a finite mean and a finite stddev >= 0");
      return {init.kind == InitializerKind::random_normal ? RandomKind::normal
                                                          : RandomKind::truncated_normal,
              init.mean, init.stddev};
    case InitializerKind::variance_scaling: {
      require(std::isfinite(init.scale) && init.scale > 0.0,
              str("variance_scaling(scale=", init.scale, ")"), "a finite scale > 0");
      const Fans fans = compute_fans(shape);
      const double n = init.mode == FanMode::fan_in    ? static_cast<double>(fans.fan_in)
                       : init.mode == FanMode::fan_out ? static_cast<double>(fans.fan_out)
                                                       : static_cast<double>(fans.fan_in + fans.fan_out) / 2.0;
      const double variance = init.scale / std::max(1.0, n);
      switch (init.distribution) {
        case VarianceDistribution::uniform: {
          const double limit = std::sqrt(3.0 * variance);
          return {RandomKind::uniform, -limit, limit};
        }
        case VarianceDistribution::untruncated_normal:
          return {RandomKind::normal, 0.0, std::sqrt(variance)};
        case VarianceDistribution::truncated_normal:
          // The standard deviation of N(0, 1) truncated to [-2, 2].
          return {RandomKind::truncated_normal, 0.0, std::sqrt(variance) / 0.87962566103423978};
      }
      break;
    }
    case InitializerKind::orthogonal:
      fail("initializer", "orthogonal", "an initializer resolved per element (internal error)");
    default: break;
  }
  fail("initializer", str("kind ", static_cast<int>(init.kind)), "an InitializerKind enumerator");
}

std::vector<double> orthogonal_values(const Initializer& init, std::uint64_t seed,
                                      const std::vector<std::int64_t>& shape) {
  if (shape.size() < 2) {
    fail("initializer", str("orthogonal for a tensor of rank ", shape.size()),
         "a tensor of rank >= 2 (Keras's Orthogonal)");
  }
  require(std::isfinite(init.gain), str("orthogonal(gain=", init.gain, ")"), "a finite gain");
  std::int64_t rows = 1;
  for (std::size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
  const std::int64_t cols = shape.back();
  std::vector<double> out(static_cast<std::size_t>(rows * cols));
  if (out.empty()) return out;
  const Eigen::Index m = std::max(rows, cols);
  const Eigen::Index n = std::min(rows, cols);
  const RandomSpec normal{RandomKind::normal, 0.0, 1.0};
  Eigen::MatrixXd a(m, n);
  for (Eigen::Index i = 0; i < m; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) {
      a(i, j) = random_value(normal, seed, static_cast<std::uint64_t>(i * n + j));
    }
  }
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(m, n);
  for (Eigen::Index j = 0; j < n; ++j) {
    const double d = qr.matrixQR()(j, j);
    q.col(j) *= d > 0.0 ? 1.0 : (d < 0.0 ? -1.0 : 0.0);  // Keras's ops.sign: sign(0) = 0
  }
  const bool transpose = rows < cols;
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) {
      const double v = transpose ? q(j, i) : q(i, j);
      out[static_cast<std::size_t>(i * cols + j)] = init.gain * v;
    }
  }
  return out;
}

}  // namespace detail

void initialize(const Initializer& init, std::uint64_t seed, const TensorView& out) {
  detail::check_initializer_output(out);
  const std::vector<std::int64_t> shape = detail::shape_of(out);
  const std::vector<double> values = values_for(init, seed, shape);
  detail::for_each_element(out, [&](std::int64_t i, std::int64_t offset) {
    // Rounded to float32 first, as the device does, then to the view's dtype.
    detail::store_element(out.data, out.dtype, offset,
                          static_cast<double>(static_cast<float>(values[static_cast<std::size_t>(i)])));
  });
}

std::vector<double> initial_values(const Initializer& init, std::uint64_t seed,
                                   const std::vector<std::int64_t>& shape) {
  check_shape(shape);
  return values_for(init, seed, shape);
}

}  // namespace sepconv
