// Test support for the CLI area: a scratch directory per test and raw file helpers.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sepconv::test {

/// The names of the entries of a directory, sorted.
inline std::vector<std::string> directory_entries(const std::string& path) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(path)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// A fresh directory under the test temp dir, removed with everything in it at destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = ::testing::TempDir() + "sepconv_cli_XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  /// path/name
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
  [[nodiscard]] const std::string& path() const { return path_; }
  /// The names of the entries of the directory, sorted.
  [[nodiscard]] std::vector<std::string> entries() const { return directory_entries(path_); }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A string quoted for the shell.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// What a command printed, and its exit status (-1 when it did not exit normally).
struct CommandResult {
  int status = -1;
  std::string out;
  std::string err;
};

/// Runs `binary` with `args`; stdout and stderr are captured in files of `scratch` (beside, not
/// in, any output directory the test checks).
inline CommandResult run_command(const std::string& binary, const std::vector<std::string>& args,
                                 const ScratchDir& scratch) {
  std::string command = shell_quote(binary);
  for (const auto& a : args) command += " " + shell_quote(a);
  command += " >" + shell_quote(scratch.file("stdout.txt")) + " 2>" +
             shell_quote(scratch.file("stderr.txt"));
  const int raw = std::system(command.c_str());
  CommandResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_file(scratch.file("stdout.txt"));
  r.err = read_file(scratch.file("stderr.txt"));
  return r;
}

/// A command line's flags and their values, in order (an empty value: a switch such as --quiet).
using Flags = std::vector<std::pair<std::string, std::string>>;

/// `command` and `flags` as arguments, after `replace`: each of its flags overrides the value of
/// that flag, removes it (an empty value), or is added when absent (an empty value adds a switch).
inline std::vector<std::string> command_line(const std::string& command, Flags flags,
                                             const Flags& replace) {
  for (const auto& [flag, value] : replace) {
    const auto it =
        std::find_if(flags.begin(), flags.end(), [&](const auto& f) { return f.first == flag; });
    if (it == flags.end()) {
      flags.push_back({flag, value});
    } else if (value.empty()) {
      flags.erase(it);
    } else {
      it->second = value;
    }
  }
  std::vector<std::string> args = {command};
  for (const auto& [flag, value] : flags) {
    args.push_back(flag);
    if (!value.empty()) args.push_back(value);
  }
  return args;
}

/// sepconv1d's failure contract: exit `status`, exactly one line on stderr starting with
/// "sepconv1d: " and mentioning every text of `mentions`, and nothing in `out_dir`.
inline void expect_cli_failure(const CommandResult& r, int status,
                               const std::vector<std::string>& mentions, const std::string& out_dir) {
  EXPECT_EQ(r.status, status) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "expected one message:\n" << r.err;
  EXPECT_EQ(r.err.rfind("sepconv1d: ", 0), 0u) << r.err;
  for (const auto& m : mentions) {
    EXPECT_NE(r.err.find(m), std::string::npos) << "no '" << m << "' in: " << r.err;
  }
  EXPECT_EQ(directory_entries(out_dir), std::vector<std::string>{}) << "an output file was left behind";
}

}  // namespace sepconv::test
