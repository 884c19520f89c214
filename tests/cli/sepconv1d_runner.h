// Test support for the CLI area: running the sepconv1d binary (SEPCONV1D_PATH) and checking a
// failed run: a given exit status, one line on stderr, and nothing left in the output directory.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli/cli_test_support.h"

namespace sepconv::test {

/// What a run of the binary did.
using CliResult = BinaryRun;

/// Runs sepconv1d with `args`; stdout and stderr are captured into files of `dir`.
inline CliResult run_sepconv1d(const std::vector<std::string>& args, const ScratchDir& dir) {
  return run_binary(SEPCONV1D_PATH, args, dir);
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
