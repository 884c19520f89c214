// The GPU half of the parity suite: one Context for the whole binary and the forward runs whose
// downloads parity_case.h checks.
#pragma once

#include <string>

#include "gpu_support.h"
#include "parity_case.h"

namespace sepconv::test::parity {

/// GoogleTest parameter names for case tables: the case's name.
struct CaseName {
  std::string operator()(const ::testing::TestParamInfo<ParityCase>& info) const {
    return info.param.name;
  }
};

/// The binary's Context on device 0, created by the test environment before the first test and
/// destroyed after the last (install it in main with `install_context_environment`).
[[nodiscard]] Context& context();
void install_context_environment();

/// Runs a case's forward twice on the GPU (a fresh layer, a workspace of exactly what the case
/// asks for, one stream), each time into y poisoned with NaN, and downloads everything.
[[nodiscard]] Produced run_on_gpu(const ParityCase& c, HostTensor x, HostWeights w);
/// The same on the case's own inputs (make_input / make_weights seeded by its name).
[[nodiscard]] Produced run_on_gpu(const ParityCase& c);

}  // namespace sepconv::test::parity
