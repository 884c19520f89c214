// sepconv1d — runs a SeparableConv1D layer: a Keras layer's config and weights from files, or (with
// no file flags) a built-in demo layer on seeded random data. `sepconv1d --help` for the flags.
#include <cstdio>
#include <filesystem>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "backward_command.h"
#include "cli_options.h"
#include "cli_support.h"
#include "keras_commands.h"
#include "text.h"
#include "io/npy.h"
#include "run_layer.h"
#include "sepconv/keras.h"
#include "sepconv/sepconv.h"

namespace {

using sepconv::DType;
using sepconv::LayerConfig;
using sepconv::cli::check_output_path;
using sepconv::cli::describe;
using sepconv::cli::Device;
using sepconv::cli::device_note;
using sepconv::cli::Options;
using sepconv::io::FileError;
using sepconv::io::HostArray;

// ---- the demo ------------------------------------------------------------------------------------

int demo(const Options& options) {
  LayerConfig config;
  config.filters = 64;
  config.kernel_size = 9;
  config.padding = sepconv::Padding::same;
  config.depth_multiplier = 2;
  config.activation = sepconv::Activation::gelu;
  const std::int64_t batch = 4, length = 512, channels = 32;
  const std::int64_t cm = channels * config.depth_multiplier;
  const DType dtype = options.dtype.value_or(DType::f32);

  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  auto random = [&](std::vector<std::int64_t> shape, float scale) {
    HostArray a = HostArray::zeros(DType::f32, std::move(shape));
    auto* v = reinterpret_cast<float*>(a.bytes.data());
    for (std::int64_t i = 0; i < a.numel(); ++i) v[i] = scale * uniform(rng);
    return sepconv::io::converted(a, dtype);
  };
  const HostArray x = random({batch, length, channels}, 1.f);
  const HostArray dw = random({config.kernel_size, channels, config.depth_multiplier}, 1.f);
  const HostArray pw = random({1, cm, config.filters}, 0.125f);
  const HostArray bias = random({config.filters}, 0.5f);
  const auto out = sepconv::output_shape(config, batch, length);
  HostArray y = HostArray::zeros(dtype, {out[0], out[1], out[2]});

  const auto run = sepconv::cli::run_layer(config, {dtype, options.math, options.float32_intermediate}, x.view(),
                                           {dw.view(), pw.view(), bias.view()}, y.view(),
                                           options.device);
  double checksum = 0;
  for (std::int64_t i = 0; i < y.numel(); ++i) checksum += y.get(i);
  const auto name = std::string(to_string(dtype));
  std::printf("sepconv %s demo: %s\n", sepconv::version_string(), describe(config).c_str());
  std::printf("  input  (%lld, %lld, %lld) %s channels_last, seed 2026\n",
              static_cast<long long>(batch), static_cast<long long>(length),
              static_cast<long long>(channels), name.c_str());
  std::printf("  output %s %s\n", sepconv::io::shape_tuple(y.shape).c_str(), name.c_str());
  std::printf("  device %s: %.3f ms\n", device_note(run).c_str(), run.forward_ms);
  std::printf("  checksum (sum of outputs): %.6f\n", checksum);
  return 0;
}

// ---- a layer from files --------------------------------------------------------------------------

// The file a `validate_forward` argument comes from, for messages.
const std::string& file_of(const std::string& argument, const Options& o) {
  if (argument == "x" || argument == "length" || argument == "in_channels") return *o.input;
  if (argument == "depthwise") return *o.depthwise;
  if (argument == "pointwise") return *o.pointwise;
  if (argument == "bias" && o.bias) return *o.bias;
  if (argument == "y") return *o.output;
  return *o.config;  // filters, kernel_size, ...: the config's keys
}

// The compute dtype: --dtype; else the input file's ('<f2' -> f16, '<f4' -> f32), except that
// float32 files of a layer whose config says bfloat16 / mixed_bfloat16 mean bf16 (bfloat16 data
// travels as float32 files, so only the config can tell). Keras writes a dtype into every config
// (float32 by default), so the config cannot simply win over the files. Also says where the
// choice came from, for messages.
struct DtypeChoice {
  DType dtype;
  std::string source;
};
DtypeChoice choose_dtype(const Options& o, const sepconv::keras::LayerSpec& config,
                       const HostArray& input) {
  if (o.dtype) return {*o.dtype, "--dtype"};
  if (input.dtype == DType::f32 && config.dtype == DType::bf16) {
    return {DType::bf16, sepconv::cli::str("float32 files and the dtype \"", config.dtype_name,
                                              "\" of ", *o.config, "; override with --dtype")};
  }
  return {input.dtype, sepconv::cli::str("the dtype of ", *o.input, "; override with --dtype")};
}

// Checks that a file holds the dtype the computation reads and converts it (f32 -> bf16).
HostArray to_compute_dtype(const HostArray& a, const std::string& path, const DtypeChoice& p) {
  const DType file = p.dtype == DType::f16 ? DType::f16 : DType::f32;
  if (a.dtype != file) {
    const auto npy = [](DType d) { return d == DType::f16 ? "'<f2' (float16)" : "'<f4' (float32)"; };
    throw FileError(path, sepconv::cli::str(
                              "dtype ", npy(a.dtype), ", but the layer computes in ",
                              to_string(p.dtype), " (", p.source, ") and reads ", npy(file),
                              " files; all files must have the same dtype"));
  }
  return sepconv::io::converted(a, p.dtype);
}

int run_files(const Options& o) {
  check_output_path(o);
  sepconv::keras::LayerSpec keras;
  try {
    keras = sepconv::keras::read_layer_config(*o.config);
  } catch (const sepconv::InvalidArgument& e) {
    throw FileError(*o.config, e.what());
  }
  const LayerConfig& config = keras.layer;
  const HostArray x_file = sepconv::io::read_npy(*o.input);
  const HostArray dw_file = sepconv::io::read_npy(*o.depthwise);
  const HostArray pw_file = sepconv::io::read_npy(*o.pointwise);
  if (config.use_bias && !o.bias) {
    throw FileError(*o.config, "use_bias is true, so the layer needs --bias B.npy");
  }
  if (!config.use_bias && o.bias) {
    throw FileError(*o.bias, "a bias was given but " + *o.config +
                                 " has use_bias false; drop --bias");
  }
  const HostArray b_file = o.bias ? sepconv::io::read_npy(*o.bias) : HostArray{};

  const DtypeChoice precision = choose_dtype(o, keras, x_file);
  const DType dtype = precision.dtype;
  const HostArray x = to_compute_dtype(x_file, *o.input, precision);
  const HostArray dw = to_compute_dtype(dw_file, *o.depthwise, precision);
  const HostArray pw = to_compute_dtype(pw_file, *o.pointwise, precision);
  const HostArray bias = o.bias ? to_compute_dtype(b_file, *o.bias, precision) : HostArray{};
  const sepconv::Weights weights{dw.view(), pw.view(),
                                 o.bias ? bias.view() : sepconv::ConstTensorView{}};

  HostArray y;
  sepconv::cli::RunInfo run;
  try {
    if (x.shape.size() != 3) {
      sepconv::cli::fail("x", "shape " + sepconv::io::shape_tuple(x.shape),
                            config.data_format == sepconv::DataFormat::channels_last
                                ? "rank 3: (batch, steps, channels)"
                                : "rank 3: (batch, channels, steps)");
    }
    const bool last = config.data_format == sepconv::DataFormat::channels_last;
    const auto out = sepconv::output_shape(config, x.shape[0], x.shape[last ? 1 : 2]);
    sepconv::validate_weights(config, dtype, x.shape[last ? 2 : 1], weights);
    y = HostArray::zeros(dtype, {out[0], out[1], out[2]});
    const sepconv::Precision p{dtype, o.math, o.float32_intermediate};
    run = o.chunk ? sepconv::cli::run_layer_chunked(config, p, x.view(), weights, y.view(),
                                                    o.device, *o.chunk)
                  : sepconv::cli::run_layer(config, p, x.view(), weights, y.view(), o.device);
  } catch (const sepconv::InvalidArgument& e) {
    // A weight whose shape does not fit may as well be the input's fault: name both.
    const bool weight = e.argument() == "depthwise" || e.argument() == "pointwise";
    throw FileError(file_of(e.argument(), o),
                    weight ? sepconv::cli::str(e.what(), " (in_channels = ",
                                                  x.shape[config.data_format == sepconv::DataFormat::channels_last ? 2 : 1],
                                                  " from the input ", *o.input, ")")
                           : std::string(e.what()));
  }

  sepconv::io::write_npy(*o.output, sepconv::io::converted(y, dtype == DType::bf16 ? DType::f32 : dtype));
  if (!o.quiet) {
    std::printf("sepconv1d: %s\n", describe(config).c_str());
    std::printf("  input  %s %s %s\n", o.input->c_str(), sepconv::io::shape_tuple(x.shape).c_str(),
                std::string(to_string(dtype)).c_str());
    std::printf("  output %s %s %s\n", o.output->c_str(), sepconv::io::shape_tuple(y.shape).c_str(),
                std::string(to_string(dtype)).c_str());
    std::printf("  device %s: %.3f ms\n", device_note(run).c_str(), run.forward_ms);
    if (o.chunk) sepconv::cli::print_chunk_note(*o.chunk);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // `sepconv1d backward ...` (tools/cli/backward_command.h) has its own flags.
  if (argc >= 2 && std::string_view(argv[1]) == "backward") {
    return sepconv::cli::backward_main(argc, argv);
  }
  Options options;
  try {
    options = sepconv::cli::parse_options(argc, argv);
  } catch (const sepconv::cli::UsageError& e) {
    std::fprintf(stderr, "sepconv1d: %s (see 'sepconv1d --help')\n", e.what());
    return 2;
  }
  if (options.command != Options::Command::run && options.command != Options::Command::layers) {
    std::fputs(sepconv::cli::help_text(), stdout);
    return 0;
  }
  try {
    if (options.command == Options::Command::layers) return sepconv::cli::list_layers(options);
    if (options.keras) return sepconv::cli::run_keras(options);
    return options.demo() ? demo(options) : run_files(options);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "sepconv1d: out of memory\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sepconv1d: %s\n", e.what());
  }
  return 1;
}
