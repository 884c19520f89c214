// sepconv_bench — times sepconv's stages and whole forward against the card's own ceilings.
//
//   sepconv_bench [--out DIR] [--quick] [--shapes a,b,...] [--dtypes fp32,tf32,fp16,bf16]
//                 [--stages depthwise,pointwise,forward,backward] [--formats last,first] [--runs N]
//                 [--warmup N] [--commit SHA] [--datasheet]
//
// On a GPU: the ceilings (copy bandwidth, FP32 FMA rate, a GEMM per mode), then one row per shape x
// format x mode x stage; without one (or in a build without CUDA) the CPU reference on small
// shapes, said plainly, exit status 0. The table goes to stdout last; --out DIR writes
// DIR/sepconv.json. Exit status: 0 measured, 1 a row failed or left outputs unwritten, 2 usage.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cases.h"
#include "cpu_bench.h"
#include "output.h"
#include "sepconv/version.h"
#if SEPCONV_BENCH_GPU
#include <cuda_runtime_api.h>

#include "gpu_bench.h"
#include "sepconv/layer.h"
#endif

namespace sepconv::bench {
namespace {

constexpr const char* kUsage = R"(usage: sepconv_bench [options]

Times sepconv's depthwise stage, pointwise GEMM, whole forward and backward on GPU 0 against the card's
measured ceilings (device-to-device copy, FP32 FMA kernel, a large cuBLASLt GEMM per mode), and
prints one line per shape x format x mode x stage. Without a GPU it times the CPU reference on
small shapes instead and says so (exit status 0).

options:
  --out DIR        write DIR/sepconv.json (created if missing)
  --quick          a smoke run: shapes b and c, 5 runs (CPU: tiny shapes, 3 runs)
  --shapes LIST    of a,b,c,d,e (default all)
  --dtypes LIST    modes of fp32,tf32,fp16,bf16 (default all; fp32 is exact float32)
  --stages LIST    of depthwise,pointwise,forward,backward (default all)
  --formats LIST   of last,first (channels_last / channels_first; default each shape's own)
  --runs N         timed runs per row, the median is reported (default 20; CPU 5)
  --warmup N       untimed runs first (default 3; CPU 1)
  --commit SHA     the commit to record (default: the one this binary was built from)
  --datasheet      print the roofline floors of the shapes from H100 SXM datasheet numbers and exit
  --help           this text

exit status: 0 measured, 1 a row failed or left outputs unwritten, 2 usage error
)";

struct Options {
  std::string out;
  bool quick = false;
  bool datasheet = false;
  std::vector<std::string> shapes, modes, stages, formats;
  int runs = 0;  // 0: the default
  int warmup = -1;
  std::string commit;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

int positive(const std::string& flag, const std::string& text, int min) {
  try {
    std::size_t used = 0;
    const int v = std::stoi(text, &used);
    if (used == text.size() && v >= min) return v;
  } catch (const std::exception&) {
  }
  throw UsageError(flag + ": expected an integer >= " + std::to_string(min) + ", got '" + text +
                   "'");
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--out") {
      o.out = value();
    } else if (arg == "--quick") {
      o.quick = true;
    } else if (arg == "--datasheet") {
      o.datasheet = true;
    } else if (arg == "--shapes") {
      o.shapes = split(value());
    } else if (arg == "--dtypes" || arg == "--modes") {
      o.modes = split(value());
    } else if (arg == "--stages") {
      o.stages = split(value());
    } else if (arg == "--formats") {
      o.formats = split(value());
    } else if (arg == "--runs") {
      o.runs = positive(arg, value(), 1);
    } else if (arg == "--warmup") {
      o.warmup = positive(arg, value(), 0);
    } else if (arg == "--commit") {
      o.commit = value();
    } else {
      throw UsageError("unknown option '" + arg + "' (see --help)");
    }
  }
  return o;
}

// The items of `all` named in `names` (all of them when empty), in `all`'s order.
template <class T, class Name>
std::vector<T> pick(const std::vector<T>& all, const std::vector<std::string>& names,
                    const char* what, Name&& name_of) {
  if (names.empty()) return all;
  std::vector<T> picked;
  for (const std::string& n : names) {
    bool known = false;
    for (const T& item : all) known = known || name_of(item) == n;
    if (!known) throw UsageError(std::string("unknown ") + what + " '" + n + "' (see --help)");
  }
  for (const T& item : all) {
    for (const std::string& n : names) {
      if (name_of(item) == n) {
        picked.push_back(item);
        break;
      }
    }
  }
  return picked;
}

Selection select(const Options& o, bool gpu) {
  Selection s;
  s.quick = o.quick;
  std::vector<std::string> shape_names = o.shapes;
  if (shape_names.empty() && o.quick && gpu) shape_names = {"b", "c"};
  s.shapes = pick(gpu ? gpu_shapes() : cpu_shapes(o.quick), shape_names, "shape",
                  [](const Shape& x) { return x.name; });
  s.modes = pick(all_modes(), o.modes, "mode", [](const Mode& m) { return m.name; });
  s.stages =
      pick(all_stages(), o.stages, "stage", [](Stage st) { return std::string(to_string(st)); });
  s.formats = pick(std::vector<DataFormat>{DataFormat::channels_last, DataFormat::channels_first},
                   o.formats, "format", [](DataFormat f) {
                     return std::string(f == DataFormat::channels_last ? "last" : "first");
                   });
  s.runs = o.runs > 0 ? o.runs : o.quick ? (gpu ? 5 : 3) : (gpu ? 20 : 5);
  s.warmup = o.warmup >= 0 ? o.warmup : gpu ? (o.quick ? 1 : 3) : 1;
  s.commit = o.commit.empty() ? build_commit() : o.commit;
  return s;
}

// The roofline floors of the GPU shapes with the H100 SXM datasheet's ceilings, as markdown.
void print_datasheet_floors(std::ostream& out) {
  const Ceilings c = datasheet_h100_sxm();
  out << "Floors from H100 SXM datasheet numbers (DATASHEET, not measured): " << c.bandwidth_gbs
      << " GB/s, FP32 " << c.fma_tflops << " TFLOP/s, GEMM fp32 " << c.gemm_tflops.at("fp32")
      << " / tf32 " << c.gemm_tflops.at("tf32") << " / fp16 " << c.gemm_tflops.at("fp16")
      << " / bf16 " << c.gemm_tflops.at("bf16") << " TFLOP/s (dense). Times in us; m = memory "
      << "bound, c = compute bound.\n\n"
      << "| shape | mode | depthwise | pointwise | two-kernel | fused |\n"
      << "|---|---|---|---|---|---|\n";
  char line[256];
  for (const Shape& s : gpu_shapes()) {
    for (const Mode& m : all_modes()) {
      const Floors f = floors(count_work(s, m.dtype), c, m);
      std::snprintf(line, sizeof line, "| %s | %s | %.1f %s | %.1f %s | %.1f | %.1f %s |\n",
                    s.name.c_str(), m.name.c_str(), f.depthwise * 1e6,
                    f.depthwise_memory_bound ? "m" : "c", f.pointwise * 1e6,
                    f.pointwise_memory_bound ? "m" : "c", f.two_kernel * 1e6, f.fused * 1e6,
                    f.fused_memory_bound ? "m" : "c");
      out << line;
    }
  }
}

// Why the GPU path cannot run here, or an empty string when it can.
std::string no_gpu_reason() {
#if SEPCONV_BENCH_GPU
  if (cuda_device_available()) return {};
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  static_cast<void>(cudaGetLastError());  // leave no error behind for later calls
  return std::string("no GPU was found (cudaGetDeviceCount: ") +
         (status == cudaSuccess ? "0 devices" : cudaGetErrorName(status)) + ")";
#else
  return SEPCONV_SIMULATED_DEVICE
             ? "this build runs on the simulated device (SEPCONV_SIMULATED_DEVICE=ON): no GPU "
               "was used"
             : "this build has no CUDA kernels (SEPCONV_ENABLE_CUDA=OFF): no GPU was used";
#endif
}

int run(int argc, char** argv) {
  const Options options = parse(argc, argv);
  if (options.datasheet) {
    print_datasheet_floors(std::cout);
    return 0;
  }
  const std::string reason = no_gpu_reason();
  const bool gpu = reason.empty();
  const Selection sel = select(options, gpu);
  Report report;
#if SEPCONV_BENCH_GPU
  if (gpu) report = run_gpu(sel);
#endif
  if (!gpu) report = run_cpu(sel, reason);
  if (gpu && sel.runs < 20) {
    report.notes.push_back("sepconv_bench: median of " + std::to_string(sel.runs) +
                           " runs (fewer than 20: a smoke run, not a measurement)");
  }
  if (!options.out.empty()) {
    const std::string path = write_json(report, options.out);
    std::cerr << "sepconv_bench: wrote " << path << "\n";
  }
  std::cout.flush();
  print_table(report, std::cout);
  return report.failed() ? 1 : 0;
}

}  // namespace
}  // namespace sepconv::bench

int main(int argc, char** argv) {
  try {
    return sepconv::bench::run(argc, argv);
  } catch (const sepconv::bench::UsageError& e) {
    std::cerr << "sepconv_bench: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "sepconv_bench: " << e.what() << "\n";
    return 1;
  }
}
