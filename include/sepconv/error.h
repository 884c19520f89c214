// sepconv — errors.
//
// Every function of the public API reports failure by throwing one of the exceptions below;
// nothing is ever thrown from a destructor. Arguments are checked before any work starts, so
// when an `InvalidArgument` escapes, no output buffer has been written.
#pragma once

#include <stdexcept>
#include <string>

#include "sepconv/export.h"

namespace sepconv {

/// Base class of every exception sepconv throws.
class SEPCONV_EXPORT Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A caller-supplied value is invalid. `what()` names the argument, the value given and what was
/// expected, e.g. "sepconv: invalid `strides`: got 2 with dilation_rate 2; expected strides == 1
/// when dilation_rate > 1".
class SEPCONV_EXPORT InvalidArgument : public Error {
 public:
  InvalidArgument(std::string argument, const std::string& message);
  /// The message in sepconv's one format: "sepconv: invalid `argument`: got <got>; expected
  /// <expected>".
  InvalidArgument(std::string argument, const std::string& got, const std::string& expected);
  /// The name of the offending argument as the Keras layer spells it (`filters`, `kernel_size`,
  /// `padding`, ...) or the sepconv parameter name (`x`, `y`, `depthwise`, `window`, ...).
  [[nodiscard]] const std::string& argument() const noexcept { return argument_; }

 private:
  std::string argument_;
};

/// The request is valid but this build or device cannot run it (for example a GPU call in a build
/// without CUDA, or a launch the device's limits rule out).
class SEPCONV_EXPORT Unsupported : public Error {
 public:
  using Error::Error;
};

/// A CUDA runtime call failed. `what()` names the call, the status name and the source location.
class SEPCONV_EXPORT CudaError : public Error {
 public:
  CudaError(const std::string& message, int status) : Error(message), status_(status) {}
  /// The `cudaError_t` value.
  [[nodiscard]] int status() const noexcept { return status_; }

 private:
  int status_;
};

/// A cuBLAS / cuBLASLt call failed. `what()` names the call, the status name and the location.
class SEPCONV_EXPORT CublasError : public Error {
 public:
  CublasError(const std::string& message, int status) : Error(message), status_(status) {}
  /// The `cublasStatus_t` value.
  [[nodiscard]] int status() const noexcept { return status_; }

 private:
  int status_;
};

}  // namespace sepconv
