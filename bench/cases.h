// sepconv_bench — what is measured: the shapes, the precision modes and stages, the minimal bytes
// and FLOPs of each, and the roofline floors they imply. Plain C++ (no CUDA): the GPU and the CPU
// paths and `--datasheet` share it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sepconv/config.h"

namespace sepconv::bench {

/// What one timed region covers.
enum class Stage : std::uint8_t {
  depthwise,  ///< the depthwise kernel alone: x -> D (internal API: make_plan + launch_depthwise)
  pointwise,  ///< the pointwise GEMM alone: D -> y (internal API: LtMatmul from the plan's
              ///< GemmPlan)
  forward,    ///< the whole layer: x -> y (public API: SeparableConv1D::forward)
  backward,   ///< the layer's backward: dy -> dx and the weight gradients, after one training
              ///< forward (public API: SeparableConv1D::backward)
};
[[nodiscard]] std::string_view to_string(Stage stage) noexcept;
[[nodiscard]] const std::vector<Stage>& all_stages();

/// A precision mode: storage type and the float32 GEMM's math.
struct Mode {
  std::string name;  ///< "fp32" (exact float32), "tf32", "fp16", "bf16"
  DType dtype = DType::f32;
  MathMode math = MathMode::exact;
};
[[nodiscard]] const std::vector<Mode>& all_modes();

/// One layer shape. Every shape runs with activation linear and use_bias true, so the forward is
/// depthwise kernel + GEMM with the bias in its epilogue (channels_last) or as a ones row
/// (channels_first), and no pass after the GEMM.
struct Shape {
  std::string name;   ///< "a" ... "e"
  std::string label;  ///< what it stands for ("mamba-like")
  std::int64_t batch = 1;
  std::int64_t length = 1;
  std::int64_t channels = 1;
  std::int64_t kernel = 1;
  std::int64_t multiplier = 1;
  std::int64_t filters = 1;
  std::int64_t stride = 1;
  std::int64_t dilation = 1;
  Padding padding = Padding::valid;
  std::vector<DataFormat> formats;

  [[nodiscard]] LayerConfig config(DataFormat format) const;
  [[nodiscard]] std::int64_t out_length() const;
  [[nodiscard]] std::int64_t mid_channels() const { return channels * multiplier; }
  /// "B=8 L=4096 C=2048 k=4 M=1 F=2048 s=1 causal".
  [[nodiscard]] std::string describe() const;
};

/// The shapes of the benchmark issue: (a) Mamba-like, (b) QuartzNet-like, (c) small channels over
/// a long sequence, (d) strided valid, (e) a wide model.
[[nodiscard]] const std::vector<Shape>& gpu_shapes();
/// The same shapes cut down for the CPU reference (batch 1, short, few channels): seconds in all,
/// a fraction of a second with `quick`.
[[nodiscard]] std::vector<Shape> cpu_shapes(bool quick);

/// Minimal traffic and arithmetic of a piece of work.
struct Work {
  double bytes = 0;  ///< each input read once, each output written once
  double flops = 0;  ///< 2 per multiply-add
};

/// What each stage must at least do (elements of `dtype`):
///   depthwise: reads x (B*L*C) and the depthwise weights (k*C*M), writes D (B*Lout*C*M);
///              2*k*B*Lout*C*M FLOPs (float32 FMA whatever the storage type);
///   pointwise: reads D and the pointwise weights (C*M*F) and the bias (F), writes y (B*Lout*F);
///              2*B*Lout*C*M*F FLOPs (the GEMM);
///   fused:     the whole layer with D never in memory: reads x, all weights and the bias, writes
///              y; both stages' FLOPs. This is also what the forward row's GB/s counts.
/// Padding rows of D and the ones row of the channels_first bias are not counted: they are this
/// design's overhead, not the problem's.
///   backward:  reads x, dy, the weights and the kept pre-activation (y-sized; none for linear
///              layers: the benchmark's), writes dx in the layer's dtype and the weight gradients
///              in float32; twice the forward's FLOPs (dx and the weight gradients each cost a
///              depthwise and a pointwise product). D, kept or recomputed, is not counted.
struct ShapeWork {
  Work depthwise;
  Work pointwise;
  Work fused;
  Work backward;
};
[[nodiscard]] ShapeWork count_work(const Shape& shape, DType dtype);

/// Ceilings of one card: measured on it (or the datasheet's, for planning).
struct Ceilings {
  double bandwidth_gbs = 0;  ///< device memory, bytes read + written per second / 1e9
  double fma_tflops = 0;     ///< float32 FMA (non-tensor) rate
  std::map<std::string, double> gemm_tflops;  ///< per mode name: a large GEMM's rate
  [[nodiscard]] bool complete_for(const Mode& mode) const;
};

/// H100 SXM5 datasheet numbers (dense, no sparsity): 3.35 TB/s HBM3, 66.9 TFLOP/s float32 FMA,
/// 494.7 TFLOP/s TF32 and 989.4 TFLOP/s FP16/BF16 tensor cores; float32 GEMMs at the FMA rate.
/// Placeholders until a run measures the card.
[[nodiscard]] Ceilings datasheet_h100_sxm();

/// Lower bounds on time, in seconds. Each floor is max(bytes / bandwidth, FLOPs / rate of the unit
/// that does them): float32 FMA for the depthwise, the mode's GEMM rate for the pointwise.
///   depthwise, pointwise: each stage alone;
///   two_kernel: depthwise + pointwise (two kernels in sequence, D written and read back);
///   fused: max(fused bytes / bandwidth, depthwise FLOPs / FMA rate, pointwise FLOPs / GEMM rate)
///          (one kernel, the two units working concurrently).
struct Floors {
  double depthwise = 0;
  double pointwise = 0;
  double two_kernel = 0;
  double fused = 0;
  bool depthwise_memory_bound = false;
  bool pointwise_memory_bound = false;
  bool fused_memory_bound = false;
};
[[nodiscard]] Floors floors(const ShapeWork& work, const Ceilings& ceilings, const Mode& mode);

/// Copies of an input of `bytes` to rotate among so that the inputs of consecutive runs together
/// exceed the L2 cache several times over (1 to 64).
[[nodiscard]] int rotation_copies(double bytes, double l2_bytes);

/// What a run measures (the command line's choices).
struct Selection {
  std::vector<Shape> shapes;
  std::vector<Mode> modes;
  std::vector<Stage> stages;
  std::vector<DataFormat> formats;  ///< each shape's own formats, filtered by these
  int runs = 20;                    ///< timed runs per row (the median is reported)
  int warmup = 3;                   ///< untimed runs before them
  bool quick = false;
  std::string commit;  ///< recorded with the results
  [[nodiscard]] bool has(Stage stage) const;
  [[nodiscard]] bool has(DataFormat format) const;
};

/// Median, minimum and maximum of a set of timings.
struct Timing {
  double median_us = 0;
  double min_us = 0;
  double max_us = 0;
  int runs = 0;
};
[[nodiscard]] Timing summarize(std::vector<double> microseconds);

}  // namespace sepconv::bench
