// sepconv_bench — the results of a run: rows, the table on stdout and sepconv.json.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cases.h"

namespace sepconv::bench {

/// One timed row: a shape x format x mode x stage.
struct Row {
  std::string shape;
  DataFormat format = DataFormat::channels_last;
  Mode mode;
  Stage stage = Stage::forward;
  Timing timing;
  int copies = 1;  ///< input copies rotated among
  Work work;       ///< minimal bytes and FLOPs (cases.h)
  /// Floors (seconds) from the measured ceilings: the two-kernel design's (for a stage alone, its
  /// own floor) and, for the whole forward, the fused kernel's.
  std::optional<double> floor_two_kernel;
  std::optional<double> floor_fused;
  /// Every output element was written (no NaN left of the poison) and finite; unset when not
  /// checked.
  std::optional<bool> outputs_finite;
  std::string error;  ///< what went wrong; empty when the row was measured

  [[nodiscard]] double seconds() const { return timing.median_us * 1e-6; }
  [[nodiscard]] bool measured() const { return error.empty() && timing.runs > 0; }
};

/// Everything one run produced.
struct Report {
  bool gpu = false;
  std::vector<std::string> notes;  ///< printed before the table, kept in the JSON
  nlohmann::ordered_json meta;     ///< card, versions, commit, date, settings
  std::optional<Ceilings> ceilings;
  nlohmann::ordered_json ceilings_detail = nlohmann::ordered_json::object();
  std::vector<Shape> shapes;
  std::vector<Row> rows;
  nlohmann::ordered_json plans = nlohmann::ordered_json::object();  ///< "a/channels_last/bf16"

  /// A row failed or left outputs unwritten.
  [[nodiscard]] bool failed() const;
};

/// The compact table, one line a row, after the notes and the ceilings.
void print_table(const Report& report, std::ostream& out);

/// The report as JSON (schema 1; bench/report.py and bench/regression.py read it).
[[nodiscard]] nlohmann::ordered_json to_json(const Report& report);

/// Writes DIR/sepconv.json (creating DIR) and returns its path. Throws std::runtime_error.
std::string write_json(const Report& report, const std::string& dir);

/// "2026-03-01T12:34:56Z".
[[nodiscard]] std::string utc_now();

/// The commit this binary was built from ("<sha>[-dirty]" or "unknown"), generated at build time.
[[nodiscard]] const char* build_commit() noexcept;

}  // namespace sepconv::bench
