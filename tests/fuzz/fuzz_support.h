// Shared by sepconv's fuzz targets (tests/fuzz): what a rejection must look like, the model files
// the config target pairs with its inputs, and running a model file held in memory through the
// public API. Anything a target does not expect is a finding: it aborts, and libFuzzer (or the
// replay driver) reports the input.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sepconv/keras.h"

namespace sepconv::fuzz {

/// A finding: prints it and aborts.
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "sepconv fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

inline void require(bool ok, const std::string& what) {
  if (!ok) finding(what);
}

/// The longest message a rejection may have: every value a file supplies is shortened in messages.
inline constexpr std::size_t kMaxMessage = 2000;

/// A clear message: one printable line of bounded length.
inline void check_message(std::string_view message) {
  require(!message.empty(), "an empty message");
  require(message.size() <= kMaxMessage,
          "a message of " + std::to_string(message.size()) + " characters: " +
              std::string(message.substr(0, 300)) + "...");
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    require(u >= 0x20 && u < 0x7f, "a message with a control or non-ASCII byte: " +
                                       std::string(message.substr(0, kMaxMessage)));
  }
}

/// A file's rejection: "<name>: <problem>", a clear message.
inline void check_file_message(std::string_view message, const std::string& name) {
  const std::string prefix = name + ": ";
  require(message.substr(0, prefix.size()) == prefix && message.size() > prefix.size(),
          "a message that does not name the file " + name + ": " + std::string(message));
  check_message(message.substr(prefix.size()));
}

/// The contents of a file of tests/data/keras_models (the models the corpora come from).
const std::vector<unsigned char>& model_data(const std::string& file);
inline std::string_view model_text(const std::string& file) {
  const auto& bytes = model_data(file);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// Opens the bytes as a model file named `name` (with `config_json` for a weights-only file),
/// lists its layers and loads every one, and by the name `load` defaults to; checks that every
/// rejection is a FileError naming `name` clearly, and what loads is consistent.
void run_model(const unsigned char* data, std::size_t size, const std::string& name,
               std::string_view config_json);

}  // namespace sepconv::fuzz
