#include "output.h"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace sepconv::bench {
namespace {

using nlohmann::ordered_json;

std::string short_format(DataFormat f) { return f == DataFormat::channels_last ? "last" : "first"; }

double gbs(const Row& r) { return r.work.bytes / r.seconds() / 1e9; }
double tflops(const Row& r) { return r.work.flops / r.seconds() / 1e12; }

// Fraction of the floor achieved: floor / measured time (1 = at the roofline).
std::optional<double> fraction(const Row& r, const std::optional<double>& floor) {
  if (!floor || !r.measured() || r.seconds() <= 0) return std::nullopt;
  return *floor / r.seconds();
}

ordered_json optional_number(const std::optional<double>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

std::string percent(const std::optional<double>& v) {
  if (!v) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f%%", *v * 100);
  return buffer;
}

std::string check_text(const Row& r) {
  if (!r.error.empty()) return "ERROR " + r.error;
  if (!r.outputs_finite) return "";
  return *r.outputs_finite ? "ok" : "NON-FINITE OUTPUT";
}

}  // namespace

bool Report::failed() const {
  for (const Row& r : rows) {
    if (!r.error.empty() || (r.outputs_finite && !*r.outputs_finite)) return true;
  }
  return false;
}

void print_table(const Report& report, std::ostream& out) {
  for (const std::string& note : report.notes) out << note << "\n";
  if (report.ceilings) {
    const Ceilings& c = *report.ceilings;
    char line[256];
    std::snprintf(line, sizeof line,
                  "ceilings (measured): copy %.0f GB/s (read + write), FP32 FMA %.1f TFLOP/s, GEMM",
                  c.bandwidth_gbs, c.fma_tflops);
    out << line;
    for (const auto& [mode, rate] : c.gemm_tflops) {
      std::snprintf(line, sizeof line, " %s %.1f", mode.c_str(), rate);
      out << line;
    }
    out << " TFLOP/s\n";
  }
  char line[512];
  std::snprintf(line, sizeof line, "%-5s %-5s %-4s %-9s %11s %9s %9s %8s %8s  %s\n", "shape", "fmt",
                "mode", "stage", "median_us", "GB/s", "TFLOP/s", "of_2k", "of_fused", "check");
  out << line;
  for (const Row& r : report.rows) {
    if (r.measured()) {
      std::snprintf(line, sizeof line, "%-5s %-5s %-4s %-9s %11.1f %9.1f %9.3f %8s %8s  %s\n",
                    r.shape.c_str(), short_format(r.format).c_str(), r.mode.name.c_str(),
                    std::string(to_string(r.stage)).c_str(), r.timing.median_us, gbs(r), tflops(r),
                    percent(fraction(r, r.floor_two_kernel)).c_str(),
                    percent(fraction(r, r.floor_fused)).c_str(), check_text(r).c_str());
    } else {
      std::snprintf(line, sizeof line, "%-5s %-5s %-4s %-9s %11s %9s %9s %8s %8s  %s\n",
                    r.shape.c_str(), short_format(r.format).c_str(), r.mode.name.c_str(),
                    std::string(to_string(r.stage)).c_str(), "-", "-", "-", "-", "-",
                    check_text(r).c_str());
    }
    out << line;
  }
  out << "(median of " << (report.rows.empty() ? 0 : report.rows.front().timing.runs)
      << " runs; GB/s and TFLOP/s from the minimal bytes and FLOPs; of_2k / of_fused: the "
         "roofline floor of the two-kernel design / of a fused kernel over the measured time)\n";
}

ordered_json to_json(const Report& report) {
  ordered_json j;
  j["schema"] = 1;
  j["tool"] = "sepconv_bench";
  j["device_kind"] = report.gpu ? "gpu" : "cpu";
  for (const auto& [key, value] : report.meta.items()) j[key] = value;
  j["notes"] = report.notes;
  if (report.ceilings) {
    ordered_json c;
    c["copy_gbs"] = report.ceilings->bandwidth_gbs;
    c["fp32_fma_tflops"] = report.ceilings->fma_tflops;
    c["gemm_tflops"] = report.ceilings->gemm_tflops;
    c["detail"] = report.ceilings_detail;
    j["ceilings"] = c;
  } else {
    j["ceilings"] = nullptr;
  }
  ordered_json shapes = ordered_json::array();
  for (const Shape& s : report.shapes) {
    ordered_json formats = ordered_json::array();
    for (DataFormat f : s.formats) formats.push_back(std::string(to_string(f)));
    shapes.push_back({{"name", s.name},
                      {"label", s.label},
                      {"batch", s.batch},
                      {"length", s.length},
                      {"channels", s.channels},
                      {"kernel", s.kernel},
                      {"multiplier", s.multiplier},
                      {"filters", s.filters},
                      {"stride", s.stride},
                      {"dilation", s.dilation},
                      {"padding", std::string(to_string(s.padding))},
                      {"out_length", s.out_length()},
                      {"activation", "linear"},
                      {"use_bias", true},
                      {"formats", formats}});
  }
  j["shapes"] = shapes;
  ordered_json rows = ordered_json::array();
  for (const Row& r : report.rows) {
    ordered_json row;
    row["shape"] = r.shape;
    row["format"] = std::string(to_string(r.format));
    row["mode"] = r.mode.name;
    row["dtype"] = std::string(to_string(r.mode.dtype));
    row["math"] = std::string(to_string(r.mode.math));
    row["stage"] = std::string(to_string(r.stage));
    row["runs"] = r.timing.runs;
    row["copies"] = r.copies;
    const bool ok = r.measured();
    row["median_us"] = ok ? ordered_json(r.timing.median_us) : ordered_json(nullptr);
    row["min_us"] = ok ? ordered_json(r.timing.min_us) : ordered_json(nullptr);
    row["max_us"] = ok ? ordered_json(r.timing.max_us) : ordered_json(nullptr);
    row["bytes"] = r.work.bytes;
    row["flops"] = r.work.flops;
    row["gbs"] = ok ? ordered_json(gbs(r)) : ordered_json(nullptr);
    row["tflops"] = ok ? ordered_json(tflops(r)) : ordered_json(nullptr);
    row["floor_two_kernel_us"] = optional_number(
        r.floor_two_kernel ? std::optional(*r.floor_two_kernel * 1e6) : std::nullopt);
    row["floor_fused_us"] =
        optional_number(r.floor_fused ? std::optional(*r.floor_fused * 1e6) : std::nullopt);
    row["of_two_kernel_floor"] = optional_number(fraction(r, r.floor_two_kernel));
    row["of_fused_floor"] = optional_number(fraction(r, r.floor_fused));
    row["outputs_finite"] =
        r.outputs_finite ? ordered_json(*r.outputs_finite) : ordered_json(nullptr);
    row["error"] = r.error.empty() ? ordered_json(nullptr) : ordered_json(r.error);
    rows.push_back(row);
  }
  j["rows"] = rows;
  j["plans"] = report.plans;
  return j;
}

std::string write_json(const Report& report, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string path = (std::filesystem::path(dir) / "sepconv.json").string();
  std::ofstream file(path);
  file << to_json(report).dump(1) << "\n";
  if (!file) throw std::runtime_error("sepconv_bench: cannot write " + path);
  return path;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace sepconv::bench
