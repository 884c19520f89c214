// Test support for streaming (docs/semantics.md, "Streaming"): random streamable layers, random
// chunkings of a sequence, and views of a range of steps of a whole tensor, so a stream's chunks
// read and write slices of the tensors the whole-sequence forward reads and writes.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "detail/views.h"
#include "sepconv/config.h"
#include "sepconv/tensor.h"

namespace sepconv::test {

/// A random layer that can stream: causal or valid padding, strides 1-3 or dilations 1-3, kernel
/// sizes 1-6, multipliers 1-3, 1-9 filters, both formats, any activation a stream takes (softmax
/// and log_softmax only channels_last), with or without a bias.
LayerConfig random_stream_config(std::mt19937_64& rng);

/// How a sequence is cut into chunks.
enum class Chunking { one_step, random, whole };
/// Chunk lengths (each >= 1) summing to `length`: all 1 (one_step), random lengths from 1 to
/// `max_chunk` (random), or one chunk (whole).
std::vector<std::int64_t> chunk_lengths(Chunking kind, std::int64_t length, std::int64_t max_chunk,
                                        std::mt19937_64& rng);
std::string to_string(Chunking kind);

/// The view of a range of steps of a whole tensor (the library's own helper).
using detail::time_slice;

/// The whole sequence's output steps of a stream of `length` steps (0 when a valid layer's
/// window is never complete).
std::int64_t streamed_outputs(const LayerConfig& config, std::int64_t length);

}  // namespace sepconv::test
