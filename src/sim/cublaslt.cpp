// cuBLASLt on the simulated device: the handle, the heuristic query and cublasLtMatmul are
// simulated; descriptors, layouts and preferences stay the real library's host-side objects
// (libcublasLt is linked for them), read back with its getters. Exported like runtime.cpp's
// functions, so they take the place of the real library's in a simulated build.
//
// The heuristic applies cuBLASLt's documented requirements before it answers: descriptors it can
// execute (emulator::read_matmul: orders, types, transposes, epilogues, ld >= rows, shapes that
// chain, ROWS/COLS that fit int32), A and B of one type, C and D of A's type (or float32 for
// 16-bit inputs), a bias or bias gradient of D's type, and every pointer at least element-aligned, both as the
// preference's MIN_ALIGNMENT promises and (for the bias) as its pointer value says. What it then
// answers, the workspace an algorithm needs or "no algorithm", is control.h's policy. The
// algorithm remembers the problem and the alignments it was chosen for; cublasLtMatmul refuses
// another problem, less aligned pointers, or a smaller workspace, reads every attribute back from
// the descriptors (bias pointer included) when it is called, as cuBLASLt does, and enqueues the
// descriptor GEMM, which overwrites the algorithm's workspace first (as a split-K reduction would)
// and runs on device memory with every operand bounds- and initialisation-checked.
#pragma GCC visibility push(default)
#include <cublasLt.h>
#pragma GCC visibility pop

#include <cstdio>
#include <cstring>
#include <string>

#include "emulator/descriptor_gemm.h"
#include "plan/plan.h"
#include "sim/state.h"

using sepconv::emulator::Matmul;
using sepconv::emulator::MatrixLayout;
using sepconv::emulator::Operand;
using sepconv::emulator::Refused;
using sepconv::sim::LtHandle;
using sepconv::sim::State;

namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

constexpr std::uint64_t kAlgoMagic = 0x5e9c0f51a1d0a160ULL;

/// What an algorithm carries in cublasLtMatmulAlgo_t::data.
struct AlgoData {
  std::uint64_t magic;
  std::uint64_t problem;  ///< fingerprint of the matmul it was chosen for
  std::uint64_t workspace;
  std::uint32_t align[5];  ///< A, B, C, D, bias
};
static_assert(sizeof(AlgoData) <= sizeof(cublasLtMatmulAlgo_t::data));

cublasStatus_t fail(cublasStatus_t status, const std::string& message, bool print = true) {
  State::last_message() = message;
  if (print) std::fprintf(stderr, "sepconv simulated device: %s\n", message.c_str());
  return status;
}

int alignment(const void* p) {
  return sepconv::detail::alignment_of(reinterpret_cast<std::uintptr_t>(p));
}

std::uint64_t fingerprint(const Matmul& mm) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&](std::int64_t v) { h = (h ^ static_cast<std::uint64_t>(v)) * 1099511628211ULL; };
  for (const MatrixLayout* l : {&mm.a, &mm.b, &mm.c, &mm.d}) {
    mix(static_cast<std::int64_t>(l->dtype));
    mix(l->rows);
    mix(l->cols);
    mix(l->ld);
    mix(l->batch);
    mix(l->stride);
  }
  mix(mm.tf32);
  mix(mm.trans_a);
  mix(mm.trans_b);
  mix(mm.add_bias);
  mix(static_cast<std::int64_t>(mm.bias_gradient));
  mix(mm.relu);
  mix(static_cast<std::int64_t>(mm.bias_dtype));
  mix(mm.bias_stride);
  return h;
}

int element_bytes(sepconv::DType t) { return static_cast<int>(sepconv::dtype_size(t)); }

// The epilogue reads a bias (BIAS, RELU_BIAS) or writes a bias gradient (BGRADA, BGRADB) at
// BIAS_POINTER.
bool uses_bias_pointer(const Matmul& mm) {
  return mm.add_bias || mm.bias_gradient != Matmul::BiasGradient::none;
}

// The documented type combinations; "" or why not.
std::string unsupported_types(const Matmul& mm) {
  const auto ab = mm.a.dtype;
  const auto cd = mm.d.dtype;
  if (mm.c.dtype != cd) return "C and D of different types";
  if (cd != ab && cd != sepconv::DType::f32) return "C/D of neither A's type nor float32";
  if (mm.add_bias && mm.bias_dtype != cd) return "a bias of another type than D";
  if (uses_bias_pointer(mm) && !mm.add_bias && mm.bias_dtype != cd) {
    return "a bias gradient of another type than D";
  }
  return "";
}

// The elements of a layout's matrices (every batch, every column) that nothing wrote: "" or the
// first such element.
std::string uninitialised(State& s, const char* name, const MatrixLayout& l, const void* data) {
  const auto e = static_cast<std::size_t>(element_bytes(l.dtype));
  for (std::int32_t i = 0; i < l.batch; ++i) {
    for (std::int64_t col = 0; col < l.cols; ++col) {
      const auto* first = static_cast<const unsigned char*>(data) + l.offset(i, 0, col) * static_cast<std::int64_t>(e);
      const sepconv::sim::Allocation* a = s.find(first);
      if (a == nullptr || a->freed) continue;  // execute_matmul reports it
      const auto offset = static_cast<std::size_t>(first - a->data);
      const std::size_t bytes = std::min(a->bytes - offset, static_cast<std::size_t>(l.rows) * e);
      for (std::size_t b = 0; b < bytes; ++b) {
        if (a->initialised[offset + b] == 0) {
          return std::string(name) + "(" + std::to_string(b / e) + ", " + std::to_string(col) +
                 ") of batch " + std::to_string(i) + " in " + a->name();
        }
      }
    }
  }
  return "";
}

void mark_written(State& s, const MatrixLayout& l, void* data) {
  const auto e = static_cast<std::int64_t>(element_bytes(l.dtype));
  for (std::int32_t i = 0; i < l.batch; ++i) {
    for (std::int64_t col = 0; col < l.cols; ++col) {
      auto* first = static_cast<unsigned char*>(data) + l.offset(i, 0, col) * e;
      sepconv::sim::Allocation* a = s.find(first);
      if (a == nullptr || a->freed) continue;
      const auto offset = static_cast<std::size_t>(first - a->data);
      std::memset(a->initialised + offset, 1,
                  std::min(a->bytes - offset, static_cast<std::size_t>(l.rows * e)));
    }
  }
}

// An operand's bounds: the elements of its allocation relative to the pointer.
bool operand(State& s, const void* p, sepconv::DType dtype, Operand& out) {
  const sepconv::sim::Allocation* a = s.find(p);
  if (a == nullptr || a->freed) return false;
  const auto e = static_cast<std::int64_t>(element_bytes(dtype));
  const auto before = static_cast<std::int64_t>(static_cast<const unsigned char*>(p) - a->data);
  out = {p, -before / e, (static_cast<std::int64_t>(a->bytes) - before) / e};
  return true;
}

}  // namespace

extern "C" {

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  State& s = State::get();
  Lock lock(s.mutex);
  if (handle == nullptr) return fail(CUBLAS_STATUS_INVALID_VALUE, "cublasLtCreate: null handle");
  if (!s.has_device()) {
    return fail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasLtCreate: no simulated device", false);
  }
  auto* h = new LtHandle;
  h->device = State::current_device();
  s.lt_handles.insert(h);
  *handle = reinterpret_cast<cublasLtHandle_t>(h);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  State& s = State::get();
  Lock lock(s.mutex);
  auto* h = reinterpret_cast<LtHandle*>(handle);
  if (s.lt_handles.erase(h) == 0) {
    return fail(CUBLAS_STATUS_NOT_INITIALIZED, "cublasLtDestroy: not a live handle");
  }
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(
    cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a_desc,
    cublasLtMatrixLayout_t b_desc, cublasLtMatrixLayout_t c_desc, cublasLtMatrixLayout_t d_desc,
    cublasLtMatmulPreference_t preference, int requested, cublasLtMatmulHeuristicResult_t results[],
    int* returned) {
  State& s = State::get();
  Lock lock(s.mutex);
  const char* call = "cublasLtMatmulAlgoGetHeuristic";
  if (s.lt_handles.count(reinterpret_cast<LtHandle*>(handle)) == 0) {
    return fail(CUBLAS_STATUS_NOT_INITIALIZED, std::string(call) + ": not a live handle");
  }
  if (requested < 1 || results == nullptr || returned == nullptr || preference == nullptr) {
    return fail(CUBLAS_STATUS_INVALID_VALUE, std::string(call) + ": bad arguments");
  }
  *returned = 0;
  Matmul mm;
  sepconv::sim::GemmQuery q;
  try {
    mm = sepconv::emulator::read_matmul(desc, a_desc, b_desc, c_desc, d_desc);
    using sepconv::emulator::read_attribute;
    q.max_workspace = static_cast<std::size_t>(read_attribute<std::uint64_t>(
        preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, "MAX_WORKSPACE_BYTES"));
    q.align_a = static_cast<int>(read_attribute<std::uint32_t>(
        preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, "MIN_ALIGNMENT_A_BYTES"));
    q.align_b = static_cast<int>(read_attribute<std::uint32_t>(
        preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, "MIN_ALIGNMENT_B_BYTES"));
    q.align_c = static_cast<int>(read_attribute<std::uint32_t>(
        preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, "MIN_ALIGNMENT_C_BYTES"));
    q.align_d = static_cast<int>(read_attribute<std::uint32_t>(
        preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, "MIN_ALIGNMENT_D_BYTES"));
  } catch (const Refused& e) {
    return fail(CUBLAS_STATUS_NOT_SUPPORTED, std::string(call) + ": " + e.what());
  }
  if (const std::string why = unsupported_types(mm); !why.empty()) {
    return fail(CUBLAS_STATUS_NOT_SUPPORTED, std::string(call) + ": " + why);
  }
  q.m = mm.m;
  q.n = mm.n;
  q.k = mm.k;
  q.batch = mm.batch;
  q.type = mm.a.dtype == sepconv::DType::f32   ? CUDA_R_32F
           : mm.a.dtype == sepconv::DType::f16 ? CUDA_R_16F
                                               : CUDA_R_16BF;
  q.element_bytes = element_bytes(mm.a.dtype);
  q.has_bias = mm.add_bias;
  q.bias_gradient = mm.bias_gradient != Matmul::BiasGradient::none;
  q.align_bias = uses_bias_pointer(mm) ? alignment(mm.bias) : 256;
  const int need[5] = {element_bytes(mm.a.dtype), element_bytes(mm.b.dtype),
                       element_bytes(mm.c.dtype), element_bytes(mm.d.dtype),
                       element_bytes(mm.bias_dtype)};
  const int have[5] = {q.align_a, q.align_b, q.align_c, q.align_d, q.align_bias};
  const char* names[5] = {"A", "B", "C", "D", "the bias"};
  for (int i = 0; i < 5; ++i) {
    if (have[i] < need[i] && (i < 4 || uses_bias_pointer(mm))) {
      return fail(CUBLAS_STATUS_NOT_SUPPORTED,
                  std::string(call) + ": " + names[i] + " is only " + std::to_string(have[i]) +
                      "-byte aligned, below its " + std::to_string(need[i]) + "-byte elements");
    }
  }
  const auto answer = s.heuristic ? s.heuristic(q) : sepconv::sim::default_heuristic(q);
  if (!answer || *answer > q.max_workspace) {
    return fail(CUBLAS_STATUS_NOT_SUPPORTED,
                std::string(call) + ": no algorithm for this problem within " +
                    std::to_string(q.max_workspace) + " bytes of workspace",
                false);
  }
  results[0] = cublasLtMatmulHeuristicResult_t{};
  AlgoData data{kAlgoMagic, fingerprint(mm), *answer,
                {static_cast<std::uint32_t>(have[0]), static_cast<std::uint32_t>(have[1]),
                 static_cast<std::uint32_t>(have[2]), static_cast<std::uint32_t>(have[3]),
                 static_cast<std::uint32_t>(have[4])}};
  std::memcpy(results[0].algo.data, &data, sizeof data);
  results[0].workspaceSize = *answer;
  results[0].state = CUBLAS_STATUS_SUCCESS;
  results[0].wavesCount = 1.0f;
  *returned = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                              const void* alpha, const void* a, cublasLtMatrixLayout_t a_desc,
                              const void* b, cublasLtMatrixLayout_t b_desc, const void* beta,
                              const void* c, cublasLtMatrixLayout_t c_desc, void* d,
                              cublasLtMatrixLayout_t d_desc, const cublasLtMatmulAlgo_t* algo,
                              void* workspace, size_t workspace_bytes, cudaStream_t stream_handle) {
  State& s = State::get();
  Lock lock(s.mutex);
  const std::string call = "cublasLtMatmul";
  auto* h = reinterpret_cast<LtHandle*>(handle);
  if (s.lt_handles.count(h) == 0) {
    return fail(CUBLAS_STATUS_NOT_INITIALIZED, call + ": not a live handle");
  }
  if (alpha == nullptr || beta == nullptr || algo == nullptr) {
    return fail(CUBLAS_STATUS_INVALID_VALUE, call + ": alpha, beta or algo is null");
  }
  Matmul mm;
  try {
    mm = sepconv::emulator::read_matmul(desc, a_desc, b_desc, c_desc, d_desc);
  } catch (const Refused& e) {
    return fail(CUBLAS_STATUS_NOT_SUPPORTED, call + ": " + e.what());
  }
  AlgoData data{};
  std::memcpy(&data, algo->data, sizeof data);
  if (data.magic != kAlgoMagic || data.problem != fingerprint(mm)) {
    return fail(CUBLAS_STATUS_INVALID_VALUE,
                call + ": the algorithm was not chosen by the heuristic for this problem");
  }
  const float alpha_value = *static_cast<const float*>(alpha);  // POINTER_MODE_HOST
  const float beta_value = *static_cast<const float*>(beta);
  const void* pointers[5] = {a, b, c, d, mm.bias};
  const char* names[5] = {"A", "B", "C", "D", "the bias"};
  for (int i = 0; i < 5; ++i) {
    if (i == 2 && beta_value == 0.0f) continue;  // C is not read
    if (i == 4 && !uses_bias_pointer(mm)) continue;
    const sepconv::sim::Allocation* owner = s.find(pointers[i]);
    if (owner == nullptr || owner->freed || owner->device != h->device) {
      return fail(CUBLAS_STATUS_INVALID_VALUE,
                  call + ": " + names[i] + " is not device memory of the handle's device" +
                      (owner != nullptr && owner->freed ? " (a use after free of " + owner->name() + ")" : ""));
    }
    if (alignment(pointers[i]) < static_cast<int>(data.align[i])) {
      return fail(CUBLAS_STATUS_INVALID_VALUE,
                  call + ": " + names[i] + " is " + std::to_string(alignment(pointers[i])) +
                      "-byte aligned; the algorithm was chosen for " +
                      std::to_string(data.align[i]) + " bytes");
    }
  }
  if (workspace_bytes < data.workspace) {
    return fail(CUBLAS_STATUS_INVALID_VALUE,
                call + ": a workspace of " + std::to_string(workspace_bytes) +
                    " bytes; the algorithm needs " + std::to_string(data.workspace));
  }
  if (data.workspace > 0) {
    if (const std::string problem = s.check_range(workspace, data.workspace); !problem.empty()) {
      return fail(CUBLAS_STATUS_INVALID_VALUE, call + ": the workspace: " + problem);
    }
  }
  sepconv::sim::Stream* stream = s.stream(stream_handle, "cublasLtMatmul");
  if (stream == nullptr) return fail(CUBLAS_STATUS_EXECUTION_FAILED, State::last_message());
  State* state = &s;
  const std::size_t scribble = static_cast<std::size_t>(data.workspace);
  const cudaError_t e = s.enqueue(*stream, call, [state, mm, alpha_value, beta_value, a, b, c, d,
                                                  workspace, scribble] {
    if (scribble > 0) std::memset(workspace, 0xff, scribble);  // as a split-K reduction would
    Operand oa, ob, oc, od, obias;
    if (!operand(*state, a, mm.a.dtype, oa) || !operand(*state, b, mm.b.dtype, ob) ||
        !operand(*state, d, mm.d.dtype, od) ||
        (beta_value != 0.0f && !operand(*state, c, mm.c.dtype, oc)) ||
        (uses_bias_pointer(mm) && !operand(*state, mm.bias, mm.bias_dtype, obias))) {
      return state->fault(cudaErrorIllegalAddress,
                          "cublasLtMatmul: an operand is no longer device memory");
    }
    std::string unread = uninitialised(*state, "A", mm.a, a);
    if (unread.empty()) unread = uninitialised(*state, "B", mm.b, b);
    if (unread.empty() && beta_value != 0.0f) unread = uninitialised(*state, "C", mm.c, c);
    if (unread.empty() && mm.add_bias) {
      const MatrixLayout bias_layout{mm.bias_dtype, mm.m, 1, mm.m, mm.batch, mm.bias_stride};
      unread = uninitialised(*state, "bias", bias_layout, mm.bias);
    }
    if (!unread.empty()) {
      return state->fault(cudaErrorLaunchFailure,
                          "cublasLtMatmul reads uninitialised device memory: " + unread);
    }
    try {
      sepconv::emulator::execute_matmul(mm, alpha_value, oa, ob, beta_value, oc, od, obias);
    } catch (const Refused& error) {
      return state->fault(cudaErrorIllegalAddress, std::string("cublasLtMatmul: ") + error.what());
    }
    mark_written(*state, mm.d, d);
    if (mm.bias_gradient != Matmul::BiasGradient::none) {
      const std::int64_t length = mm.bias_gradient == Matmul::BiasGradient::b ? mm.n : mm.m;
      mark_written(*state, MatrixLayout{mm.bias_dtype, length, 1, length, mm.batch, mm.bias_stride},
                   const_cast<void*>(mm.bias));
    }
  });
  if (e != cudaSuccess) return fail(CUBLAS_STATUS_EXECUTION_FAILED, call + ": " + State::last_message());
  ++s.stats.matmuls;
  s.matmul_records.push_back({mm.m, mm.n, mm.k, mm.batch});
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
