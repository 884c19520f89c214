// The depthwise kernel's tile code, shared by the __global__ kernel (depthwise_fwd.cu) and the
// host emulator of the tests: one function per phase between barriers, and the schedule that
// strings them together. Everything reaches memory through a `Memory` policy (DeviceMemory on the
// GPU; on the host a checked twin that verifies bounds, alignment and initialisation of every
// access and flags two threads touching one shared-memory byte between barriers).
//
// A block computes `tile_steps` output steps x `channels_per_block` input channels of one batch:
//   1. load:    stage the input rows the block's outputs need (its tile plus the halo of
//               (k-1)*d rows, or one chunk of taps at a time when that does not fit) into shared
//               memory; rows outside the input are zeros (padding resolved by index arithmetic);
//   2. compute: each thread accumulates `kSteps` outputs x `kVec` channels in float registers;
//               with s == d == 1 a window of registers slides over the taps so each staged value
//               is read once per kSteps taps;
//   3. store:   write the outputs to D in the plan's layout (multiplier-major channels).
// Shared-memory tiles: channels_last [row][channel] (threads across channels, vector accesses
// along channels); channels_first [channel][row] (threads across time, vector accesses along
// time). Outputs of one multiplier m at a time; the tile is staged once unless taps are chunked.
#pragma once

#include <cstdint>

#include "kernels/common.cuh"
#include "kernels/depthwise/depthwise_fwd.h"
#include "plan/depthwise_traits.h"
#include "kernels/launch.h"

namespace sepconv::detail {

/// One kernel variant: storage type of x and the weights, of D, layout, channels per thread,
/// sliding window.
template <class T, class TD, DataFormat Format, int Vec_, bool Sliding>
struct DepthwiseTraits {
  using Elem = T;
  using Out = TD;
  static constexpr DataFormat kFormat = Format;
  static constexpr bool kChannelsLast = Format == DataFormat::channels_last;
  static constexpr int kVec = kChannelsLast ? Vec_ : 1;  ///< channels per thread
  static constexpr int kSteps = steps_per_thread(Format, Vec_);
  static constexpr bool kSliding = Sliding;
  /// Per-thread registers that live across phases.
  struct State {
    float acc[kSteps][kVec];
  };
};

/// The block's place in the problem.
struct BlockCoord {
  std::int64_t batch = 0;     ///< within the window
  std::int64_t t0 = 0;        ///< first output step, relative to the window
  std::int64_t c0 = 0;        ///< first input channel
  std::int64_t group = 0;     ///< channel group index
};

SEPCONV_HOST_DEVICE SEPCONV_INLINE BlockCoord block_coord(const DepthwisePlan& p, std::int64_t block) {
  BlockCoord bc;
  bc.group = block % p.channel_groups;
  const std::int64_t rest = block / p.channel_groups;
  bc.t0 = (rest % p.time_tiles) * p.tile_steps;
  bc.batch = rest / p.time_tiles;
  bc.c0 = bc.group * p.channels_per_block;
  return bc;
}

/// A thread's role: its channel(s) and its column of outputs.
template <class Tr>
struct ThreadRole {
  int tc = 0;              ///< index along channels
  int tt = 0;              ///< index along time
  std::int64_t c = 0;      ///< first channel
  bool active = false;     ///< owns a real channel

  SEPCONV_HOST_DEVICE SEPCONV_INLINE ThreadRole(const DepthwisePlan& p, const BlockCoord& bc, int tid) {
    if (Tr::kChannelsLast) {
      tc = tid % p.threads_c;
      tt = tid / p.threads_c;
    } else {
      tt = tid % p.threads_t;
      tc = tid / p.threads_t;
    }
    c = bc.c0 + static_cast<std::int64_t>(tc) * Tr::kVec;
    active = c < p.in_channels;
  }

  /// Output i of group g, relative to the tile. Consecutive outputs per thread, except the
  /// channels_first general path, where a warp's threads take consecutive outputs (conflict-free
  /// shared-memory reads along time).
  SEPCONV_HOST_DEVICE SEPCONV_INLINE std::int64_t output(const DepthwisePlan& p, int g, int i) const {
    if (!Tr::kChannelsLast && !Tr::kSliding) {
      return (static_cast<std::int64_t>(g) * p.threads_t * Tr::kSteps) + tt +
             static_cast<std::int64_t>(i) * p.threads_t;
    }
    return (static_cast<std::int64_t>(g) * p.threads_t + tt) * Tr::kSteps + i;
  }
};

/// Input step (may be outside [0, L): padding) staged in row u for a chunk of taps.
SEPCONV_HOST_DEVICE SEPCONV_INLINE std::int64_t staged_step(const DepthwisePlan& p, const BlockCoord& bc,
                                                   std::int64_t chunk, std::int64_t u) {
  const std::int64_t first = (p.time_begin + bc.t0) * p.strides - p.pad_left +
                             chunk * p.tap_chunk * p.dilation_rate;
  if (!p.gather) return first + u;
  return first + (u / p.tap_chunk) * p.strides + (u % p.tap_chunk) * p.dilation_rate;
}

/// Row of the tile holding what output o reads with tap j of the current chunk (j - j0 given).
SEPCONV_HOST_DEVICE SEPCONV_INLINE std::int64_t staged_row(const DepthwisePlan& p, std::int64_t o,
                                                  std::int64_t tap_in_chunk) {
  return p.gather ? o * p.tap_chunk + tap_in_chunk : o * p.strides + tap_in_chunk * p.dilation_rate;
}

// ---- phase 1: stage the input rows of one chunk ------------------------------------------------

template <class Tr, class Memory>
SEPCONV_HOST_DEVICE void load_tile(const DepthwiseArgs& a, const BlockCoord& bc, std::int64_t chunk,
                          int tid, unsigned char* smem, Memory& mem) {
  using T = typename Tr::Elem;
  const DepthwisePlan& p = a.plan;
  const T* x = static_cast<const T*>(a.x) + bc.batch * p.x_batch_stride;
  T* tile = reinterpret_cast<T*>(smem);
  // Staged row u holds input step origin + u (contiguous rows) or, gathered, staged_step(u).
  const std::int64_t origin = staged_step(p, bc, chunk, 0);
  auto step_of = [&](std::int64_t u) { return p.gather ? staged_step(p, bc, chunk, u) : origin + u; };
  if (Tr::kChannelsLast) {
    // tile[u][c - c0]: thread (tc, tt) moves the vector of kVec channels tc of rows tt,
    // tt + threads_t, ... (channels_per_block = threads_c * kVec: no division in the loop).
    using V = Vec<T, Tr::kVec>;
    const int col = tid % p.threads_c;
    const std::int64_t c = bc.c0 + std::int64_t{col} * Tr::kVec;
    for (std::int64_t u = tid / p.threads_c; u < p.tile_alloc_rows; u += p.threads_t) {
      const std::int64_t pos = step_of(u);
      V v;
      if (u < p.tile_rows && c < p.in_channels && pos >= 0 && pos < p.length) {
        v = mem.load_global(reinterpret_cast<const V*>(x + pos * p.x_time_stride + c));
      } else {
        for (int e = 0; e < Tr::kVec; ++e) v.v[e] = zero_value<T>();
      }
      mem.store_shared(reinterpret_cast<V*>(tile + u * p.tile_pitch + col * Tr::kVec), v);
    }
  } else {
    // tile[c - c0][u]: thread (tc, tt) moves channel row tc, segments tt, tt + threads_t, ... of
    // `vec` steps along time (a warp covers consecutive segments: coalesced); a whole segment
    // inside the input moves as one vector when the rows are contiguous and start aligned.
    constexpr int kMaxVec = 16 / static_cast<int>(sizeof(T));
    using V = Vec<T, kMaxVec>;
    const std::int64_t vec = p.vec;
    const bool aligned = !p.gather && vec == kMaxVec && ((origin % vec) + vec) % vec == 0;
    const std::int64_t seg_len = aligned ? vec : 1;
    const std::int64_t segs = (p.tile_pitch + seg_len - 1) / seg_len;
    const int row = tid / p.threads_t;
    const std::int64_t c = bc.c0 + row;
    if (c >= p.in_channels) return;  // no thread computes this row
    const T* src = x + c * p.x_channel_stride;
    for (std::int64_t seg = tid % p.threads_t; seg < segs; seg += p.threads_t) {
      const std::int64_t u0 = seg * seg_len;
      T* dst = tile + row * p.tile_pitch + u0;
      const std::int64_t pos0 = origin + u0;
      if (aligned && u0 + vec <= p.tile_rows && pos0 >= 0 && pos0 + vec <= p.length) {
        mem.store_shared(reinterpret_cast<V*>(dst),
                         mem.load_global(reinterpret_cast<const V*>(src + pos0)));
        continue;
      }
      for (std::int64_t e = 0; e < seg_len; ++e) {
        const std::int64_t u = u0 + e;
        const std::int64_t pos = step_of(u);
        const bool inside = u < p.tile_rows && pos >= 0 && pos < p.length;
        mem.store_shared(dst + e, inside ? mem.load_global(src + pos) : zero_value<T>());
      }
    }
  }
}

// ---- phase 2: accumulate one chunk of taps ------------------------------------------------------

/// Weight vector of tap j, multiplier m, channels c..c+kVec.
template <class Tr, class Memory>
SEPCONV_HOST_DEVICE SEPCONV_INLINE Vec<typename Tr::Elem, Tr::kVec> weight(const DepthwiseArgs& a,
                                                                 std::int64_t m, std::int64_t j,
                                                                 std::int64_t c, Memory& mem) {
  using T = typename Tr::Elem;
  const DepthwisePlan& p = a.plan;
  const T* w = static_cast<const T*>(a.w) + (m * p.kernel_size + j) * p.in_channels + c;
  return mem.load_global(reinterpret_cast<const Vec<T, Tr::kVec>*>(w));
}

/// The staged value(s) of row u for the thread's channel(s).
template <class Tr, class Memory>
SEPCONV_HOST_DEVICE SEPCONV_INLINE Vec<typename Tr::Elem, Tr::kVec> staged(const DepthwisePlan& p,
                                                                 const ThreadRole<Tr>& r,
                                                                 const typename Tr::Elem* tile,
                                                                 std::int64_t u, Memory& mem) {
  using V = Vec<typename Tr::Elem, Tr::kVec>;
  const std::int64_t at = Tr::kChannelsLast ? u * p.tile_pitch + r.tc * Tr::kVec
                                            : r.tc * p.tile_pitch + u;
  return mem.load_shared(reinterpret_cast<const V*>(tile + at));
}

/// channels_first: loads kSteps consecutive staged rows of the thread's channel, starting at u,
/// into window[0..kSteps) with 16-byte loads (u is a multiple of kSteps and the pitch a multiple
/// of 16 bytes, so they are aligned).
template <class Tr, class Memory>
SEPCONV_HOST_DEVICE SEPCONV_INLINE void load_run(const DepthwisePlan& p, const ThreadRole<Tr>& r,
                                        const typename Tr::Elem* tile, std::int64_t u,
                                        Vec<typename Tr::Elem, 1>* window, Memory& mem) {
  using T = typename Tr::Elem;
  constexpr int kPer = 16 / static_cast<int>(sizeof(T));
  using V = Vec<T, kPer>;
  const T* base = tile + r.tc * p.tile_pitch + u;
  SEPCONV_UNROLL
  for (int q = 0; q < Tr::kSteps / kPer; ++q) {
    const V v = mem.load_shared(reinterpret_cast<const V*>(base + q * kPer));
    SEPCONV_UNROLL
    for (int e = 0; e < kPer; ++e) window[q * kPer + e].v[0] = v.v[e];
  }
}

template <class Tr, class Memory>
SEPCONV_HOST_DEVICE void compute_chunk(const DepthwiseArgs& a, const BlockCoord& bc, std::int64_t m, int g,
                              std::int64_t chunk, int tid, const unsigned char* smem,
                              typename Tr::State& st, Memory& mem) {
  using T = typename Tr::Elem;
  using V = Vec<T, Tr::kVec>;
  constexpr int S = Tr::kSteps;
  const DepthwisePlan& p = a.plan;
  if (chunk == 0) {
    for (int i = 0; i < S; ++i)
      for (int v = 0; v < Tr::kVec; ++v) st.acc[i][v] = 0.0f;
  }
  const ThreadRole<Tr> r(p, bc, tid);
  if (!r.active) return;
  const T* tile = reinterpret_cast<const T*>(smem);
  const std::int64_t j0 = chunk * p.tap_chunk;
  const std::int64_t j1 = j0 + p.tap_chunk < p.kernel_size ? j0 + p.tap_chunk : p.kernel_size;

  if constexpr (Tr::kSliding && Tr::kChannelsLast) {
    // s == d == 1: output o, tap j reads row o + (j - j0). A circular window of S rows (slot =
    // row mod S, a compile-time index once the tap loop is unrolled) holds the rows of the current
    // tap for the S outputs; each tap brings in one new row: S outputs x S taps per S rows read.
    const std::int64_t o0 = r.output(p, g, 0);
    V window[S];
    SEPCONV_UNROLL
    for (int i = 0; i < S - 1; ++i) window[i] = staged<Tr>(p, r, tile, o0 + i, mem);
    for (std::int64_t jb = j0; jb < j1; jb += S) {
      SEPCONV_UNROLL
      for (int jj = 0; jj < S; ++jj) {
        if (jb + jj >= j1) break;
        window[(jj + S - 1) % S] = staged<Tr>(p, r, tile, o0 + (jb - j0) + jj + S - 1, mem);
        const V w = weight<Tr>(a, m, jb + jj, r.c, mem);
        SEPCONV_UNROLL
        for (int i = 0; i < S; ++i)
          SEPCONV_UNROLL
          for (int v = 0; v < Tr::kVec; ++v)
            st.acc[i][v] += to_float(w.v[v]) * to_float(window[(i + jj) % S].v[v]);
      }
    }
  } else if constexpr (Tr::kSliding) {
    // s == d == 1, channels_first: rows of one channel are consecutive in shared memory, so the
    // window is filled S rows at a time with 16-byte loads: it holds rows o0 + jb - j0 + [0, 2S).
    const std::int64_t o0 = r.output(p, g, 0);
    V window[2 * S];
    load_run<Tr>(p, r, tile, o0, window, mem);
    for (std::int64_t jb = j0; jb < j1; jb += S) {
      load_run<Tr>(p, r, tile, o0 + (jb - j0) + S, window + S, mem);
      SEPCONV_UNROLL
      for (int jj = 0; jj < S; ++jj) {
        if (jb + jj >= j1) break;
        const V w = weight<Tr>(a, m, jb + jj, r.c, mem);
        SEPCONV_UNROLL
        for (int i = 0; i < S; ++i) st.acc[i][0] += to_float(w.v[0]) * to_float(window[i + jj].v[0]);
      }
      SEPCONV_UNROLL
      for (int i = 0; i < S; ++i) window[i] = window[S + i];
    }
  } else {
    // Any stride and dilation: output o, tap j reads staged_row(o, j - j0).
    for (std::int64_t j = j0; j < j1; ++j) {
      const V w = weight<Tr>(a, m, j, r.c, mem);
      SEPCONV_UNROLL
      for (int i = 0; i < S; ++i) {
        const V xv = staged<Tr>(p, r, tile, staged_row(p, r.output(p, g, i), j - j0), mem);
        SEPCONV_UNROLL
        for (int v = 0; v < Tr::kVec; ++v) st.acc[i][v] += to_float(w.v[v]) * to_float(xv.v[v]);
      }
    }
  }
}

// ---- phase 3: write the outputs -----------------------------------------------------------------

template <class Tr, class Memory>
SEPCONV_HOST_DEVICE void store_outputs(const DepthwiseArgs& a, const BlockCoord& bc, std::int64_t m, int g,
                              int tid, const typename Tr::State& st, Memory& mem) {
  using T = typename Tr::Out;
  constexpr int S = Tr::kSteps;
  const DepthwisePlan& p = a.plan;
  const ThreadRole<Tr> r(p, bc, tid);
  if (!r.active) return;
  T* d = static_cast<T*>(a.d) + bc.batch * p.d_batch_stride;
  const std::int64_t q = m * p.in_channels + r.c;  // multiplier-major intermediate channel
  if (Tr::kChannelsLast) {
    using V = Vec<T, Tr::kVec>;
    for (int i = 0; i < S; ++i) {
      const std::int64_t t = bc.t0 + r.output(p, g, i);
      if (t >= p.time_count) break;
      V v;
      for (int e = 0; e < Tr::kVec; ++e) v.v[e] = from_float<T>(st.acc[i][e]);
      mem.store_global(reinterpret_cast<V*>(d + t * p.d_ld + q), v);
    }
    return;
  }
  T* row = d + q * p.d_ld;
  const std::int64_t t_first = bc.t0 + r.output(p, g, 0);
  if (Tr::kSliding && t_first + S <= p.time_count) {
    // S consecutive steps: whole 16-byte vectors (t_first is a multiple of S, d_ld of 8).
    constexpr int kPer = 16 / static_cast<int>(sizeof(T)) < S ? 16 / static_cast<int>(sizeof(T)) : S;
    using V = Vec<T, kPer>;
    for (int q4 = 0; q4 < S / kPer; ++q4) {
      V v;
      for (int e = 0; e < kPer; ++e) v.v[e] = from_float<T>(st.acc[q4 * kPer + e][0]);
      mem.store_global(reinterpret_cast<V*>(row + t_first + q4 * kPer), v);
    }
    return;
  }
  for (int i = 0; i < S; ++i) {
    const std::int64_t t = bc.t0 + r.output(p, g, i);
    if (t < p.time_count) mem.store_global(row + t, from_float<T>(st.acc[i][0]));
  }
}

/// channels_first with the bias folded into the GEMM: the row of ones at q' = C*M.
template <class Tr, class Memory>
SEPCONV_HOST_DEVICE void store_ones(const DepthwiseArgs& a, const BlockCoord& bc, int tid, Memory& mem) {
  using T = typename Tr::Out;
  const DepthwisePlan& p = a.plan;
  T* row = static_cast<T*>(a.d) + bc.batch * p.d_batch_stride +
           p.in_channels * p.depth_multiplier * p.d_ld;
  for (std::int64_t o = tid; o < p.tile_steps; o += p.threads) {
    if (bc.t0 + o < p.time_count) mem.store_global(row + bc.t0 + o, from_float<T>(1.0f));
  }
}

// ---- the schedule ---------------------------------------------------------------------------------

/// Runs one block through every phase. `Exec` provides phase(f) — f(tid, state) for every thread
/// of the block — barrier(), smem() and memory(). Phases between two barriers may run in any
/// interleaving of threads; the host emulator checks that they touch no shared byte in common.
template <class Tr, class Exec>
SEPCONV_HOST_DEVICE void depthwise_block(const DepthwiseArgs& a, std::int64_t block, Exec& ex) {
  using State = typename Tr::State;
  const DepthwisePlan& p = a.plan;
  const BlockCoord bc = block_coord(p, block);
  bool staged_once = false;
  for (std::int64_t m = 0; m < p.depth_multiplier; ++m) {
    for (int g = 0; g < p.groups; ++g) {
      for (std::int64_t chunk = 0; chunk < p.num_chunks; ++chunk) {
        if (p.num_chunks > 1 || !staged_once) {
          if (staged_once) ex.barrier();  // every thread is done with the previous chunk
          ex.phase([&](int tid, State&) {
            load_tile<Tr>(a, bc, chunk, tid, ex.smem(), ex.memory());
          });
          ex.barrier();
          staged_once = true;
        }
        ex.phase([&](int tid, State& st) {
          compute_chunk<Tr>(a, bc, m, g, chunk, tid, ex.smem(), st, ex.memory());
        });
      }
      ex.phase([&](int tid, State& st) { store_outputs<Tr>(a, bc, m, g, tid, st, ex.memory()); });
    }
  }
  if (p.ones_row && bc.group == 0) {
    ex.phase([&](int tid, State&) { store_ones<Tr>(a, bc, tid, ex.memory()); });
  }
}

/// The kernel (cuda/launch.h) of one variant: CTA `cta` takes blocks cta, cta + grid, ...
/// (grid-stride, so any problem fits the grid limits), with a barrier before the next block reuses
/// shared memory. Two CTAs per SM (<= 128 registers a thread): while one waits at a barrier for
/// its tile, the other computes, so the memory system stays busy.
template <class Tr>
struct DepthwiseKernel {
  using State = typename Tr::State;
  static constexpr int kMaxThreads = kDepthwiseThreads;
  static constexpr int kMinBlocks = 2;
  static constexpr const char* kName = "sepconv depthwise forward";
  DepthwiseArgs args;

  template <class Exec>
  SEPCONV_HOST_DEVICE void operator()(std::int64_t cta, Exec& ex) const {
    for (std::int64_t block = cta; block < args.plan.blocks; block += args.plan.grid) {
      if (block != cta) ex.barrier();
      depthwise_block<Tr>(args, block, ex);
    }
  }
};

/// The launch a depthwise plan asks for.
inline LaunchShape depthwise_launch_shape(const DepthwisePlan& p) {
  return {p.grid, p.threads, static_cast<std::size_t>(p.shared_bytes), p.needs_optin};
}

}  // namespace sepconv::detail
