#include "cli_support.h"

#include <cstdio>
#include <filesystem>

#include "io/npy.h"
#include "text.h"

namespace sepconv::cli {

void check_output_path(const Options& o) {
  namespace fs = std::filesystem;
  const fs::path out(*o.output);
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    throw io::FileError(*o.output, "the directory " + dir.string() + " does not exist");
  }
  if (fs::is_directory(out, error)) throw io::FileError(*o.output, "is a directory");
  for (const auto* in : {&o.config, &o.depthwise, &o.pointwise, &o.bias, &o.input, &o.keras}) {
    if (*in && fs::exists(out, error) && fs::equivalent(out, **in, error)) {
      throw io::FileError(*o.output, "is also an input file; refusing to overwrite it");
    }
  }
}

std::string describe(const LayerConfig& c) {
  return str("SeparableConv1D(filters=", c.filters, ", kernel_size=", c.kernel_size,
             ", strides=", c.strides, ", padding=", to_string(c.padding),
             ", data_format=", to_string(c.data_format), ", dilation_rate=", c.dilation_rate,
             ", depth_multiplier=", c.depth_multiplier, ", activation=", to_string(c.activation),
             ", use_bias=", c.use_bias ? "true" : "false", ")");
}

std::string device_note(const RunInfo& run) {
  if (run.device == Device::cpu) return "cpu (reference, float64 accumulation)";
  return "gpu " + run.gpu_name + " (forward alone, median of 5 after a warm-up)";
}

void print_chunk_note(std::int64_t chunk) {
  std::printf("  stream in chunks of %lld steps (forward_chunk; the time is all chunks')\n",
              static_cast<long long>(chunk));
}

}  // namespace sepconv::cli
