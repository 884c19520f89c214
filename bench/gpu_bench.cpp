#include "gpu_bench.h"

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "detail/cuda_check.h"
#include "kernels/depthwise/depthwise_fwd.h"
#include "runtime/device.h"
#include "kernels/epilogue/epilogue.h"
#include "runtime/lt_matmul.h"
#include "gpu_kernels.h"
#include "plan/plan.h"
#include "sepconv/layer.h"

namespace sepconv::bench {
namespace {

using nlohmann::ordered_json;

constexpr int kDevice = 0;
/// cuBLASLt workspace the internal GEMMs may use: the Context's default (ContextOptions).
constexpr std::size_t kGemmWorkspace = std::size_t{32} << 20;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Owned CUDA objects: detail::Owned, make_stream, make_event, make_lt_handle (cuda/device.h).
using detail::make_event;
using detail::make_lt_handle;
using detail::make_stream;
using detail::Owned;

// ---- timing -------------------------------------------------------------------------------------

/// Times work enqueued on one stream: warm-up runs, then timed runs, each after an L2 flush (a
/// memset of a buffer the size of the L2), each between two events. The timed runs are enqueued
/// behind a spin kernel long enough (twice the host time of a warm-up run, per run) for the host
/// to enqueue them all, then one synchronisation: the events measure device time, not the gaps
/// host work (argument checks, planning lookups, launches) would leave between small runs.
class Timer {
 public:
  Timer(cudaStream_t stream, std::size_t l2_bytes)
      : stream_(stream), flush_(std::max<std::size_t>(l2_bytes, 1)) {}

  /// enqueue(i) for i = 0, 1, ... over warm-up and timed runs alike (inputs rotate with i).
  Timing time(int warmup, int runs, const std::function<void(int)>& enqueue) {
    double host_us = 250;  // host time to enqueue one run: the fastest warm-up run's
    for (int i = 0; i < warmup; ++i) {
      const auto start = std::chrono::steady_clock::now();
      flush(i);
      enqueue(i);
      const auto stop = std::chrono::steady_clock::now();
      const double us = std::chrono::duration<double, std::micro>(stop - start).count();
      host_us = i == 0 ? us : std::min(host_us, us);
    }
    std::vector<Owned<cudaEvent_t>> events;
    for (int i = 0; i < 2 * runs; ++i) events.push_back(make_event());
    launch_spin(std::clamp(2 * runs * host_us, 500.0, 50000.0), stream_);
    for (int i = 0; i < runs; ++i) {
      const auto e = 2 * static_cast<std::size_t>(i);
      flush(warmup + i);
      SEPCONV_CUDA_TRY(cudaEventRecord(events[e].get(), stream_));
      enqueue(warmup + i);
      SEPCONV_CUDA_TRY(cudaEventRecord(events[e + 1].get(), stream_));
    }
    SEPCONV_CUDA_TRY(cudaStreamSynchronize(stream_));
    std::vector<double> us;
    for (int i = 0; i < runs; ++i) {
      const auto e = 2 * static_cast<std::size_t>(i);
      float ms = 0;
      SEPCONV_CUDA_TRY(cudaEventElapsedTime(&ms, events[e].get(), events[e + 1].get()));
      us.push_back(static_cast<double>(ms) * 1e3);
    }
    return summarize(us);
  }

  [[nodiscard]] cudaStream_t stream() const { return stream_; }
  [[nodiscard]] std::size_t flush_bytes() const { return flush_.bytes(); }

 private:
  void flush(int i) {
    SEPCONV_CUDA_TRY(cudaMemsetAsync(flush_.data(), i & 0xff, flush_.bytes(), stream_));
  }

  cudaStream_t stream_;
  DeviceBuffer flush_;
};

double tera_per_second(double flops, const Timing& t) {
  return flops / (t.median_us * 1e-6) / 1e12;
}

ordered_json timing_json(const Timing& t) {
  return {{"median_us", t.median_us}, {"min_us", t.min_us}, {"max_us", t.max_us}, {"runs", t.runs}};
}

// ---- the card -----------------------------------------------------------------------------------

int attribute(cudaDeviceAttr a) {
  int v = 0;
  SEPCONV_CUDA_TRY(cudaDeviceGetAttribute(&v, a, kDevice));
  return v;
}

/// An attribute that is only recorded: null when the runtime does not report it (the failed
/// query's error is cleared, so no later launch check mistakes it for its own).
ordered_json recorded_attribute(cudaDeviceAttr a) {
  int v = 0;
  if (cudaDeviceGetAttribute(&v, a, kDevice) != cudaSuccess) {
    static_cast<void>(cudaGetLastError());
    return nullptr;
  }
  return v;
}

/// The NVIDIA driver's version ("570.124.06") from /proc/driver/nvidia/version, or "unknown".
std::string nvidia_driver_version() {
  std::ifstream file("/proc/driver/nvidia/version");
  std::string line;
  if (!std::getline(file, line)) return "unknown";
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    const bool version = std::isdigit(static_cast<unsigned char>(word[0])) != 0 &&
                         word.find('.') != std::string::npos &&
                         word.find_first_not_of("0123456789.") == std::string::npos;
    if (version) return word;
  }
  return "unknown";
}

ordered_json card_json(const cudaDeviceProp& prop) {
  ordered_json card = {
      {"name", prop.name},
      {"compute_capability", std::to_string(prop.major) + "." + std::to_string(prop.minor)},
      {"multiprocessors", attribute(cudaDevAttrMultiProcessorCount)},
      {"l2_bytes", attribute(cudaDevAttrL2CacheSize)},
      {"memory_bytes", prop.totalGlobalMem},
      {"clock_khz", recorded_attribute(cudaDevAttrClockRate)},
      {"memory_clock_khz", recorded_attribute(cudaDevAttrMemoryClockRate)},
      {"memory_bus_bits", recorded_attribute(cudaDevAttrGlobalMemoryBusWidth)},
      {"theoretical_bandwidth_gbs", nullptr}};
  if (card["memory_clock_khz"].is_number() && card["memory_bus_bits"].is_number()) {
    // Double data rate: two transfers a clock.
    card["theoretical_bandwidth_gbs"] = 2 * card["memory_clock_khz"].get<double>() * 1e3 *
                                        card["memory_bus_bits"].get<double>() / 8 / 1e9;
  }
  return card;
}

// ---- ceilings -----------------------------------------------------------------------------------

struct Env {
  const Selection& sel;
  Timer& timer;
  cublasLtHandle_t handle;
  Context& context;
  detail::DeviceLimits limits;
  double l2_bytes = 0;
  std::optional<Ceilings> ceilings;
  std::uint64_t seed = 1;

  Timing time(const std::function<void(int)>& enqueue) {
    return timer.time(sel.warmup, sel.runs, enqueue);
  }
  [[nodiscard]] cudaStream_t stream() const { return timer.stream(); }
  /// A device buffer of `count` elements, uniform in [lo, hi) (or one value when lo == hi).
  DeviceBuffer filled(DType dtype, std::int64_t count, float lo, float hi) {
    DeviceBuffer b(static_cast<std::size_t>(count) * dtype_size(dtype));
    fill_uniform(b.data(), dtype, count, seed++, lo, hi, stream());
    return b;
  }
};

Ceilings measure_ceilings(Env& env, ordered_json& info) {
  Ceilings c;
  const cudaStream_t stream = env.stream();
  try {
    // Bytes read plus bytes written per second, over a copy far larger than the L2.
    const std::size_t bytes = (env.sel.quick ? std::size_t{256} : std::size_t{1024}) << 20;
    const auto words = static_cast<std::int64_t>(bytes / 4);
    const DeviceBuffer src = env.filled(DType::f32, words, -1, 1);
    const DeviceBuffer dst(bytes);
    const Timing t = env.time([&](int) {
      SEPCONV_CUDA_TRY(
          cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice, stream));
    });
    c.bandwidth_gbs = 2.0 * static_cast<double>(bytes) / (t.median_us * 1e-6) / 1e9;
    info["copy"] = timing_json(t);
    info["copy"]["bytes_each_way"] = bytes;
  } catch (const std::exception& e) {
    info["copy"] = {{"error", e.what()}};
  }
  try {
    const FmaLaunch launch = fma_launch_for(
        env.limits.multiprocessors > 0 ? static_cast<int>(env.limits.multiprocessors) : 1);
    const DeviceBuffer out(static_cast<std::size_t>(launch.outputs()) * sizeof(float));
    const Timing t =
        env.time([&](int) { launch_fma(launch, static_cast<float*>(out.data()), stream); });
    c.fma_tflops = tera_per_second(launch.flops(), t);
    info["fp32_fma"] = timing_json(t);
    info["fp32_fma"]["blocks"] = launch.blocks;
    info["fp32_fma"]["threads"] = launch.threads;
    info["fp32_fma"]["iterations"] = launch.iterations;
    info["fp32_fma"]["flops"] = launch.flops();
  } catch (const std::exception& e) {
    info["fp32_fma"] = {{"error", e.what()}};
  }
  for (const Mode& mode : env.sel.modes) {
    const std::string key = "gemm_" + mode.name;
    try {
      // A square GEMM large enough to run the tensor cores (or FP32 units) at their best.
      const std::int64_t n = env.sel.quick ? 4096 : 8192;
      detail::GemmPlan g;
      g.dtype = mode.dtype;
      g.math = mode.math;
      g.m = g.n = g.k = n;
      g.lda = g.ldb = g.ldc = n;
      detail::LtMatmul lt(g);
      lt.choose_algorithm(env.handle, kGemmWorkspace);
      const DeviceBuffer a = env.filled(mode.dtype, n * n, -1, 1);
      const DeviceBuffer b = env.filled(mode.dtype, n * n, -1, 1);
      const DeviceBuffer out(static_cast<std::size_t>(n * n) * dtype_size(mode.dtype));
      const DeviceBuffer workspace(lt.workspace_size());
      const Timing t = env.time([&](int) {
        lt.run(env.handle, a.data(), b.data(), out.data(), workspace.data(), workspace.bytes(),
               stream);
      });
      const double flops =
          2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
      c.gemm_tflops[mode.name] = tera_per_second(flops, t);
      info[key] = timing_json(t);
      info[key]["m_n_k"] = n;
      info[key]["flops"] = flops;
    } catch (const std::exception& e) {
      info[key] = {{"error", e.what()}};
    }
  }
  return c;
}

// ---- rows ---------------------------------------------------------------------------------------

detail::PlanRequest plan_request(const Shape& s, DataFormat format, const Mode& mode) {
  detail::PlanRequest r;
  r.config = s.config(format);
  r.precision = Precision{mode.dtype, mode.math};
  r.shape = detail::problem_shape(r.config, s.batch, s.length, s.channels);
  const auto xs = input_shape(r.config, s.batch, s.length, s.channels);
  const auto ys = output_shape(r.config, s.batch, s.length);
  for (int i = 0; i < 3; ++i) {  // contiguous views, cudaMalloc'd (256-byte aligned)
    r.x_strides[i] = i == 0 ? xs[1] * xs[2] : i == 1 ? xs[2] : 1;
    r.y_strides[i] = i == 0 ? ys[1] * ys[2] : i == 1 ? ys[2] : 1;
  }
  return r;
}

std::int64_t count(const std::array<std::int64_t, 3>& shape) {
  return shape[0] * shape[1] * shape[2];
}

/// The rows of one shape x format x mode, in stage order.
void run_case(Env& env, const Shape& s, DataFormat format, const Mode& mode, Report& report) {
  const cudaStream_t stream = env.stream();
  const LayerConfig config = s.config(format);
  const DType t = mode.dtype;
  const auto e = static_cast<std::int64_t>(dtype_size(t));
  const ShapeWork work = count_work(s, t);
  std::optional<Floors> fl;
  if (env.ceilings && env.ceilings->complete_for(mode)) fl = floors(work, *env.ceilings, mode);

  auto row_for = [&](Stage stage) {
    Row r;
    r.shape = s.name;
    r.format = format;
    r.mode = mode;
    r.stage = stage;
    r.work = stage == Stage::depthwise   ? work.depthwise
             : stage == Stage::pointwise ? work.pointwise
             : stage == Stage::backward  ? work.backward
                                         : work.fused;
    if (fl) {
      r.floor_two_kernel = stage == Stage::depthwise   ? fl->depthwise
                           : stage == Stage::pointwise ? fl->pointwise
                                                       : fl->two_kernel;
      if (stage == Stage::backward) r.floor_two_kernel.reset();  // no floor of its own yet
      if (stage == Stage::forward) r.floor_fused = fl->fused;
    }
    return r;
  };
  // One row per selected stage; an exception fails that row alone.
  auto record = [&](Stage stage, const std::function<void(Row&)>& body) {
    if (!env.sel.has(stage)) return;
    Row row = row_for(stage);
    try {
      body(row);
    } catch (const std::exception& ex) {
      row.error = ex.what();
      row.timing = {};
    }
    report.rows.push_back(row);
  };
  try {
    const detail::Plan plan = detail::make_plan(plan_request(s, format, mode), env.limits);
    const auto xs = input_shape(config, s.batch, s.length, s.channels);
    const auto ys = output_shape(config, s.batch, s.length);
    const std::int64_t cm = s.mid_channels();
    const double pw_scale = 1.0 / std::sqrt(static_cast<double>(cm));  // keeps outputs O(1)

    // Inputs in every layout the stages read: x (rotated), the packed depthwise weights
    // W[m][j][c], the pointwise matrix (with room for the ones-row bias), the bias.
    const int x_copies = rotation_copies(static_cast<double>(count(xs) * e), env.l2_bytes);
    std::vector<DeviceBuffer> x;
    for (int i = 0; i < x_copies; ++i) x.push_back(env.filled(t, count(xs), -1, 1));
    const DeviceBuffer dw = env.filled(t, s.kernel * cm, -1, 1);
    const DeviceBuffer pw = env.filled(t, (cm + 1) * s.filters, static_cast<float>(-pw_scale),
                                       static_cast<float>(pw_scale));
    const DeviceBuffer bias = env.filled(t, s.filters, -0.5f, 0.5f);
    const DeviceBuffer y(static_cast<std::size_t>(count(ys) * e));
    SEPCONV_CUDA_TRY(cudaStreamSynchronize(stream));
    auto poison_y = [&] { fill_uniform(y.data(), t, count(ys), 0, kNaN, kNaN, stream); };
    auto y_finite = [&] {
      return count_nonfinite(y.data(), t, 1, count(ys), count(ys), stream) == 0;
    };

    // D has the layer's dtype (no float32 intermediate is requested here).
    const detail::DepthwisePlan& dp = plan.depthwise();
    const DType dt = dp.d_dtype;
    const std::int64_t d_count = plan.bytes(detail::Buffer::d) / static_cast<std::int64_t>(dtype_size(dt));
    record(Stage::depthwise, [&](Row& row) {
      const DeviceBuffer d = env.filled(dt, d_count, kNaN, kNaN);  // poisoned
      detail::DepthwiseArgs args;
      args.plan = dp;
      args.w = dw.data();
      args.d = d.data();
      row.copies = x_copies;
      row.timing = env.time([&](int i) {
        args.x = x[static_cast<std::size_t>(i % x_copies)].data();
        detail::launch_depthwise(args, stream);
      });
      // D's written part: channels_last rows of C*M, channels_first rows of time (with the ones
      // row when the bias is folded in); the padding up to d_ld is never written.
      const bool last = format == DataFormat::channels_last;
      const std::int64_t rows =
          last ? dp.batch * dp.time_count : dp.batch * (dp.d_batch_stride / dp.d_ld);
      row.outputs_finite =
          count_nonfinite(d.data(), dt, rows, last ? cm : dp.time_count, dp.d_ld, stream) == 0;
    });

    record(Stage::pointwise, [&](Row& row) {
      const int d_copies = rotation_copies(static_cast<double>(plan.bytes(detail::Buffer::d)), env.l2_bytes);
      std::vector<DeviceBuffer> d;
      for (int i = 0; i < d_copies; ++i) d.push_back(env.filled(dt, d_count, -1, 1));
      detail::LtMatmul lt(plan.gemm());
      lt.choose_algorithm(env.handle, kGemmWorkspace);
      if (lt.has_bias()) lt.set_bias_pointer(bias.data());
      const DeviceBuffer workspace(lt.workspace_size());
      const bool after = plan.has_epilogue();
      poison_y();
      row.copies = d_copies;
      row.timing = env.time([&](int i) {
        const void* di = d[static_cast<std::size_t>(i % d_copies)].data();
        lt.run(env.handle, plan.gemm().a_is_weights ? pw.data() : di,
               plan.gemm().a_is_weights ? di : pw.data(), y.data(), workspace.data(),
               workspace.bytes(), stream);
        if (after) detail::launch_epilogue(plan.epilogue(), y.data(), nullptr, bias.data(), stream);
      });
      row.outputs_finite = y_finite();
    });

    record(Stage::forward, [&](Row& row) {
      SeparableConv1D layer(env.context, config, s.channels, Precision{t, mode.math});
      layer.set_weights(
          {contiguous_view(static_cast<const void*>(dw.data()), t,
                           {s.kernel, s.channels, s.multiplier}),
           contiguous_view(static_cast<const void*>(pw.data()), t, {1, cm, s.filters}),
           contiguous_view(static_cast<const void*>(bias.data()), t, {s.filters})});
      env.context.reserve(layer, s.batch, s.length);
      report.plans[s.name + "/" + std::string(to_string(format)) + "/" + mode.name] =
          layer.describe(s.batch, s.length);
      std::vector<ConstTensorView> xv;
      for (const DeviceBuffer& b : x) {
        xv.push_back(contiguous_view(static_cast<const void*>(b.data()), t, {xs[0], xs[1], xs[2]}));
      }
      const TensorView yv = contiguous_view(y.data(), t, {ys[0], ys[1], ys[2]});
      poison_y();
      row.copies = x_copies;
      row.timing = env.time(
          [&](int i) { layer.forward(xv[static_cast<std::size_t>(i % x_copies)], yv, stream); });
      row.outputs_finite = y_finite();
    });
    record(Stage::backward, [&](Row& row) {
      // One training forward keeps the state, then the backward is timed on that x and a fixed
      // dy (dx and the float32 weight gradients; the layer is linear: the state holds D at most).
      SeparableConv1D layer(env.context, config, s.channels, Precision{t, mode.math});
      layer.set_weights(
          {contiguous_view(static_cast<const void*>(dw.data()), t,
                           {s.kernel, s.channels, s.multiplier}),
           contiguous_view(static_cast<const void*>(pw.data()), t, {1, cm, s.filters}),
           contiguous_view(static_cast<const void*>(bias.data()), t, {s.filters})});
      const DeviceBuffer dy = env.filled(t, count(ys), -1, 1);
      const DeviceBuffer dx = env.filled(t, count(xs), kNaN, kNaN);  // poisoned
      const DeviceBuffer ddw = env.filled(DType::f32, s.kernel * cm, kNaN, kNaN);
      const DeviceBuffer dpw = env.filled(DType::f32, cm * s.filters, kNaN, kNaN);
      const DeviceBuffer db = env.filled(DType::f32, s.filters, kNaN, kNaN);
      const std::size_t state_bytes = layer.training_state_size(s.batch, s.length);
      const DeviceBuffer state(std::max<std::size_t>(state_bytes, 1));
      const DeviceBuffer workspace(
          std::max<std::size_t>(layer.training_workspace_size(s.batch, s.length), 1));
      report.plans[s.name + "/" + std::string(to_string(format)) + "/" + mode.name +
                   "/training"] = layer.describe_training(s.batch, s.length);
      const ConstTensorView xv =
          contiguous_view(static_cast<const void*>(x[0].data()), t, {xs[0], xs[1], xs[2]});
      const ConstTensorView dyv =
          contiguous_view(static_cast<const void*>(dy.data()), t, {ys[0], ys[1], ys[2]});
      const Gradients g{contiguous_view(dx.data(), t, {xs[0], xs[1], xs[2]}),
                        contiguous_view(ddw.data(), DType::f32, {s.kernel, s.channels, s.multiplier}),
                        contiguous_view(dpw.data(), DType::f32, {1, cm, s.filters}),
                        contiguous_view(db.data(), DType::f32, {s.filters})};
      layer.forward_training(xv, contiguous_view(y.data(), t, {ys[0], ys[1], ys[2]}), state.data(),
                             state_bytes, workspace.data(), workspace.bytes(), stream);
      row.copies = 1;
      row.timing = env.time([&](int) {
        layer.backward(xv, dyv, state.data(), state_bytes, g, workspace.data(), workspace.bytes(),
                       stream);
      });
      row.outputs_finite =
          count_nonfinite(dx.data(), t, 1, count(xs), count(xs), stream) == 0 &&
          count_nonfinite(ddw.data(), DType::f32, 1, s.kernel * cm, s.kernel * cm, stream) == 0 &&
          count_nonfinite(dpw.data(), DType::f32, 1, cm * s.filters, cm * s.filters, stream) == 0 &&
          count_nonfinite(db.data(), DType::f32, 1, s.filters, s.filters, stream) == 0;
    });
  } catch (const std::exception& ex) {  // the case's setup failed: every selected stage fails
    for (Stage stage : all_stages()) {
      const bool recorded = std::any_of(report.rows.begin(), report.rows.end(), [&](const Row& r) {
        return r.shape == s.name && r.format == format && r.mode.name == mode.name &&
               r.stage == stage;
      });
      if (!env.sel.has(stage) || recorded) continue;
      Row row = row_for(stage);
      row.error = ex.what();
      report.rows.push_back(row);
    }
  }
}

}  // namespace

Report run_gpu(const Selection& sel) {
  Report report;
  report.gpu = true;
  detail::DeviceGuard guard(kDevice);
  cudaDeviceProp prop{};
  SEPCONV_CUDA_TRY(cudaGetDeviceProperties(&prop, kDevice));
  int driver = 0;
  int runtime = 0;
  SEPCONV_CUDA_TRY(cudaDriverGetVersion(&driver));
  SEPCONV_CUDA_TRY(cudaRuntimeGetVersion(&runtime));
  const auto l2 = static_cast<std::size_t>(attribute(cudaDevAttrL2CacheSize));

  const Owned<cudaStream_t> stream = make_stream();
  Timer timer(stream.get(), l2);
  const Owned<cublasLtHandle_t> handle = make_lt_handle();
  Context context(kDevice);
  Env env{sel,
          timer,
          handle.get(),
          context,
          detail::read_device_limits(kDevice),
          static_cast<double>(l2),
          std::nullopt,
          1};

  report.meta["card"] = card_json(prop);
  report.meta["driver_version"] = nvidia_driver_version();
  report.meta["cuda_driver_api_version"] = driver;
  report.meta["cuda_runtime_version"] = runtime;
  report.meta["cublaslt_version"] = cublasLtGetVersion();
  report.meta["commit"] = sel.commit;
  report.meta["date"] = utc_now();
  report.meta["settings"] = {
      {"runs", sel.runs},
      {"warmup", sel.warmup},
      {"quick", sel.quick},
      {"l2_flush_bytes", timer.flush_bytes()},
      {"timer",
       "cudaEvent pair around each run; the timed runs enqueued behind a spin kernel (2x the "
       "host time of a warm-up run, per run; 0.5 to 50 ms), then one synchronisation"},
      {"inputs", "device-side uniform random data; rotated among copies exceeding 3x the L2"},
      {"gemm_workspace_bytes", kGemmWorkspace},
      {"activation", "linear"},
      {"use_bias", true}};
  report.notes.push_back(std::string("sepconv_bench on ") + prop.name + " (driver " +
                         nvidia_driver_version() + ", CUDA runtime " + std::to_string(runtime) +
                         ", cuBLASLt " + std::to_string(cublasLtGetVersion()) + ", commit " +
                         sel.commit + "); activation linear, use_bias true");
  report.shapes = sel.shapes;

  std::cerr << "sepconv_bench: measuring the ceilings of " << prop.name << "\n";
  report.ceilings = measure_ceilings(env, report.ceilings_detail);
  env.ceilings = report.ceilings;
  for (const Shape& s : sel.shapes) {
    for (DataFormat format : s.formats) {
      if (!sel.has(format)) continue;
      for (const Mode& mode : sel.modes) {
        std::cerr << "sepconv_bench: " << s.name << " " << to_string(format) << " " << mode.name
                  << "\n";
        run_case(env, s, format, mode, report);
      }
    }
  }
  return report;
}

}  // namespace sepconv::bench
