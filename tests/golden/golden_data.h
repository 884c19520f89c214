// Test support: the golden data made by real Keras (tests/data/golden, written by
// tools/gen_keras_golden.py; its README describes the layout) — the manifest and one case's files.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "io/host_array.h"
#include "sepconv/config.h"
#include "sepconv/keras.h"

namespace sepconv::test::golden {

/// One entry of manifest.json.
struct Case {
  std::string name;       ///< its folder
  std::string kind;       ///< "forward" or "error"
  std::string framework;  ///< "keras" or "tf_keras"
  std::string framework_version;
  std::string backend;
  std::vector<std::int64_t> input_shape;  ///< as the case's data_format lays it out
  std::string notes;
  // Error cases only.
  std::string error_type;      ///< the exception Keras raised; empty when it raised nothing
  std::string error_message;
  std::string error_argument;  ///< filters|kernel_size|...|input
  bool keras_raised = true;    ///< false: Keras accepted what sepconv rejects (see notes)

  /// "keras 3.15.1 (jax)".
  [[nodiscard]] std::string framework_label() const;
};

/// The golden folder: the SEPCONV_GOLDEN_DIR environment variable when set (binaries run away from
/// their build tree, e.g. the GPU bundle), else the SEPCONV_GOLDEN_DIR CMake cache value compiled in
/// (by default the absolute path of tests/data/golden; a relative value is taken from the working
/// directory).
[[nodiscard]] std::string directory();

/// The cases of `directory()/manifest.json`. Throws std::runtime_error when it is missing or
/// malformed.
[[nodiscard]] std::vector<Case> load_manifest();

/// The files of a forward case, read with sepconv_io.
struct ForwardCase {
  keras::LayerSpec config;
  io::HostArray input, depthwise, pointwise, bias, output;  ///< bias empty without use_bias
  std::string folder;
  [[nodiscard]] Weights weights() const;
  /// C, read from the input's shape and the data format.
  [[nodiscard]] std::int64_t in_channels() const;
  [[nodiscard]] std::string file(const char* name) const { return folder + "/" + name; }
};
[[nodiscard]] ForwardCase load_forward(const Case& c);

/// The config of any case.
[[nodiscard]] keras::LayerSpec load_config(const Case& c);

/// Only the forward / error cases, for TEST_P instantiation (empty when the manifest cannot be
/// read; `load_manifest` then tells why).
[[nodiscard]] std::vector<Case> cases_of_kind(const std::string& kind);

/// GoogleTest prints a case as its name.
inline void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

/// GoogleTest parameter names: the case name.
struct CaseName {
  template <class Info>
  std::string operator()(const Info& info) const {
    return info.param.name;
  }
};

}  // namespace sepconv::test::golden
