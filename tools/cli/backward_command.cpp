#include "backward_command.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <new>
#include <string_view>
#include <utility>
#include <vector>

#include "cli_options.h"
#include "keras_commands.h"
#include "sepconv/keras.h"
#include "io/npy.h"
#include "sepconv/reference.h"
#include "sepconv/version.h"
#include "text.h"
#if SEPCONV_WITH_CUDA
#include "sepconv/layer.h"
#endif

namespace sepconv::cli {
namespace {

using io::FileError;
using io::HostArray;
using Slot = std::optional<std::string> BackwardOptions::*;

// A file flag: required (without --keras, where `layer_file` flags name the layer's files),
// written (an output), or the layer's own files, which --keras replaces.
enum class Role : std::uint8_t { layer_file, optional_layer_file, input, output, optional_output, model };
struct FileFlag {
  std::string_view name;
  Slot slot;
  Role role;
  [[nodiscard]] bool output() const { return role == Role::output || role == Role::optional_output; }
};
constexpr std::array<FileFlag, 12> kFlags = {{
    {"--config", &BackwardOptions::config, Role::layer_file},
    {"--depthwise", &BackwardOptions::depthwise, Role::layer_file},
    {"--pointwise", &BackwardOptions::pointwise, Role::layer_file},
    {"--bias", &BackwardOptions::bias, Role::optional_layer_file},
    {"--input", &BackwardOptions::input, Role::input},
    {"--grad-output", &BackwardOptions::grad_output, Role::input},
    {"--grad-input", &BackwardOptions::grad_input, Role::output},
    {"--grad-depthwise", &BackwardOptions::grad_depthwise, Role::output},
    {"--grad-pointwise", &BackwardOptions::grad_pointwise, Role::output},
    {"--grad-bias", &BackwardOptions::grad_bias, Role::optional_output},
    {"--keras", &BackwardOptions::keras, Role::model},
    {"--layer", &BackwardOptions::layer, Role::model},
}};

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

BackwardOptions parse_backward_options(int argc, const char* const* argv) {
  BackwardOptions o;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      return o;
    }
  }
  LayerFlags layer_flags{o.device, o.dtype, o.math};
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--") throw UsageError("backward: unexpected argument " + in_quotes(arg));
    if (arg == "--quiet" || arg == "--float32-intermediate") {
      bool& flag = arg == "--quiet" ? o.quiet : o.float32_intermediate;
      if (flag) throw UsageError(std::string(arg) + " given twice");
      flag = true;
      continue;
    }
    const FlagValue flag = split_flag(std::string(arg));  // --flag=value or --flag value
    const FileFlag* file = nullptr;
    for (const auto& f : kFlags) {
      if (f.name == flag.name) file = &f;
    }
    if (file == nullptr && flag.name != "--device" && flag.name != "--dtype" &&
        flag.name != "--math") {
      throw UsageError("backward: unknown flag " + in_quotes(flag.name));
    }
    std::string value = take_value(flag, argc, argv, i);
    if (file != nullptr) {
      auto& slot = o.*(file->slot);
      if (slot) throw UsageError(flag.name + " given twice");
      slot = std::move(value);
    } else if (!parse_layer_flag(flag.name, value, layer_flags)) {
      throw UsageError("backward: unknown flag " + in_quotes(flag.name));
    }
  }
  if (o.layer && !o.keras) {
    throw UsageError("--layer without --keras: it names a layer of a Keras model file");
  }
  std::string missing;
  for (const auto& f : kFlags) {
    const bool given = (o.*(f.slot)).has_value();
    const bool layer_file = f.role == Role::layer_file || f.role == Role::optional_layer_file;
    if (o.keras && layer_file && f.name != "--config" && given) {
      throw UsageError(str(f.name, " with --keras: the weights come from the model file"));
    }
    const bool required = f.role == Role::input || f.role == Role::output ||
                          (f.role == Role::layer_file && !o.keras);
    if (required && !given) missing += (missing.empty() ? "" : ", ") + std::string(f.name);
  }
  if (!missing.empty()) {
    throw UsageError("backward: missing " + missing +
                     " (see 'sepconv1d backward --help')");
  }
  return o;
}

const char* backward_help_text() {
  return R"(sepconv1d backward — the gradients of a Keras SeparableConv1D layer

Usage:
  sepconv1d backward --config CONFIG.json --depthwise DW.npy --pointwise PW.npy [--bias B.npy]
                     --input X.npy --grad-output DY.npy --grad-input DX.npy
                     --grad-depthwise DDW.npy --grad-pointwise DPW.npy [--grad-bias DB.npy]
                     [--device cpu|gpu|auto] [--dtype f32|f16|bf16] [--math exact|tf32]
                     [--float32-intermediate] [--quiet]
  sepconv1d backward --keras MODEL [--config CONFIG.json] [--layer NAME] --input X.npy
                     --grad-output DY.npy --grad-input DX.npy --grad-depthwise DDW.npy
                     --grad-pointwise DPW.npy [--grad-bias DB.npy] [other flags as above]
                           the layer and its weights from a Keras model file, as
                           'sepconv1d run --keras' reads them (its dtype policy chooses the dtype;
                           X and DY are cast to it; --config only for a weights-only file)

Given the layer (the files of 'sepconv1d run'), its input X and DY = dLoss/dY (the output's
shape and layout), writes dLoss/dX, dLoss/d depthwise_kernel (k, C, M), dLoss/d pointwise_kernel
(1, C*M, F) and, exactly when the config has use_bias true, dLoss/d bias (F,): Keras's layouts
(what tape.gradient(loss, [x] + layer.trainable_weights) returns), in the input's dtype
('<f4' for f32 and bf16, '<f2' for f16; the weight gradients are computed in float32 and rounded
once when written as f16). --bias and --grad-bias are required exactly when use_bias.

  --grad-output DY.npy    dLoss/dY, of the layer's dtype (the same file rules as --input)
  --grad-input DX.npy     where dLoss/dX is written (X's shape)
  --grad-depthwise DDW.npy, --grad-pointwise DPW.npy, --grad-bias DB.npy
                          where the weight gradients are written
  --device cpu|gpu|auto   cpu: the float64 CPU reference backward; gpu: the CUDA layer on
                          device 0 (a training forward, then the backward); auto (default): the
                          GPU when available, else the CPU
  --dtype, --math, --float32-intermediate, --quiet: as for 'sepconv1d run' (sepconv1d --help)

The gradient files are written only when everything succeeded (all or none, each through a
temporary file renamed into place). Exit status: 0 success; 1 a data error (one message on stderr
naming the file); 2 a usage error.
)";
}

namespace {

#if SEPCONV_WITH_CUDA
// Device memory with the layout of a host view (the bytes its elements span, the same strides).
struct Mirror {
  DeviceBuffer buffer;
  TensorView view;
  Mirror(const ConstTensorView& host, int device)
      : buffer(std::max<std::size_t>(static_cast<std::size_t>(host.span_bytes()), 1), device),
        view{buffer.data(), host.dtype, host.rank, host.shape, host.strides} {}
  [[nodiscard]] std::size_t bytes() const { return static_cast<std::size_t>(view.span_bytes()); }
  void upload(const ConstTensorView& host, cudaStream_t stream) {
    if (bytes() > 0) {
      cuda_check(cudaMemcpyAsync(view.data, host.data, bytes(), cudaMemcpyHostToDevice, stream),
                 "cudaMemcpyAsync (upload)");
    }
  }
  void download(const TensorView& host, cudaStream_t stream) const {
    if (bytes() > 0) {
      cuda_check(cudaMemcpyAsync(host.data, view.data, bytes(), cudaMemcpyDeviceToHost, stream),
                 "cudaMemcpyAsync (download)");
    }
  }
};

struct Stream {
  cudaStream_t handle = nullptr;
  Stream() { cuda_check(cudaStreamCreateWithFlags(&handle, cudaStreamNonBlocking), "cudaStreamCreate"); }
  ~Stream() { static_cast<void>(cudaStreamDestroy(handle)); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
};

BackwardRun backward_on_gpu(const LayerConfig& config, const Precision& precision,
                            ConstTensorView x, const Weights& weights, ConstTensorView dy,
                            const Gradients& gradients) {
  const bool last = config.data_format == DataFormat::channels_last;
  const std::int64_t batch = x.shape[0], length = x.shape[last ? 1 : 2];
  Context context(0);
  SeparableConv1D layer(context, config, x.shape[last ? 2 : 1], precision);
  layer.set_weights(weights);
  const int device = context.device();
  cuda_check(cudaSetDevice(device), "cudaSetDevice");
  const Stream stream;
  Mirror x_dev(x, device), dy_dev(dy, device), y_dev(dy, device);  // y has dy's shape
  x_dev.upload(x, stream.handle);
  dy_dev.upload(dy, stream.handle);
  std::vector<Mirror> out;
  const std::array<TensorView, 4> host = {gradients.input, gradients.depthwise,
                                          gradients.pointwise, gradients.bias};
  Gradients g;
  std::array<TensorView*, 4> slots = {&g.input, &g.depthwise, &g.pointwise, &g.bias};
  out.reserve(4);
  for (std::size_t i = 0; i < 4; ++i) {
    if (host[i].data == nullptr) continue;
    out.emplace_back(host[i], device);
    *slots[i] = out.back().view;
  }
  const std::size_t state_bytes = layer.training_state_size(batch, length);
  const std::size_t workspace_bytes = layer.training_workspace_size(batch, length);
  const DeviceBuffer state(std::max<std::size_t>(state_bytes, 1), device);
  const Workspace workspace(context, std::max<std::size_t>(workspace_bytes, 1));
  layer.forward_training(x_dev.view, y_dev.view, state.data(), state_bytes, workspace.data(),
                         workspace_bytes, stream.handle);
  layer.backward(x_dev.view, dy_dev.view, state.data(), state_bytes, g, workspace.data(),
                 workspace_bytes, stream.handle);
  std::size_t k = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    if (host[i].data != nullptr) out[k++].download(host[i], stream.handle);
  }
  cuda_check(cudaStreamSynchronize(stream.handle), "cudaStreamSynchronize");
  return {Device::gpu, context.describe()};
}
#endif

}  // namespace

BackwardRun run_backward(const LayerConfig& config, const Precision& precision, ConstTensorView x,
                         const Weights& weights, ConstTensorView dy, const Gradients& gradients,
                         Device device) {
  validate(precision);
  validate_backward(config, precision.dtype, x, weights, dy, gradients);
  if (resolve_device(device) == Device::gpu) {
#if SEPCONV_WITH_CUDA
    return backward_on_gpu(config, precision, x, weights, dy, gradients);
#endif
  }
  reference::backward(config, x, weights, dy, gradients);
  return {Device::cpu, {}};
}

namespace {

// The compute dtype, as `sepconv1d run` chooses it: --dtype; else the input file's, except bf16
// for float32 files of a layer whose config says bfloat16 / mixed_bfloat16.
struct DtypeChoice {
  DType dtype;
  std::string source;
};
DtypeChoice backward_dtype(const BackwardOptions& o, const keras::LayerSpec& config,
                           const HostArray& input) {
  if (o.dtype) return {*o.dtype, "--dtype"};
  if (input.dtype == DType::f32 && config.dtype == DType::bf16) {
    return {DType::bf16, str("float32 files and the dtype \"", config.dtype_name, "\" of ",
                             *o.config, "; override with --dtype")};
  }
  return {input.dtype, str("the dtype of ", *o.input, "; override with --dtype")};
}

// Reads a file the computation reads in `choice.dtype` (f16 files for f16, f32 for f32 and bf16).
HostArray read_as(const std::string& path, const DtypeChoice& choice) {
  const HostArray a = io::read_npy(path);
  const DType file = choice.dtype == DType::f16 ? DType::f16 : DType::f32;
  if (a.dtype != file) {
    const auto npy = [](DType d) { return d == DType::f16 ? "'<f2' (float16)" : "'<f4' (float32)"; };
    throw FileError(path, str("dtype ", npy(a.dtype), ", but the layer computes in ",
                              to_string(choice.dtype), " (", choice.source, ") and reads ",
                              npy(file), " files; all files must have the same dtype"));
  }
  return io::converted(a, choice.dtype);
}

// The gradient files to write: (path, flag) of each given output.
std::vector<std::pair<std::string, std::string_view>> outputs(const BackwardOptions& o) {
  std::vector<std::pair<std::string, std::string_view>> list;
  for (const auto& f : kFlags) {
    if (f.output() && o.*(f.slot)) list.emplace_back(*(o.*(f.slot)), f.name);
  }
  return list;
}

// Fails early, before any work, when an output cannot be created where asked, is an input, or
// is named twice.
void check_output_paths(const BackwardOptions& o) {
  namespace fs = std::filesystem;
  const auto outs = outputs(o);
  for (std::size_t i = 0; i < outs.size(); ++i) {
    const fs::path out(outs[i].first);
    const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
    std::error_code error;
    if (!fs::is_directory(dir, error)) {
      throw FileError(outs[i].first, "the directory " + dir.string() + " does not exist");
    }
    if (fs::is_directory(out, error)) throw FileError(outs[i].first, "is a directory");
    const bool exists = fs::exists(out, error);
    for (const auto& f : kFlags) {
      const auto& other = o.*(f.slot);
      if (!other || f.name == outs[i].second) continue;
      const bool same = *other == outs[i].first ||
                        (exists && fs::exists(*other, error) && fs::equivalent(out, *other, error));
      if (same && !f.output()) {
        throw FileError(outs[i].first, str("is also the input file of ", f.name,
                                           "; refusing to overwrite it"));
      }
      if (same) {
        throw FileError(outs[i].first, str("given to both ", outs[i].second, " and ", f.name));
      }
    }
  }
}

// The file a validation argument comes from, for messages.
std::string file_of(const std::string& argument, const BackwardOptions& o) {
  if (argument == "x" || argument == "length" || argument == "in_channels") return *o.input;
  if (argument == "dy") return *o.grad_output;
  if (o.keras) return *o.keras;
  if (argument == "depthwise") return *o.depthwise;
  if (argument == "pointwise") return *o.pointwise;
  if (argument == "bias" && o.bias) return *o.bias;
  return *o.config;
}

// The layer of a backward: its config, its compute dtype and its weights (host arrays), from the
// config and weight files or from a Keras model file.
struct LayerFiles {
  LayerConfig config;
  DtypeChoice choice;
  HostArray depthwise, pointwise, bias;
};

LayerFiles layer_from_files(const BackwardOptions& o, const HostArray& x_file) {
  keras::LayerSpec keras;
  try {
    keras = keras::read_layer_config(*o.config);
  } catch (const InvalidArgument& e) {
    throw FileError(*o.config, e.what());
  }
  LayerFiles l{keras.layer, backward_dtype(o, keras, x_file), {}, {}, {}};
  if (l.config.use_bias && !o.bias) {
    throw FileError(*o.config, "use_bias is true, so the layer needs --bias B.npy");
  }
  if (!l.config.use_bias && o.bias) {
    throw FileError(*o.bias, str("given, but ", *o.config, " has use_bias false; drop --bias"));
  }
  l.depthwise = read_as(*o.depthwise, l.choice);
  l.pointwise = read_as(*o.pointwise, l.choice);
  if (o.bias) l.bias = read_as(*o.bias, l.choice);
  return l;
}

// As `run --keras`: the layer's dtype policy chooses the dtype (--dtype overrides it).
LayerFiles layer_from_model(const BackwardOptions& o) {
  const keras::ModelFile model = open_model(*o.keras, o.config);
  const keras::Layer layer = model.load(o.layer.value_or(""), {o.dtype});
  const auto array = [](const keras::Array& a) { return HostArray{a.dtype, a.shape, a.bytes}; };
  return {layer.info.spec.layer,
          {layer.precision.dtype, o.dtype ? std::string("--dtype")
                                          : str("the dtype policy of the layer in ", *o.keras)},
          array(layer.depthwise), array(layer.pointwise), array(layer.bias)};
}

// Writes every gradient or none: each goes to a staging name beside its destination (through
// write_npy's own temporary file), and all are renamed into place once all are written.
void write_all(const std::vector<std::pair<std::string, HostArray>>& files) {
  std::vector<std::string> staged;
  try {
    for (const auto& [path, array] : files) {
      const std::string stage = path + ".sepconv1d-" + std::to_string(::getpid());
      io::write_npy(stage, array);
      staged.push_back(stage);
    }
    for (std::size_t i = 0; i < files.size(); ++i) {
      std::error_code error;
      std::filesystem::rename(staged[i], files[i].first, error);
      if (error) throw FileError(files[i].first, "cannot rename into place: " + error.message());
    }
  } catch (...) {
    for (const auto& s : staged) {
      std::error_code ignored;
      std::filesystem::remove(s, ignored);
    }
    throw;
  }
}

int backward_files(const BackwardOptions& o) {
  check_output_paths(o);
  const HostArray x_file = io::read_npy(*o.input);
  const LayerFiles l = o.keras ? layer_from_model(o) : layer_from_files(o, x_file);
  const LayerConfig& config = l.config;
  const std::string& layer_file = o.keras ? *o.keras : *o.config;
  if (config.use_bias && !o.grad_bias) {
    throw FileError(layer_file, "use_bias is true, so the layer needs --grad-bias DB.npy");
  }
  if (!config.use_bias && o.grad_bias) {
    throw FileError(*o.grad_bias, str("given, but ", layer_file,
                                      " has use_bias false; drop --grad-bias"));
  }
  const DtypeChoice& choice = l.choice;
  const DType dtype = choice.dtype;
  // A layer from a model file takes its input in its compute dtype, as Keras's autocast does.
  const HostArray x = o.keras ? io::converted(x_file, dtype) : read_as(*o.input, choice);
  const HostArray dy = o.keras ? io::converted(io::read_npy(*o.grad_output), dtype)
                               : read_as(*o.grad_output, choice);
  const Weights weights{l.depthwise.view(), l.pointwise.view(),
                        config.use_bias ? l.bias.view() : ConstTensorView{}};

  HostArray dx, ddw, dpw, db;
  BackwardRun run;
  try {
    const bool last = config.data_format == DataFormat::channels_last;
    if (x.shape.size() != 3) {
      fail("x", "shape " + io::shape_tuple(x.shape),
           last ? "rank 3: (batch, steps, channels)" : "rank 3: (batch, channels, steps)");
    }
    const std::int64_t channels = x.shape[last ? 2 : 1];
    validate_weights(config, dtype, channels, weights);
    dx = HostArray::zeros(dtype, x.shape);
    ddw = HostArray::zeros(DType::f32, {config.kernel_size, channels, config.depth_multiplier});
    dpw = HostArray::zeros(DType::f32, {1, channels * config.depth_multiplier, config.filters});
    if (config.use_bias) db = HostArray::zeros(DType::f32, {config.filters});
    run = run_backward(config, {dtype, o.math, o.float32_intermediate}, x.view(), weights,
                       dy.view(),
                       {dx.view(), ddw.view(), dpw.view(),
                        config.use_bias ? db.view() : TensorView{}},
                       o.device);
  } catch (const InvalidArgument& e) {
    const bool weight = e.argument() == "depthwise" || e.argument() == "pointwise";
    throw FileError(file_of(e.argument(), o),
                    weight && x.shape.size() == 3
                        ? str(e.what(), " (in_channels = ",
                              x.shape[config.data_format == DataFormat::channels_last ? 2 : 1],
                              " from the input ", *o.input, ")")
                        : std::string(e.what()));
  }

  // The input's dtype: '<f2' for f16, '<f4' for f32 and bf16 (bfloat16 values, exactly).
  const DType file = dtype == DType::f16 ? DType::f16 : DType::f32;
  std::vector<std::pair<std::string, HostArray>> files = {
      {*o.grad_input, io::converted(dx, file)},
      {*o.grad_depthwise, io::converted(ddw, file)},
      {*o.grad_pointwise, io::converted(dpw, file)}};
  if (config.use_bias) files.emplace_back(*o.grad_bias, io::converted(db, file));
  write_all(files);
  if (!o.quiet) {
    std::printf("sepconv1d backward: %s, %s\n", io::shape_tuple(x.shape).c_str(),
                std::string(to_string(dtype)).c_str());
    for (const auto& [path, array] : files) {
      std::printf("  wrote %s %s\n", path.c_str(), io::shape_tuple(array.shape).c_str());
    }
    std::printf("  device %s\n", run.device == Device::cpu
                                     ? "cpu (reference, float64 accumulation)"
                                     : ("gpu " + run.gpu_name).c_str());
  }
  return 0;
}

}  // namespace

int backward_main(int argc, const char* const* argv) {
  BackwardOptions options;
  try {
    options = parse_backward_options(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "sepconv1d: %s (see 'sepconv1d backward --help')\n", e.what());
    return 2;
  }
  if (options.help) {
    std::fputs(backward_help_text(), stdout);
    return 0;
  }
  try {
    return backward_files(options);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "sepconv1d: out of memory\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sepconv1d: %s\n", e.what());
  }
  return 1;
}

}  // namespace sepconv::cli
