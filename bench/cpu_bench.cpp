#include "cpu_bench.h"

#include <chrono>
#include <random>

#include "detail/elements.h"
#include "sepconv/reference.h"

namespace sepconv::bench {
namespace {

// Host memory of `count` elements of `dtype`: zeros, or uniform in [-scale, scale) with an rng.
struct HostBuffer {
  std::vector<unsigned char> bytes;
  HostBuffer(DType dtype, std::int64_t count)
      : bytes(static_cast<std::size_t>(count) * dtype_size(dtype)) {}
  HostBuffer(DType dtype, std::int64_t count, double scale, std::mt19937_64& rng)
      : HostBuffer(dtype, count) {
    std::uniform_real_distribution<double> uniform(-scale, scale);
    for (std::int64_t i = 0; i < count; ++i) {
      detail::store_element(bytes.data(), dtype, i, uniform(rng));
    }
  }
  [[nodiscard]] ConstTensorView view(DType dtype, std::initializer_list<std::int64_t> shape) const {
    return contiguous_view(static_cast<const void*>(bytes.data()), dtype, shape);
  }
  [[nodiscard]] TensorView view(DType dtype, std::initializer_list<std::int64_t> shape) {
    return contiguous_view(static_cast<void*>(bytes.data()), dtype, shape);
  }
};

template <class Fn>
Timing time_host(int warmup, int runs, Fn&& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> us;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    const auto stop = std::chrono::steady_clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(stop - start).count());
  }
  return summarize(us);
}

}  // namespace

Report run_cpu(const Selection& sel, const std::string& reason) {
  Report report;
  report.gpu = false;
  report.notes = {
      "sepconv_bench: " + reason,
      "sepconv_bench: timing the float64 CPU reference on small shapes instead: not the "
      "benchmark's shapes, no ceilings, no roofline; the pointwise stage and tf32 have no CPU "
      "counterpart and are skipped"};
  report.meta["card"] = {{"name", "cpu"}};
  report.meta["commit"] = sel.commit;
  report.meta["date"] = utc_now();
  report.meta["settings"] = {{"runs", sel.runs},
                             {"warmup", 1},
                             {"quick", sel.quick},
                             {"timer", "std::chrono::steady_clock"}};
  report.shapes = sel.shapes;
  std::mt19937_64 rng(20240601);
  for (const Shape& s : sel.shapes) {
    for (DataFormat format : s.formats) {
      if (!sel.has(format)) continue;
      const LayerConfig config = s.config(format);
      const auto xs = input_shape(config, s.batch, s.length, s.channels);
      const auto ys = output_shape(config, s.batch, s.length);
      for (const Mode& mode : sel.modes) {
        if (mode.math == MathMode::tf32) continue;
        const DType t = mode.dtype;
        const HostBuffer x(t, xs[0] * xs[1] * xs[2], 1.0, rng);
        const HostBuffer dw(t, s.kernel * s.mid_channels(), 1.0, rng);
        const HostBuffer pw(t, s.mid_channels() * s.filters, 1.0, rng);
        const HostBuffer bias(t, s.filters, 0.5, rng);
        HostBuffer y(t, ys[0] * ys[1] * ys[2]);
        const ConstTensorView xv = x.view(t, {xs[0], xs[1], xs[2]});
        const Weights w{dw.view(t, {s.kernel, s.channels, s.multiplier}),
                        pw.view(t, {1, s.mid_channels(), s.filters}), bias.view(t, {s.filters})};
        const TensorView yv = y.view(t, {ys[0], ys[1], ys[2]});
        // The backward's dy and gradients (float32 weight gradients, dx in x's dtype).
        const HostBuffer dy(t, ys[0] * ys[1] * ys[2], 1.0, rng);
        HostBuffer dx(t, xs[0] * xs[1] * xs[2]);
        HostBuffer ddw(DType::f32, s.kernel * s.mid_channels());
        HostBuffer dpw(DType::f32, s.mid_channels() * s.filters);
        HostBuffer db(DType::f32, s.filters);
        const Gradients g{dx.view(t, {xs[0], xs[1], xs[2]}),
                          ddw.view(DType::f32, {s.kernel, s.channels, s.multiplier}),
                          dpw.view(DType::f32, {1, s.mid_channels(), s.filters}),
                          db.view(DType::f32, {s.filters})};
        const ConstTensorView dyv = dy.view(t, {ys[0], ys[1], ys[2]});
        const ShapeWork work = count_work(s, t);
        for (Stage stage : {Stage::depthwise, Stage::forward, Stage::backward}) {
          if (!sel.has(stage)) continue;
          Row row;
          row.shape = s.name;
          row.format = format;
          row.mode = mode;
          row.stage = stage;
          row.work = stage == Stage::depthwise  ? work.depthwise
                     : stage == Stage::backward ? work.backward
                                                : work.fused;
          try {
            row.timing = time_host(1, sel.runs, [&] {
              if (stage == Stage::depthwise) {
                static_cast<void>(reference::depthwise(config, xv, w.depthwise));
              } else if (stage == Stage::forward) {
                reference::forward(config, xv, w, yv);
              } else {
                reference::backward(config, xv, w, dyv, g);
              }
            });
          } catch (const std::exception& e) {
            row.error = e.what();
          }
          report.rows.push_back(row);
        }
      }
    }
  }
  return report;
}

}  // namespace sepconv::bench
