#include "cli_options.h"

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "keras_commands.h"
#include "sepconv/error.h"

namespace sepconv::cli {
namespace {

using Slot = std::optional<std::string> Options::*;

struct FileFlag {
  std::string_view name;
  Slot slot;
  bool required;  // required when any file flag is given
};
constexpr std::array<FileFlag, 8> kFileFlags = {{
    {"--config", &Options::config, true},
    {"--depthwise", &Options::depthwise, true},
    {"--pointwise", &Options::pointwise, true},
    {"--bias", &Options::bias, false},
    {"--input", &Options::input, true},
    {"--output", &Options::output, true},
    {"--keras", &Options::keras, false},  // keras_commands.h checks the flags of `run --keras`
    {"--layer", &Options::layer, false},
}};

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

bool is_help(std::string_view arg) { return arg == "--help" || arg == "-h"; }

}  // namespace

FlagValue split_flag(const std::string& arg) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos) return {arg, std::nullopt};
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

std::string take_value(const FlagValue& flag, int argc, const char* const* argv, int& i) {
  std::string value;
  if (flag.value) {
    value = *flag.value;
  } else {
    if (i + 1 >= argc || std::string_view(argv[i + 1]).substr(0, 2) == "--") {
      throw UsageError("missing value for " + flag.name);
    }
    value = argv[++i];
  }
  if (value.empty()) throw UsageError("empty value for " + flag.name);
  return value;
}

bool parse_layer_flag(std::string_view name, const std::string& value, LayerFlags& flags) {
  const auto once = [&](bool& seen) {
    if (seen) throw UsageError(std::string(name) + " given twice");
    seen = true;
  };
  if (name == "--device") {
    once(flags.seen_device);
    try {
      flags.device = parse_device(value);
    } catch (const InvalidArgument&) {
      throw UsageError("--device " + quoted(value) + ": expected cpu, gpu or auto");
    }
  } else if (name == "--math") {
    once(flags.seen_math);
    if (value != "exact" && value != "tf32") {
      throw UsageError("--math " + quoted(value) + ": expected exact or tf32");
    }
    flags.math = value == "tf32" ? MathMode::tf32 : MathMode::exact;
  } else if (name == "--dtype") {
    once(flags.seen_dtype);
    flags.dtype = parse_dtype_flag(value);
    if (!flags.dtype) throw UsageError("--dtype " + quoted(value) + ": expected f32, f16 or bf16");
  } else {
    return false;
  }
  return true;
}

std::optional<DType> parse_dtype_flag(const std::string& text) {
  if (text == "f32" || text == "float32") return DType::f32;
  if (text == "f16" || text == "float16") return DType::f16;
  if (text == "bf16" || text == "bfloat16") return DType::bf16;
  return std::nullopt;
}

std::int64_t parse_chunk_flag(const std::string& text) {
  const auto bad = [&] {
    return UsageError("--chunk " + quoted(text) + ": expected a whole number of steps >= 1");
  };
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) throw bad();
  std::int64_t steps = 0;
  try {
    steps = std::stoll(text);
  } catch (const std::out_of_range&) {
    throw bad();
  }
  if (steps < 1) throw bad();
  return steps;
}

Options parse_options(int argc, const char* const* argv) {
  Options o;
  constexpr const char* kCommands = "expected 'run', 'layers', 'backward' or '--help'";
  if (argc < 2) throw UsageError(std::string("missing command: ") + kCommands);
  const std::string_view command = argv[1];
  if (is_help(command)) {
    if (argc > 2) throw UsageError("unexpected argument " + quoted(argv[2]) + " after --help");
    o.command = Options::Command::help;
    return o;
  }
  if (command == "layers") {
    parse_layers_command(argc, argv, o);
    return o;
  }
  if (command != "run") {
    throw UsageError("unknown command " + quoted(command) + ": " + kCommands);
  }
  for (int i = 2; i < argc; ++i) {
    if (is_help(argv[i])) {
      o.command = Options::Command::run_help;
      return o;
    }
  }

  LayerFlags layer_flags{o.device, o.dtype, o.math};
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--") throw UsageError("unexpected argument " + quoted(arg));
    if (arg == "--quiet") {
      if (o.quiet) throw UsageError("--quiet given twice");
      o.quiet = true;
      continue;
    }
    if (arg == "--float32-intermediate") {
      if (o.float32_intermediate) throw UsageError("--float32-intermediate given twice");
      o.float32_intermediate = true;
      continue;
    }
    // --flag=value or --flag value.
    const FlagValue flag = split_flag(std::string(arg));
    const std::string_view name = flag.name;
    const FileFlag* file = nullptr;
    for (const auto& f : kFileFlags) {
      if (f.name == name) file = &f;
    }
    if (file == nullptr && name != "--device" && name != "--dtype" && name != "--math" &&
        name != "--chunk") {
      throw UsageError("unknown flag " + quoted(name));
    }
    std::string value = take_value(flag, argc, argv, i);

    if (file != nullptr) {
      auto& slot = o.*(file->slot);
      if (slot) throw UsageError(std::string(name) + " given twice");
      slot = std::move(value);
    } else if (name == "--chunk") {
      if (o.chunk) throw UsageError("--chunk given twice");
      o.chunk = parse_chunk_flag(value);
    } else if (!parse_layer_flag(name, value, layer_flags)) {
      throw UsageError("unknown flag " + quoted(name));
    }
  }

  if (o.chunk && o.demo()) {
    throw UsageError("--chunk runs a layer from files (the demo's layer has same padding, which "
                     "cannot stream)");
  }
  if (o.keras) {
    check_keras_run_flags(o);
  } else if (o.layer) {
    throw UsageError("--layer without --keras: it names a layer of a Keras model file");
  } else if (!o.demo()) {
    std::string missing;
    for (const auto& f : kFileFlags) {
      if (f.required && !(o.*(f.slot))) missing += (missing.empty() ? "" : ", ") + std::string(f.name);
    }
    if (!missing.empty()) {
      throw UsageError("missing " + missing +
                       " (running a layer from files needs --config, --depthwise, --pointwise, "
                       "--input and --output; without any file flag 'run' runs the demo)");
    }
  }
  return o;
}

const char* help_text() {
  return R"(sepconv1d — run a Keras SeparableConv1D layer with sepconv

Usage:
  sepconv1d run --config CONFIG.json --depthwise DW.npy --pointwise PW.npy [--bias B.npy]
                --input X.npy --output Y.npy [--device cpu|gpu|auto] [--dtype f32|f16|bf16]
                [--math exact|tf32] [--float32-intermediate] [--chunk N] [--quiet]
  sepconv1d run --keras MODEL [--config CONFIG.json] [--layer NAME] --input X.npy
                --output Y.npy [--device cpu|gpu|auto] [other run flags]
                          a SeparableConv1D layer straight from a Keras model file
  sepconv1d layers MODEL [--config CONFIG.json]
                          list MODEL's SeparableConv1D layers: path, input channels, config
  sepconv1d run [--device cpu|gpu|auto] [--dtype f32|f16|bf16] [--math exact|tf32]
                [--float32-intermediate]
                          no file flags: a built-in demo layer on seeded random data
                          (prints shapes, the device, timing and a checksum)
  sepconv1d --help | run --help

Flags of 'run' (a flag's value may also be written --flag=VALUE):
  --config CONFIG.json    the layer's configuration: json.dump(layer.get_config()) from Keras 3
                          or tf.keras 2.x (filters, kernel_size, strides, padding, data_format,
                          dilation_rate, depth_multiplier, activation, use_bias, dtype; other
                          keys are ignored)
  --depthwise DW.npy      depthwise kernel, shape (kernel_size, in_channels, depth_multiplier)
                          = layer.get_weights()[0]
  --pointwise PW.npy      pointwise kernel, shape (1, in_channels*depth_multiplier, filters)
                          = layer.get_weights()[1]
  --bias B.npy            bias, shape (filters,) = layer.get_weights()[2]; required exactly when
                          the config has use_bias true
  --input X.npy           input, (batch, steps, channels) for channels_last or
                          (batch, channels, steps) for channels_first
  --output Y.npy          where the output is written (.npy, same layout rules); written only on
                          success, through a temporary file renamed into place
  --device cpu|gpu|auto   cpu: the float64 CPU reference; gpu: the CUDA path on device 0 (an
                          error without a usable GPU); auto (default): the GPU when available,
                          else the CPU
  --dtype f32|f16|bf16    the layer's compute and storage type. Default: the input file's
                          ('<f4' -> f32, '<f2' -> f16), except bf16 for '<f4' files when the
                          config's dtype is bfloat16 or mixed_bfloat16. f32 and bf16 read
                          float32 ('<f4') files (bf16 rounds them to bfloat16: numpy has no
                          bfloat16); f16 reads float16 ('<f2') files. Every file must have that
                          dtype. The output is '<f4' for f32 and bf16 (the bfloat16 values,
                          exactly), '<f2' for f16
  --math exact|tf32       GPU float32 GEMMs: exact float32 (default) or TF32 tensor cores; for
                          f16/bf16 only with --float32-intermediate (the CPU reference always
                          computes in float64)
  --float32-intermediate  f16/bf16 on the GPU: keep the depthwise result in float32 and run the
                          pointwise GEMM in float32 (default: in the layer's dtype, as Keras
                          mixed precision does)
  --chunk N               run the input as a stream, N steps at a time (the last chunk may be
                          shorter), through the streaming API (forward_chunk) of the device;
                          writes the same output as without --chunk (bit for bit on the CPU).
                          Needs causal or valid padding, and no softmax / log_softmax with
                          channels_first
  --quiet                 print nothing on success (a run from files)
  --keras MODEL           run a layer of a Keras model file instead of --depthwise/--pointwise/
                          --bias: a Keras 3 .keras archive or .weights.h5, a tf.keras 2.x .h5
                          model or weights file (the format is read from the file). The layer's
                          dtype policy chooses the dtype (--dtype overrides it); the input is
                          cast to it as Keras does (float32 or float16 .npy files)
  --config CONFIG.json    with --keras: the config a weights-only file needs, the model's
                          to_json() or the layer's get_config(); not allowed for files that hold
                          their config (.keras, .h5 models)
  --layer NAME            with --keras: the layer, by its name or its path OUTER/INNER inside
                          nested models; optional when MODEL has one SeparableConv1D layer
  -h, --help              this text

Gradients: 'sepconv1d backward --help' (dLoss/dX and the weight gradients for a dLoss/dY).

.npy files: little-endian float32 or float16, C or Fortran order, format 1.0 to 3.0.
Exit status: 0 success; 1 a data error (unreadable, malformed or mismatched files, an invalid
config, an unsupported device) with one message on stderr naming the file; 2 a usage error.
)";
}

}  // namespace sepconv::cli
