// The parity suite's tables and checks, on the CPU (labels cpu, parity): the cases are what their
// names and docs/testing.md promise (sizes, every activation / format / precision, the kernel paths
// the plan takes under H100, A100 and smaller shared-memory limits), the windows cover what they
// claim, and the checks catch a planted unwritten element, a write outside a sliced y, a
// nondeterministic second forward and a wrong value — with the reference standing in for the GPU.
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include "detail/elements.h"
#include "plan/plan.h"
#include "parity_case.h"

namespace sepconv::test::parity {
namespace {

std::vector<std::vector<ParityCase>> all_tables() {
  std::vector<std::vector<ParityCase>> tables{shape_cases(), activation_cases(), path_cases(),
                                              graph_cases()};
  for (int shard = 0; shard < 3; ++shard) tables.push_back(random_cases(shard, 18));
  return tables;
}

// Shared-memory limits of three device classes: H100 (228 KB per SM), A100 (164 KB), and a
// consumer GPU (100 KB); read_device_limits' budget is half an SM's minus 1 KB.
std::vector<detail::DeviceLimits> device_classes() {
  std::vector<detail::DeviceLimits> all;
  for (std::int64_t per_sm_kb : {228, 164, 100}) {
    detail::DeviceLimits l;
    l.shared_optin = (per_sm_kb - 1) * 1024;
    l.shared_budget = std::min(l.shared_optin, per_sm_kb * 1024 / 2 - 1024);
    all.push_back(l);
  }
  return all;
}

// The plan SeparableConv1D::describe(batch, length) shows: contiguous 256-byte-aligned views.
detail::Plan described_plan(const ParityCase& c, const detail::DeviceLimits& limits) {
  detail::PlanRequest r;
  r.config = c.config;
  r.precision = c.precision;
  r.shape = detail::problem_shape(c.config, c.batch, c.length, c.channels);
  const auto xs = input_shape(c.config, c.batch, c.length, c.channels);
  const auto ys = output_shape(c.config, c.batch, c.length);
  r.x_strides[0] = xs[1] * xs[2];
  r.x_strides[1] = xs[2];
  r.x_strides[2] = 1;
  r.y_strides[0] = ys[1] * ys[2];
  r.y_strides[1] = ys[2];
  r.y_strides[2] = 1;
  return detail::make_plan(r, limits);
}

TEST(ParityCases, NamesAreUniqueTestNamesAndConfigsValid) {
  for (const auto& table : all_tables()) {
    std::set<std::string> names;
    for (const auto& c : table) {
      EXPECT_TRUE(names.insert(c.name).second) << "duplicate " << c.name;
      EXPECT_FALSE(c.name.empty());
      for (char ch : c.name) {
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_') << c.name;
      }
      EXPECT_NO_THROW(validate(c.config)) << c.describe();
      EXPECT_GT(output_steps(c), 0) << c.describe();
      if (c.workspace_steps > 0) {
        EXPECT_NO_THROW(static_cast<void>(output_length(c.config, c.workspace_steps)))
            << c.describe();
      }
      EXPECT_FALSE(c.precision.math == MathMode::tf32 && c.precision.dtype != DType::f32 &&
                   !c.precision.float32_intermediate)
          << c.name;
    }
  }
}

TEST(ParityCases, ShapesCoverTheDedicatedSizesInEveryPrecision) {
  const auto cases = shape_cases();
  std::map<std::string, std::set<std::string>> precisions_of;  // base name -> precisions
  bool long_cl = false, long_cf = false, wide_cl = false, wide_cf = false, k1024 = false,
       k257_d4 = false, sliced_cl = false, sliced_cf = false;
  for (const auto& c : cases) {
    const std::string p = precision_name(c.precision);
    precisions_of[c.name.substr(0, c.name.size() - p.size() - 1)].insert(p);
    const bool last = c.config.data_format == DataFormat::channels_last;
    (last ? long_cl : long_cf) |= c.length >= 65536;
    (last ? wide_cl : wide_cf) |= c.channels >= 2048;
    (last ? sliced_cl : sliced_cf) |=
        c.x_slack != std::array<std::int64_t, 3>{} && c.y_slack != std::array<std::int64_t, 3>{};
    k1024 |= c.config.kernel_size == 1024;
    k257_d4 |= c.config.kernel_size == 257 && c.config.dilation_rate == 4;
    // Big outputs are sampled: the reference would take minutes on the whole of them.
    if (c.batch * output_steps(c) * c.config.filters > 200000) {
      EXPECT_GT(c.sampled_windows, 0) << c.describe();
    }
  }
  EXPECT_TRUE(long_cl && long_cf && wide_cl && wide_cf && k1024 && k257_d4 && sliced_cl &&
              sliced_cf);
  for (const auto& [name, precisions] : precisions_of) {
    EXPECT_EQ(precisions.size(), all_precisions().size()) << name;
  }
}

TEST(ParityCases, ActivationsCoverEveryActivationFormatAndPrecision) {
  std::set<std::tuple<int, int, std::string>> seen;
  for (const auto& c : activation_cases()) {
    seen.insert({static_cast<int>(c.config.activation), static_cast<int>(c.config.data_format),
                 precision_name(c.precision)});
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kActivationCount) * 2 * all_precisions().size());
}

TEST(ParityCases, RandomCasesAreReproducibleAndRotatePrecisions) {
  const auto a = random_cases(5, 18);
  const auto b = random_cases(5, 18);
  ASSERT_EQ(a.size(), 18u);
  std::map<std::string, int> per_precision;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].describe(), b[i].describe());
    ++per_precision[precision_name(a[i].precision)];
  }
  for (const auto& p : all_precisions()) EXPECT_EQ(per_precision[precision_name(p)], 3);
}

TEST(ParityCases, CasesTakeTheKernelPathsTheyClaim) {
  std::vector<ParityCase> cases = shape_cases();
  for (auto& c : path_cases()) cases.push_back(c);
  int chunked = 0;
  for (const auto& c : cases) {
    for (const auto& limits : device_classes()) {
      const detail::Plan plan = described_plan(c, limits);
      if (c.tap_chunked) {
        EXPECT_TRUE(plan.depthwise().chunked())
            << c.describe() << " under a shared budget of " << limits.shared_budget << " B:\n"
            << plan.describe();
      }
      if (c.name.find("gathered") != std::string::npos &&
          limits.shared_budget == device_classes()[0].shared_budget) {
        EXPECT_TRUE(plan.depthwise().gather) << c.describe() << "\n" << plan.describe();
      }
    }
    chunked += c.tap_chunked ? 1 : 0;
  }
  // Four chunked shapes in every precision, two paths.
  EXPECT_GE(chunked, 4 * static_cast<int>(all_precisions().size()) + 2);
  // Chunked workspaces: the whole D is larger than the workspace's, so the forward runs in pieces.
  for (const auto& table : {shape_cases(), path_cases(), graph_cases()}) {
    for (const auto& c : table) {
      if (c.workspace_steps == 0) continue;
      ParityCase one = c;
      one.batch = 1;
      one.length = c.workspace_steps;
      EXPECT_GT(described_plan(c, {}).bytes(detail::Buffer::d),
                described_plan(one, {}).bytes(detail::Buffer::d))
          << c.describe();
    }
  }
}

TEST(ParityCases, WindowsCoverTheOutputOrSampleIt) {
  for (const auto& table : all_tables()) {
    for (const auto& c : table) {
      const std::int64_t lout = output_steps(c);
      const bool whole_rows = is_row_reduction(c.config.activation) &&
                              c.config.data_format == DataFormat::channels_first;
      const auto windows = check_windows(c, seed_of(c.name));
      ASSERT_FALSE(windows.empty()) << c.describe();
      std::vector<int> covered(static_cast<std::size_t>(c.batch * lout), 0);
      for (const auto& w : windows) {
        ASSERT_GE(w.batch_begin, 0);
        ASSERT_LE(w.batch_begin + w.batch_count, c.batch) << c.describe();
        ASSERT_GE(w.time_begin, 0);
        ASSERT_GT(w.time_count, 0);
        ASSERT_LE(w.time_begin + w.time_count, lout) << c.describe();
        if (whole_rows) {
          EXPECT_EQ(w.time_count, lout) << c.describe();
        }
        for (std::int64_t b = w.batch_begin; b < w.batch_begin + w.batch_count; ++b)
          for (std::int64_t t = w.time_begin; t < w.time_begin + w.time_count; ++t)
            ++covered[static_cast<std::size_t>(b * lout + t)];
      }
      if (c.sampled_windows == 0) {
        for (int n : covered)
          ASSERT_EQ(n, 1) << "a whole-output check covers each output once: " << c.describe();
      } else {
        EXPECT_EQ(covered.front() > 0, true)
            << "the first output step is sampled: " << c.describe();
        EXPECT_EQ(covered.back() > 0, true) << "the last output step is sampled: " << c.describe();
      }
    }
  }
}

TEST(ParityCases, HashedInputsAreExactFloat32InRangeAndThreadIndependent) {
  for (std::uint64_t i = 0; i < 100000; ++i) {
    const double v = hashed_uniform(42, i);
    ASSERT_GE(v, -1.0);
    ASSERT_LT(v, 1.0);
    ASSERT_EQ(static_cast<double>(static_cast<float>(v)), v);
  }
  ParityCase c = path_cases().front();
  c.x_slack = {1, 2, 3};
  const HostTensor x = make_input(c, 7);
  const auto values = x.values();
  for (std::size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(values[i], hashed_uniform(7, i)) << i;  // float32: exact
  }
  EXPECT_EQ(seed_of("a"), seed_of("a"));
  EXPECT_NE(seed_of("a"), seed_of("b"));
}

TEST(ParityCases, ParallelForRunsEachIndexOnceAndRethrows) {
  std::vector<std::atomic<int>> hits(1000);
  parallel_for(hits.size(), [&](std::size_t i) { ++hits[i]; });
  for (const auto& h : hits) ASSERT_EQ(h.load(), 1);
  EXPECT_THROW(parallel_for(100,
                            [](std::size_t i) {
                              if (i == 57) throw std::runtime_error("planted");
                            }),
               std::runtime_error);
}

// The reference standing in for the GPU: y = reference::forward, twice.
Produced produced_by_reference(const ParityCase& c) {
  Produced p;
  const std::uint64_t seed = seed_of(c.name);
  p.x = make_input(c, seed);
  p.w = make_weights(c, seed + 1);
  p.poisoned = poisoned_output(c.config, c.batch, c.length, c.precision.dtype, c.y_slack);
  p.y = p.poisoned;
  reference::forward(c.config, p.x.view(), p.w.view(), p.y.view());
  p.y_again = p.y;
  return p;
}

std::string problems_of(const ParityCase& c, const Produced& p) { return check_all({&c}, {&p})[0]; }

TEST(ParityCases, ChecksPassTheReferenceAndCatchPlantedFaults) {
  ParityCase c = path_cases().front();
  c.name = "planted";
  c.x_slack = {1, 2, 4};
  c.y_slack = {1, 3, 4};
  for (const auto& precision : all_precisions()) {
    c.precision = precision;
    const Produced good = produced_by_reference(c);
    EXPECT_EQ(problems_of(c, good), "") << precision_name(precision);

    Produced unwritten = good;
    unwritten.y.set(1, 7, 3, std::numeric_limits<double>::quiet_NaN());
    unwritten.y_again = unwritten.y;
    EXPECT_NE(problems_of(c, unwritten).find("NaN (unwritten?)"), std::string::npos);

    Produced outside = good;
    detail::store_element(outside.y.view().data, precision.dtype, -1, 1.0);  // just before the view
    outside.y_again = outside.y;
    EXPECT_NE(problems_of(c, outside).find("outside the output view"), std::string::npos);

    Produced nondeterministic = good;
    nondeterministic.y_again.set(0, 1, 2, nondeterministic.y.get(0, 1, 2) + 0.25);
    EXPECT_NE(problems_of(c, nondeterministic).find("two forwards"), std::string::npos);

    Produced wrong = good;
    wrong.y.set(1, 10, 5, wrong.y.get(1, 10, 5) + 8);
    wrong.y_again = wrong.y;
    EXPECT_NE(problems_of(c, wrong).find("window"), std::string::npos) << precision_name(precision);
  }
}

TEST(ParityCases, SampledChecksUseTheReferenceOnWindowsOnly) {
  ParityCase c = path_cases().front();
  c.name = "sampled";
  c.sampled_windows = 3;
  c.window_steps = 5;
  const Produced p = produced_by_reference(c);
  EXPECT_EQ(problems_of(c, p), "");
  EXPECT_EQ(check_windows(c, seed_of(c.name)).size(), 3u);
}

}  // namespace
}  // namespace sepconv::test::parity
