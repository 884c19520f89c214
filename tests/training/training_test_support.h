// Test support for the training tests: poisoned host tensors with given values, and the check
// that a call throws InvalidArgument naming an argument.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sepconv/error.h"
#include "support/host_tensor.h"

namespace sepconv::test {

/// A host tensor of `shape` (a slice with `slack` around it, NaN-poisoned) holding `values` in
/// row-major order.
inline HostTensor tensor(DType dtype, std::vector<std::int64_t> shape,
                         const std::vector<double>& values, std::array<std::int64_t, 3> slack = {}) {
  HostTensor t(dtype, std::move(shape), slack);
  t.poison();
  t.assign(values);
  return t;
}

/// Runs f; expects InvalidArgument naming `argument` with `text` in its message.
template <class F>
void expect_invalid(F&& f, const std::string& argument, const std::string& text = "") {
  try {
    f();
    ADD_FAILURE() << "no InvalidArgument for " << argument << " (" << text << ")";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), argument) << e.what();
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

}  // namespace sepconv::test
