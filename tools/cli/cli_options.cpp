#include "cli_options.h"

#include <array>
#include <string_view>

#include "sepconv/error.h"

namespace sepconv::cli {
namespace {

using Slot = std::optional<std::string> Options::*;

struct FileFlag {
  std::string_view name;
  Slot slot;
  bool required;  // required when any file flag is given
};
constexpr std::array<FileFlag, 6> kFileFlags = {{
    {"--config", &Options::config, true},
    {"--depthwise", &Options::depthwise, true},
    {"--pointwise", &Options::pointwise, true},
    {"--bias", &Options::bias, false},
    {"--input", &Options::input, true},
    {"--output", &Options::output, true},
}};

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

bool is_help(std::string_view arg) { return arg == "--help" || arg == "-h"; }

}  // namespace

std::optional<DType> parse_dtype_flag(const std::string& text) {
  if (text == "f32" || text == "float32") return DType::f32;
  if (text == "f16" || text == "float16") return DType::f16;
  if (text == "bf16" || text == "bfloat16") return DType::bf16;
  return std::nullopt;
}

Options parse_options(int argc, const char* const* argv) {
  Options o;
  if (argc < 2) throw UsageError("missing command: expected 'run' or '--help'");
  const std::string_view command = argv[1];
  if (is_help(command)) {
    if (argc > 2) throw UsageError("unexpected argument " + quoted(argv[2]) + " after --help");
    o.command = Options::Command::help;
    return o;
  }
  if (command != "run") {
    throw UsageError("unknown command " + quoted(command) + ": expected 'run' or '--help'");
  }
  for (int i = 2; i < argc; ++i) {
    if (is_help(argv[i])) {
      o.command = Options::Command::run_help;
      return o;
    }
  }

  bool seen_device = false;
  bool seen_dtype = false;
  bool seen_math = false;
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
    std::string_view name = arg;
    std::optional<std::string> value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
    }
    const FileFlag* file = nullptr;
    for (const auto& f : kFileFlags) {
      if (f.name == name) file = &f;
    }
    if (file == nullptr && name != "--device" && name != "--dtype" && name != "--math") {
      throw UsageError("unknown flag " + quoted(name));
    }
    if (!value) {
      if (i + 1 >= argc || std::string_view(argv[i + 1]).substr(0, 2) == "--") {
        throw UsageError("missing value for " + std::string(name));
      }
      value = argv[++i];
    }
    if (value->empty()) throw UsageError("empty value for " + std::string(name));

    if (file != nullptr) {
      auto& slot = o.*(file->slot);
      if (slot) throw UsageError(std::string(name) + " given twice");
      slot = std::move(*value);
    } else if (name == "--device") {
      if (seen_device) throw UsageError("--device given twice");
      seen_device = true;
      try {
        o.device = parse_device(*value);
      } catch (const InvalidArgument&) {
        throw UsageError("--device " + quoted(*value) + ": expected cpu, gpu or auto");
      }
    } else if (name == "--math") {
      if (seen_math) throw UsageError("--math given twice");
      seen_math = true;
      if (*value == "exact") {
        o.math = MathMode::exact;
      } else if (*value == "tf32") {
        o.math = MathMode::tf32;
      } else {
        throw UsageError("--math " + quoted(*value) + ": expected exact or tf32");
      }
    } else {
      if (seen_dtype) throw UsageError("--dtype given twice");
      seen_dtype = true;
      o.dtype = parse_dtype_flag(*value);
      if (!o.dtype) throw UsageError("--dtype " + quoted(*value) + ": expected f32, f16 or bf16");
    }
  }

  if (!o.demo()) {
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
                [--math exact|tf32] [--float32-intermediate] [--quiet]
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
  --quiet                 print nothing on success (a run from files)
  -h, --help              this text

Gradients: 'sepconv1d backward --help' (dLoss/dX and the weight gradients for a dLoss/dY).

.npy files: little-endian float32 or float16, C or Fortran order, format 1.0 to 3.0.
Exit status: 0 success; 1 a data error (unreadable, malformed or mismatched files, an invalid
config, an unsupported device) with one message on stderr naming the file; 2 a usage error.
)";
}

}  // namespace sepconv::cli
