#include "parity_case.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <limits>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "depthwise_case.h"
#include "detail/message.h"
#include "detail/elements.h"
#include "sepconv/accuracy.h"

namespace sepconv::test::parity {
namespace {

// Output elements per piece when a whole output is cut up for the host threads.
constexpr std::int64_t kPieceElements = 8192;

ParityCase make_case(std::string name, const LayerConfig& config, std::int64_t batch,
                     std::int64_t length, std::int64_t channels, Precision precision = {}) {
  return {std::move(name), config, precision, batch, length, channels};  // ParityCase's order
}

const char* short_format(DataFormat f) { return f == DataFormat::channels_last ? "cl" : "cf"; }

// Calls fn(i0, i1, i2) for every index of a rank-1..3 view, row-major.
template <class Fn>
void for_each_index(const ConstTensorView& v, Fn&& fn) {
  const std::int64_t n0 = v.rank > 0 ? v.shape[0] : 1;
  const std::int64_t n1 = v.rank > 1 ? v.shape[1] : 1;
  const std::int64_t n2 = v.rank > 2 ? v.shape[2] : 1;
  for (std::int64_t a = 0; a < n0; ++a)
    for (std::int64_t b = 0; b < n1; ++b)
      for (std::int64_t c = 0; c < n2; ++c) fn(a, b, c);
}

}  // namespace

LayerConfig make_config(std::int64_t filters, std::int64_t kernel, Padding padding,
                        DataFormat format, Activation activation, std::int64_t multiplier,
                        std::int64_t strides, std::int64_t dilation, bool bias) {
  // LayerConfig's member order.
  return {filters, kernel, strides, padding, format, dilation, multiplier, activation, bias};
}

const std::vector<Precision>& all_precisions() {
  static const std::vector<Precision> all{
      {DType::f32, MathMode::exact, false}, {DType::f32, MathMode::tf32, false},
      {DType::f16, MathMode::exact, false}, {DType::bf16, MathMode::exact, false},
      {DType::f16, MathMode::exact, true},  {DType::bf16, MathMode::tf32, true}};
  return all;
}

std::string precision_name(const Precision& p) {
  std::string name = p.dtype == DType::f32 ? "f32" : p.dtype == DType::f16 ? "f16" : "bf16";
  if (p.dtype != DType::f32 && p.float32_intermediate) name += "_f32mid";
  if (p.math == MathMode::tf32) name = p.dtype == DType::f32 ? "tf32" : name + "_tf32";
  return name;
}

std::string ParityCase::describe() const {
  std::ostringstream o;
  o << name << ": " << test::describe(config) << " " << precision_name(precision) << " B" << batch
    << " L" << length << " C" << channels << " Lout " << output_steps(*this);
  auto slack = [&](const char* what, const std::array<std::int64_t, 3>& s) {
    if (s != std::array<std::int64_t, 3>{})
      o << " " << what << "-sliced{" << s[0] << "," << s[1] << "," << s[2] << "}";
  };
  slack("x", x_slack);
  slack("y", y_slack);
  if (sampled_windows > 0)
    o << ", " << sampled_windows << " sampled windows of " << window_steps << " steps";
  if (workspace_steps > 0) o << ", workspace for 1 x " << workspace_steps << " steps";
  if (tap_chunked) o << ", tap-chunked";
  return o.str();
}

std::int64_t output_steps(const ParityCase& c) { return output_length(c.config, c.length); }

// ---- tables -------------------------------------------------------------------------------------

std::vector<ParityCase> shape_cases() {
  using A = Activation;
  using P = Padding;
  const auto cl = DataFormat::channels_last;
  const auto cf = DataFormat::channels_first;
  std::vector<ParityCase> base;
  base.reserve(32);  // add() returns a reference into it
  // add(name, config, B, L, C, sampled windows)
  auto add = [&](const char* name, const LayerConfig& config, std::int64_t batch,
                 std::int64_t length, std::int64_t channels, int windows) -> ParityCase& {
    base.push_back(make_case(name, config, batch, length, channels));
    base.back().sampled_windows = windows;
    return base.back();
  };
  // Long sequences. Softmax along time needs whole rows: few filters keep those rows cheap.
  add("long_seq_cl", make_config(48, 31, P::same, cl, A::gelu), 2, 65536 + 7, 64, 8);
  add("long_seq_cf_log_softmax", make_config(4, 9, P::causal, cf, A::log_softmax, 2, 1, 2), 2,
      65536 + 1, 8, 2);
  add("long_seq_strided_cl", make_config(16, 8, P::same, cl, A::relu, 1, 3), 1, 100000, 32, 8);
  // Many channels.
  add("many_channels_cl", make_config(256, 5, P::valid, cl, A::relu), 2, 257, 4096 + 32, 6)
      .window_steps = 8;
  add("many_channels_cf", make_config(64, 3, P::same, cf, A::tanh, 2), 2, 300, 2048 + 3, 6)
      .window_steps = 8;
  // Large kernels and dilations: the tap-chunked path.
  add("k1024_cl", make_config(32, 1024, P::same, cl, A::silu), 2, 3000, 128, 6).tap_chunked = true;
  add("k1024_d8_cf", make_config(16, 1024, P::same, cf, A::sigmoid, 1, 1, 8), 1, 6000, 40, 6)
      .tap_chunked = true;
  add("k257_d4_cl", make_config(32, 257, P::valid, cl, A::linear, 1, 1, 4), 2, 3000, 64, 6)
      .tap_chunked = true;
  add("k257_d32_cf", make_config(32, 257, P::same, cf, A::softsign, 1, 1, 32), 2, 3000, 16, 6)
      .tap_chunked = true;
  add("k513_longer_than_input_cl", make_config(12, 513, P::same, cl, A::elu), 2, 100, 24, 0);
  // Huge strides and dilations: the gathered staging.
  add("d4096_gathered_cl", make_config(8, 3, P::valid, cl, A::hard_tanh, 1, 1, 4096), 1, 20000, 32,
      6);
  add("s16_gathered_cf", make_config(8, 9, P::same, cf, A::relu6, 1, 16), 2, 50000, 8, 6);
  // Sliced (strided) views.
  auto& sliced_cl = add("sliced_cl", make_config(40, 15, P::causal, cl, A::elu), 3, 20000, 96, 6);
  sliced_cl.x_slack = {1, 7, 16};
  sliced_cl.y_slack = {2, 5, 8};
  auto& sliced_cf =
      add("sliced_cf", make_config(24, 7, P::valid, cf, A::softplus), 3, 20000, 48, 6);
  sliced_cf.x_slack = {1, 3, 24};
  sliced_cf.y_slack = {1, 2, 16};
  // Chunked workspaces: output steps (channels_last), whole samples (softmax along time).
  add("workspace_time_chunks_cl", make_config(32, 33, P::same, cl, A::mish, 2), 8, 4000, 64, 6)
      .workspace_steps = 1000;
  add("workspace_batch_chunks_cf_softmax", make_config(16, 5, P::same, cf, A::softmax), 6, 3000, 32,
      3)
      .workspace_steps = 3000;
  // Many batches; many filters without bias.
  add("batch64_cl", make_config(64, 3, P::valid, cl, A::hard_silu), 64, 512, 128, 8);
  add("filters1024_nobias_cl", make_config(1024, 7, P::same, cl, A::linear, 1, 1, 1, false), 2,
      1000, 256, 4)
      .window_steps = 4;

  std::vector<ParityCase> all;
  for (const auto& c : base) {
    for (const auto& p : all_precisions()) {
      ParityCase v = c;
      v.precision = p;
      v.name += "_" + precision_name(p);
      all.push_back(std::move(v));
    }
  }
  return all;
}

std::vector<ParityCase> activation_cases() {
  std::vector<ParityCase> all;
  for (int a = 0; a < kActivationCount; ++a) {
    const auto activation = static_cast<Activation>(a);
    for (auto format : {DataFormat::channels_last, DataFormat::channels_first}) {
      for (const auto& p : all_precisions()) {
        const Padding padding =
            format == DataFormat::channels_last ? Padding::same : Padding::causal;
        ParityCase c = make_case(std::string(to_string(activation)) + "_" + short_format(format) +
                                     "_" + precision_name(p),
                                 make_config(20, 9, padding, format, activation, 2), 2, 200, 24, p);
        c.x_slack = {1, 3, 8};
        c.y_slack = {1, 2, 4};
        all.push_back(std::move(c));
      }
    }
  }
  return all;
}

std::vector<ParityCase> path_cases() {
  using A = Activation;
  const auto cl = DataFormat::channels_last;
  const auto cf = DataFormat::channels_first;
  const Precision f32{DType::f32, MathMode::exact};
  const Precision tf32{DType::f32, MathMode::tf32};
  const Precision f16{DType::f16, MathMode::exact};
  const Precision bf16{DType::bf16, MathMode::exact};
  std::vector<ParityCase> all;
  all.push_back(make_case("sliding_cl_f32_relu_bias_epilogue",
                          make_config(12, 7, Padding::same, cl, A::relu), 2, 150, 16, f32));
  all.push_back(make_case("sliding_cf_f32_gelu_ones_row",
                          make_config(12, 5, Padding::same, cf, A::gelu), 2, 150, 12, f32));
  all.push_back(make_case("strided_cl_f16_silu",
                          make_config(8, 5, Padding::valid, cl, A::silu, 1, 3), 2, 200, 24, f16));
  all.push_back(make_case("dilated_cf_bf16_tanh",
                          make_config(8, 5, Padding::causal, cf, A::tanh, 1, 1, 3), 2, 150, 10,
                          bf16));
  all.push_back(make_case("tap_chunked_cl_f32",
                          make_config(8, 300, Padding::same, cl, A::linear, 1, 1, 1, false), 1, 400,
                          128, f32));
  all.back().tap_chunked = true;
  all.push_back(make_case("tap_chunked_cf_f32",
                          make_config(8, 64, Padding::same, cf, A::relu, 1, 1, 64), 1, 300, 8,
                          f32));
  all.back().tap_chunked = true;
  all.push_back(make_case("gathered_cl_f16",
                          make_config(8, 5, Padding::same, cl, A::relu6, 1, 1, 1024), 1, 300, 16,
                          f16));
  all.push_back(make_case("gathered_cf_f32_strided",
                          make_config(8, 9, Padding::same, cf, A::sigmoid, 1, 16), 2, 600, 8, f32));
  all.push_back(make_case("softmax_rows_cl_tf32", make_config(24, 3, Padding::same, cl, A::softmax),
                          2, 100, 16, tf32));
  all.push_back(make_case("log_softmax_time_cf_f32",
                          make_config(6, 3, Padding::valid, cf, A::log_softmax, 2), 2, 180, 8,
                          f32));
  all.push_back(make_case("sliced_views_cl_f32",
                          make_config(10, 4, Padding::causal, cl, A::hard_sigmoid), 3, 120, 20,
                          f32));
  all.back().x_slack = {1, 5, 12};
  all.back().y_slack = {2, 3, 6};
  all.push_back(make_case("workspace_chunks_cf_f16",
                          make_config(8, 7, Padding::same, cf, A::softsign), 3, 400, 16, f16));
  all.back().workspace_steps = 100;
  all.push_back(make_case("ragged_cl_bf16_selu", make_config(7, 4, Padding::valid, cl, A::selu, 3),
                          2, 90, 13, bf16));
  // A float32 intermediate: float32 D and GEMM, then a pass rounding to the layer's dtype.
  all.push_back(make_case("f32mid_cl_bf16_tf32_relu_bias",
                          make_config(12, 5, Padding::same, cl, A::relu), 2, 150, 16,
                          {DType::bf16, MathMode::tf32, true}));
  all.push_back(make_case("f32mid_cf_f16_softmax_time",
                          make_config(6, 3, Padding::causal, cf, A::softmax), 2, 120, 8,
                          {DType::f16, MathMode::exact, true}));
  return all;
}

std::vector<ParityCase> graph_cases() {
  using A = Activation;
  std::vector<ParityCase> all;
  all.push_back(make_case("time_chunks_cl_f16_gelu",
                          make_config(48, 33, Padding::same, DataFormat::channels_last, A::gelu, 2),
                          3, 2000, 64, {DType::f16, MathMode::exact}));
  all.back().workspace_steps = 600;
  all.back().sampled_windows = 6;
  all.push_back(make_case(
      "batch_chunks_cf_f32_softmax",
      make_config(16, 9, Padding::causal, DataFormat::channels_first, A::softmax), 4, 1500, 32));
  all.back().workspace_steps = 1500;
  all.push_back(make_case("whole_cl_tf32_relu_bias",
                          make_config(64, 5, Padding::valid, DataFormat::channels_last, A::relu), 2,
                          3000, 96, {DType::f32, MathMode::tf32}));
  all.back().sampled_windows = 6;
  return all;
}

std::vector<ParityCase> random_cases(int shard, int count) {
  std::mt19937_64 rng(7000 + static_cast<std::uint64_t>(shard));
  const auto& precisions = all_precisions();
  std::vector<ParityCase> all;
  for (int i = 0; i < count; ++i) {
    const CaseSpec s = random_spec(rng);  // its window and device limits are the emulator's
    ParityCase c = make_case(
        "random_" + std::to_string(shard) + "_" + std::to_string(i), s.config, s.batch, s.length,
        s.channels, precisions[static_cast<std::size_t>(shard * count + i) % precisions.size()]);
    c.x_slack = s.x_slack;
    c.y_slack = s.y_slack;
    all.push_back(std::move(c));
  }
  return all;
}

// ---- windows ------------------------------------------------------------------------------------

std::vector<reference::Window> check_windows(const ParityCase& c, std::uint64_t seed) {
  std::vector<reference::Window> out;
  const std::int64_t lout = output_steps(c);
  if (c.batch == 0 || lout == 0) return out;
  const bool whole_rows =
      is_row_reduction(c.config.activation) && c.config.data_format == DataFormat::channels_first;
  if (c.sampled_windows == 0) {
    const std::int64_t piece =
        whole_rows ? lout : std::max<std::int64_t>(16, kPieceElements / c.config.filters);
    for (std::int64_t b = 0; b < c.batch; ++b) {
      for (std::int64_t t = 0; t < lout; t += piece)
        out.push_back({b, 1, t, std::min(piece, lout - t)});
    }
    return out;
  }
  std::mt19937_64 rng(seed);
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  if (whole_rows) {
    const auto n = std::min<std::int64_t>(c.sampled_windows, c.batch);
    std::vector<std::int64_t> batches{0};
    if (c.batch > 1) batches.push_back(c.batch - 1);
    while (static_cast<std::int64_t>(batches.size()) < n) {
      const std::int64_t b = pick(0, c.batch - 1);
      if (std::find(batches.begin(), batches.end(), b) == batches.end()) batches.push_back(b);
    }
    for (auto b : batches) out.push_back({b, 1, 0, lout});
    return out;
  }
  const std::int64_t steps = std::min(c.window_steps, lout);
  out.push_back({0, 1, 0, steps});                       // the left padding
  out.push_back({c.batch - 1, 1, lout - steps, steps});  // the right padding
  while (static_cast<int>(out.size()) < c.sampled_windows) {
    out.push_back({pick(0, c.batch - 1), 1, pick(0, lout - steps), steps});
  }
  return out;
}

// ---- inputs -------------------------------------------------------------------------------------

void fill_hashed(HostTensor& t, std::uint64_t seed) {
  const TensorView v = t.view();
  const std::int64_t n1 = v.rank > 1 ? v.shape[1] : 1;
  const std::int64_t n2 = v.rank > 2 ? v.shape[2] : 1;
  const std::int64_t rows = (v.rank > 0 ? v.shape[0] : 1) * n1;
  parallel_for(static_cast<std::size_t>(rows), [&](std::size_t r) {
    const auto row = static_cast<std::int64_t>(r);
    for (std::int64_t i = 0; i < n2; ++i) {
      const auto index = static_cast<std::uint64_t>(row * n2 + i);
      detail::store_element(v.data, v.dtype, v.offset(row / n1, row % n1, i),
                            hashed_uniform(seed, index));
    }
  });
}

std::uint64_t seed_of(const std::string& name) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : name) h = (h ^ ch) * 1099511628211ull;
  return h;
}

HostTensor make_input(const ParityCase& c, std::uint64_t seed) {
  const auto s = input_shape(c.config, c.batch, c.length, c.channels);
  HostTensor x(c.precision.dtype, {s[0], s[1], s[2]}, c.x_slack);
  x.poison();  // the slack around a sliced x: a kernel that reads it produces NaN
  fill_hashed(x, seed);
  return x;
}

HostWeights make_weights(const ParityCase& c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return random_weights(c.config, c.channels, c.precision.dtype, rng);
}

// ---- threads ------------------------------------------------------------------------------------

int host_threads() {
  if (const char* env = std::getenv("SEPCONV_TEST_THREADS"); env != nullptr && std::atoi(env) > 0) {
    return std::atoi(env);
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void parallel_for(std::size_t n, const std::function<void(std::size_t)>& body) {
  const std::size_t threads = std::min<std::size_t>(n, static_cast<std::size_t>(host_threads()));
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) body(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (std::size_t i = next++; i < n; i = next++) {
      try {
        body(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

// ---- checks -------------------------------------------------------------------------------------

std::string check_output_bytes(const ParityCase& c, const Produced& p) {
  std::ostringstream problems;
  const ConstTensorView y = p.y.view();
  const auto index_string = [](std::int64_t a, std::int64_t b, std::int64_t i) {
    return detail::str("(", a, ", ", b, ", ", i, ")");
  };
  // Every element of the view written: no NaN poison left (the reference is finite here).
  std::int64_t unwritten = 0;
  std::string first_unwritten;
  for_each_index(y, [&](std::int64_t a, std::int64_t b, std::int64_t i) {
    if (std::isnan(detail::load_element(y.data, y.dtype, y.offset(a, b, i)))) {
      if (unwritten++ == 0) first_unwritten = index_string(a, b, i);
    }
  });
  if (unwritten > 0) {
    problems << "  " << unwritten << " of " << y.numel()
             << " outputs are NaN (unwritten?), first at " << first_unwritten << "\n";
  }
  // Nothing around the view written: the output with its view poisoned again is the poisoned
  // buffer, byte for byte.
  HostTensor around = p.y;
  const TensorView a = around.view();
  for_each_index(y, [&](std::int64_t i0, std::int64_t i1, std::int64_t i2) {
    detail::store_element(a.data, a.dtype, a.offset(i0, i1, i2),
                          std::numeric_limits<double>::quiet_NaN());
  });
  if (around.bytes() != p.poisoned.bytes()) {
    std::int64_t changed = 0;
    for (std::size_t i = 0; i < around.bytes().size(); ++i)
      changed += around.bytes()[i] != p.poisoned.bytes()[i];
    problems << "  " << changed << " bytes outside the output view were written ("
             << (c.y_slack == std::array<std::int64_t, 3>{} ? "contiguous y" : "sliced y") << ")\n";
  }
  // Bitwise determinism of the two forwards.
  if (p.y.bytes() != p.y_again.bytes()) {
    const ConstTensorView y2 = p.y_again.view();
    std::int64_t differ = 0;
    std::string first;
    for_each_index(y, [&](std::int64_t i0, std::int64_t i1, std::int64_t i2) {
      const double u = detail::load_element(y.data, y.dtype, y.offset(i0, i1, i2));
      const double v = detail::load_element(y2.data, y2.dtype, y2.offset(i0, i1, i2));
      if (!(u == v || (std::isnan(u) && std::isnan(v)))) {
        if (differ++ == 0) first = detail::str(index_string(i0, i1, i2), ": ", u, " then ", v);
      }
    });
    problems << "  two forwards of the same inputs differ: " << differ << " elements, first "
             << first << "\n";
  }
  return problems.str();
}

std::string check_window(const ParityCase& c, const Produced& p, const reference::Window& w) {
  const auto ref = reference::forward_detail(c.config, p.x.view(), p.w.view(), w);
  const auto report = accuracy::compare(c.config, c.channels, c.precision, ref, p.y.view());
  const std::int64_t expected = ref.window.batch_count * ref.window.time_count * c.config.filters;
  if (report.ok() && report.checked == expected) return "";
  return detail::str("  window b[", ref.window.batch_begin, ", +", ref.window.batch_count, ") t[",
                     ref.window.time_begin, ", +", ref.window.time_count, ") (", expected,
                     " outputs): ", report.summary(), "\n");
}

std::vector<std::string> check_all(const std::vector<const ParityCase*>& cases,
                                   const std::vector<const Produced*>& runs) {
  struct Job {
    std::size_t run;
    bool bytes;  // check_output_bytes, else one window
    reference::Window window;
  };
  std::vector<Job> jobs;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    jobs.push_back({r, true, {}});
    for (const auto& w : check_windows(*cases[r], seed_of(cases[r]->name)))
      jobs.push_back({r, false, w});
  }
  std::vector<std::string> results(jobs.size());
  parallel_for(jobs.size(), [&](std::size_t j) {
    const Job& job = jobs[j];
    try {
      results[j] = job.bytes ? check_output_bytes(*cases[job.run], *runs[job.run])
                             : check_window(*cases[job.run], *runs[job.run], job.window);
    } catch (const std::exception& e) {
      results[j] = std::string("  check threw: ") + e.what() + "\n";
    }
  });
  std::vector<std::string> problems(runs.size());
  for (std::size_t j = 0; j < jobs.size(); ++j) problems[jobs[j].run] += results[j];
  return problems;
}

}  // namespace sepconv::test::parity
