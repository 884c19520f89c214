// Splitting a forward into windows that fit a workspace (host/chunks.h): the arithmetic behind
// forward's chunked calls, testable without a GPU.
#include <gtest/gtest.h>

#include "plan/chunks.h"
#include "sepconv/error.h"

namespace sepconv::detail {
namespace {

// A workspace model: D bytes proportional to the window plus a fixed GEMM workspace.
WorkspaceNeed linear(std::size_t per_element, std::size_t fixed) {
  return [=](const LaunchWindow& w) {
    return fixed + per_element * static_cast<std::size_t>(w.batch_count * w.time_count);
  };
}

// The windows cover every (batch, step) exactly once.
void expect_cover(const std::vector<LaunchWindow>& windows, std::int64_t batch, std::int64_t steps) {
  std::vector<int> seen(static_cast<std::size_t>(batch * steps), 0);
  for (const auto& w : windows) {
    for (std::int64_t b = w.batch_begin; b < w.batch_begin + w.batch_count; ++b)
      for (std::int64_t t = w.time_begin; t < w.time_begin + w.time_count; ++t)
        ++seen[static_cast<std::size_t>(b * steps + t)];
  }
  for (int s : seen) ASSERT_EQ(s, 1);
}

TEST(Windows, EverythingFitsInOne) {
  const auto w = split_into_windows(4, 100, true, 1000 + 4 * 100 * 8, linear(8, 1000));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].batch_count, 4);
  EXPECT_EQ(w[0].time_count, 100);
}

TEST(Windows, BatchChunksFirst) {
  const auto w = split_into_windows(10, 100, true, 1000 + 3 * 100 * 8, linear(8, 1000));
  ASSERT_EQ(w.size(), 4u);  // 3 + 3 + 3 + 1
  EXPECT_EQ(w[0].batch_count, 3);
  EXPECT_EQ(w[3].batch_count, 1);
  for (const auto& x : w) EXPECT_EQ(x.time_count, 100);
  expect_cover(w, 10, 100);
}

TEST(Windows, ThenTimeChunksOfOneSample) {
  const auto w = split_into_windows(3, 100, true, 1000 + 30 * 8, linear(8, 1000));
  ASSERT_EQ(w.size(), 3u * 4u);  // 30 + 30 + 30 + 10 per sample
  for (const auto& x : w) {
    EXPECT_EQ(x.batch_count, 1);
    EXPECT_LE(x.time_count, 30);
  }
  expect_cover(w, 3, 100);
}

TEST(Windows, SoftmaxAlongTimeIsNeverSplitAlongTime) {
  try {
    (void)split_into_windows(3, 100, false, 1000 + 30 * 8, linear(8, 1000));
    ADD_FAILURE() << "split a softmax row";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(e.argument(), "workspace");
    EXPECT_NE(std::string(e.what()).find(std::to_string(1000 + 100 * 8)), std::string::npos)
        << e.what();
  }
  // One whole sample fits: batch chunks are fine.
  const auto w = split_into_windows(3, 100, false, 1000 + 100 * 8, linear(8, 1000));
  EXPECT_EQ(w.size(), 3u);
}

TEST(Windows, TooSmallForOneStep) {
  EXPECT_THROW((void)split_into_windows(1, 10, true, 1000, linear(8, 1000)), InvalidArgument);
}

TEST(Windows, NonMonotoneNeedIsCheckedPerWindow) {
  // The remainder window of one whole sample gets a GEMM algorithm that needs more workspace
  // than the full windows: batch chunks of 2, 2, 1 fail on it, and the split falls back to
  // shorter windows, each checked.
  auto need = [](const LaunchWindow& w) -> std::size_t {
    const std::int64_t b = w.batch_count;
    const std::int64_t t = w.time_count;
    return static_cast<std::size_t>(b * t) * 8 + (b == 1 && t == 10 ? 5000 : 1000);
  };
  const auto w = split_into_windows(5, 10, true, 1000 + 2 * 10 * 8 + 100, need);
  for (const auto& x : w) EXPECT_LE(need(x), 1000u + 2 * 10 * 8 + 100);
  expect_cover(w, 5, 10);
}

TEST(Windows, OffsetsCount) {
  // A window at an odd batch offset (a less aligned output) needs more. Three batches fit at
  // offset 0, but the second window of three would start at batch 3: the split must see that and
  // take two at a time (offsets 0, 2, 4).
  auto need = [](const LaunchWindow& w) -> std::size_t {
    return static_cast<std::size_t>(w.batch_count * w.time_count) * 8 +
           (w.batch_begin % 2 == 1 ? 3000 : 1000);
  };
  const std::size_t available = 1000 + 3 * 10 * 8;
  const auto w = split_into_windows(6, 10, true, available, need);
  ASSERT_EQ(w.size(), 3u);
  for (const auto& x : w) {
    EXPECT_EQ(x.batch_count, 2);
    EXPECT_LE(need(x), available);
  }
  expect_cover(w, 6, 10);
}

TEST(Windows, EmptyBatchHasNoWindows) {
  EXPECT_TRUE(split_into_windows(0, 10, true, 0, linear(8, 1000)).empty());
}

}  // namespace
}  // namespace sepconv::detail
