// Test support for the CLI area: running the sepconv1d binary (SEPCONV1D_PATH) and checking a
// failed run: a given exit status, one line on stderr, and nothing left in the output directory.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/cli_test_support.h"

namespace sepconv::test {

/// `s` quoted for the shell.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// What a run of the binary did.
struct CliResult {
  int status = -1;
  std::string out;
  std::string err;
};

/// Runs sepconv1d with `args`; stdout and stderr are captured into files of `dir`.
inline CliResult run_sepconv1d(const std::vector<std::string>& args, const ScratchDir& dir) {
  std::string command = shell_quote(SEPCONV1D_PATH);
  for (const auto& a : args) command += " " + shell_quote(a);
  command += " >" + shell_quote(dir.file("stdout.txt")) + " 2>" + shell_quote(dir.file("stderr.txt"));
  const int raw = std::system(command.c_str());
  CliResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_file(dir.file("stdout.txt"));
  r.err = read_file(dir.file("stderr.txt"));
  return r;
}

/// Exit `status`, exactly one line on stderr ("sepconv1d: ...") mentioning every text of
/// `mentions`, and nothing in `out_dir`.
inline void expect_cli_failure(const CliResult& r, int status, const std::vector<std::string>& mentions,
                               const std::string& out_dir) {
  EXPECT_EQ(r.status, status) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "expected one message:\n" << r.err;
  EXPECT_EQ(r.err.rfind("sepconv1d: ", 0), 0u) << r.err;
  for (const auto& m : mentions) EXPECT_NE(r.err.find(m), std::string::npos) << "no '" << m << "' in: " << r.err;
  EXPECT_EQ(directory_entries(out_dir), std::vector<std::string>{}) << "an output file was left behind";
}

}  // namespace sepconv::test
