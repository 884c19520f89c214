// Test support for the CLI area: running the sepconv1d binary (SEPCONV1D_PATH); its failure
// contract is expect_cli_failure (cli_test_support.h).
#pragma once

#include <string>
#include <vector>

#include "cli/cli_test_support.h"

namespace sepconv::test {

/// What a run of the binary did.
using CliResult = CommandResult;

/// Runs sepconv1d with `args`; stdout and stderr are captured into files of `dir`.
inline CliResult run_sepconv1d(const std::vector<std::string>& args, const ScratchDir& dir) {
  return run_command(SEPCONV1D_PATH, args, dir);
}

}  // namespace sepconv::test
