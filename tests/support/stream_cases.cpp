#include "support/stream_cases.h"

#include <algorithm>

#include "sepconv/types.h"

namespace sepconv::test {
namespace {

std::int64_t uniform(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}

}  // namespace

LayerConfig random_stream_config(std::mt19937_64& rng) {
  LayerConfig c;
  c.filters = uniform(rng, 1, 9);
  c.kernel_size = uniform(rng, 1, 6);
  c.padding = uniform(rng, 0, 1) == 0 ? Padding::causal : Padding::valid;
  if (uniform(rng, 0, 1) == 0) {
    c.strides = uniform(rng, 1, 3);
  } else {
    c.dilation_rate = uniform(rng, 1, 3);
  }
  c.data_format = uniform(rng, 0, 1) == 0 ? DataFormat::channels_last : DataFormat::channels_first;
  c.depth_multiplier = uniform(rng, 1, 3);
  do {
    c.activation = static_cast<Activation>(uniform(rng, 0, kActivationCount - 1));
  } while (is_row_reduction(c.activation) && c.data_format == DataFormat::channels_first);
  c.use_bias = uniform(rng, 0, 3) != 0;
  return c;
}

std::vector<std::int64_t> chunk_lengths(Chunking kind, std::int64_t length, std::int64_t max_chunk,
                                        std::mt19937_64& rng) {
  std::vector<std::int64_t> chunks;
  for (std::int64_t done = 0; done < length;) {
    const std::int64_t left = length - done;
    const std::int64_t n = kind == Chunking::one_step ? 1
                           : kind == Chunking::whole  ? left
                                                      : std::min(left, uniform(rng, 1, max_chunk));
    chunks.push_back(n);
    done += n;
  }
  return chunks;
}

std::string to_string(Chunking kind) {
  switch (kind) {
    case Chunking::one_step: return "one-step chunks";
    case Chunking::random: return "random chunks";
    case Chunking::whole: return "one chunk";
  }
  return "?";
}

std::int64_t streamed_outputs(const LayerConfig& config, std::int64_t length) {
  return chunk_geometry(config, 0, length).out_length;
}

}  // namespace sepconv::test
