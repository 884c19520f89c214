// sepconv1d — command-line parsing (no I/O, so it can be unit-tested).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "run_layer.h"
#include "sepconv/types.h"

namespace sepconv::cli {

/// A malformed command line: unknown command or flag, a flag without its value or given twice,
/// a missing required flag, an invalid --device / --dtype value. The tool exits with status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Options {
  enum class Command { help, run_help, run, layers };
  Command command = Command::run;
  // Files; all absent means the built-in demo.
  std::optional<std::string> config, depthwise, pointwise, bias, input, output;
  /// --keras MODEL (run), or the MODEL of `layers`; --layer NAME (keras_commands.h).
  std::optional<std::string> keras, layer;
  Device device = Device::automatic;
  std::optional<DType> dtype;  ///< --dtype; absent: chosen from the files (see help_text)
  MathMode math = MathMode::exact;    ///< --math
  bool float32_intermediate = false;  ///< --float32-intermediate
  bool quiet = false;
  /// --chunk N: run the file's input as a stream in chunks of N >= 1 steps (run_layer_chunked).
  std::optional<std::int64_t> chunk;

  /// True when no file flag was given: `sepconv1d run` runs the built-in demo.
  [[nodiscard]] bool demo() const {
    return !config && !depthwise && !pointwise && !bias && !input && !output && !keras && !layer;
  }
};

/// Parses argv. Flags take their value as the next argument or after '=' (--dtype=f16).
/// Throws `UsageError` with a one-line message.
[[nodiscard]] Options parse_options(int argc, const char* const* argv);

/// A flag and its value, as written "--name=value" or "--name value".
struct FlagValue {
  std::string name;
  std::optional<std::string> value;  ///< after '='; absent when written without one
};
/// Splits "--name=value" (no '=': the whole argument is the name, the value absent).
[[nodiscard]] FlagValue split_flag(const std::string& arg);
/// The value of `flag`: the one after '=', else argv[++i] (the next argument, which must not be a
/// flag). Throws `UsageError` for a missing or empty value.
[[nodiscard]] std::string take_value(const FlagValue& flag, int argc, const char* const* argv, int& i);

/// --device, --dtype and --math: the flags every command that runs a layer takes, each at most
/// once, parsed into the command's own fields.
struct LayerFlags {
  Device& device;
  std::optional<DType>& dtype;
  MathMode& math;
  bool seen_device = false, seen_dtype = false, seen_math = false;
};
/// True when `name` is one of LayerFlags' flags (then `value` is parsed into it); false for
/// another name. Throws `UsageError` for a bad value or a flag given twice.
[[nodiscard]] bool parse_layer_flag(std::string_view name, const std::string& value,
                                    LayerFlags& flags);

/// Parses a --dtype value: f32, f16, bf16 (or float32, float16, bfloat16).
[[nodiscard]] std::optional<DType> parse_dtype_flag(const std::string& text);

/// Parses a --chunk value: a whole number of steps >= 1. Throws `UsageError` otherwise.
[[nodiscard]] std::int64_t parse_chunk_flag(const std::string& text);

/// The text of `sepconv1d --help` (and `sepconv1d run --help`): every flag, documented.
[[nodiscard]] const char* help_text();

}  // namespace sepconv::cli
