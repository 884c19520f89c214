// sepconv1d — what the commands that run a layer from files share: the output-path check and the
// lines they print.
#pragma once

#include <cstdint>
#include <string>

#include "cli_options.h"
#include "run_layer.h"
#include "sepconv/config.h"

namespace sepconv::cli {

/// Fails early, before any work, when the output cannot be created where asked: its directory is
/// missing, it is a directory, or it is one of the input files (io::FileError naming it).
void check_output_path(const Options& o);

/// "SeparableConv1D(filters=64, kernel_size=9, ...)".
[[nodiscard]] std::string describe(const LayerConfig& c);

/// Where a run ran, for the summary: "cpu (reference, float64 accumulation)" or the GPU's name.
[[nodiscard]] std::string device_note(const RunInfo& run);

/// The summary's line for a run with `--chunk N`.
void print_chunk_note(std::int64_t chunk);

}  // namespace sepconv::cli
