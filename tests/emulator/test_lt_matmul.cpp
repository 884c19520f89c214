// LtMatmul builds the cuBLASLt descriptors the plan says (read back without a GPU), and the
// descriptor GEMM refuses what it does not implement.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "runtime/lt_matmul.h"
#include "emulator/descriptor_gemm.h"

namespace sepconv::test {
namespace {

using detail::GemmPlan;
using detail::LtMatmul;
using emulator::descriptor_gemm;
using emulator::HostOperand;
using emulator::read_attribute;
using emulator::Refused;

template <class T>
T desc_attr(const LtMatmul& lt, cublasLtMatmulDescAttributes_t attribute) {
  return read_attribute<T>(lt.desc(), attribute, "matmul attribute");
}
template <class T>
T layout_attr(cublasLtMatrixLayout_t layout, cublasLtMatrixLayoutAttribute_t attribute) {
  return read_attribute<T>(layout, attribute, "layout attribute");
}
std::uint32_t preference_attr(const LtMatmul& lt, cublasLtMatmulPreferenceAttributes_t attribute) {
  return read_attribute<std::uint32_t>(lt.preference(), attribute, "preference attribute");
}
// Changes one attribute behind LtMatmul's back (what the emulator must notice).
template <class T>
void overwrite(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attribute, T value) {
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, attribute, &value, sizeof value),
            CUBLAS_STATUS_SUCCESS);
}

struct Expected {
  cudaDataType_t type;
  std::uint64_t rows;
  std::uint64_t cols;
  std::int64_t ld;
  std::int32_t batch;
  std::int64_t stride;
};

void expect_layout(cublasLtMatrixLayout_t layout, const Expected& e, const char* name) {
  SCOPED_TRACE(name);
  EXPECT_EQ(layout_attr<std::uint32_t>(layout, CUBLASLT_MATRIX_LAYOUT_TYPE),
            static_cast<std::uint32_t>(e.type));
  EXPECT_EQ(layout_attr<std::int32_t>(layout, CUBLASLT_MATRIX_LAYOUT_ORDER), CUBLASLT_ORDER_COL);
  EXPECT_EQ(layout_attr<std::uint64_t>(layout, CUBLASLT_MATRIX_LAYOUT_ROWS), e.rows);
  EXPECT_EQ(layout_attr<std::uint64_t>(layout, CUBLASLT_MATRIX_LAYOUT_COLS), e.cols);
  EXPECT_EQ(layout_attr<std::int64_t>(layout, CUBLASLT_MATRIX_LAYOUT_LD), e.ld);
  EXPECT_EQ(layout_attr<std::int32_t>(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT), e.batch);
  EXPECT_EQ(layout_attr<std::int64_t>(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET),
            e.stride);
}

TEST(LtMatmul, ChannelsLastTf32BiasRelu) {
  GemmPlan g;
  g.dtype = DType::f32;
  g.math = MathMode::tf32;
  g.m = 48;  // F
  g.n = 300;
  g.k = 40;
  g.lda = 48;
  g.ldb = 40;
  g.ldc = 52;
  g.epilogue = detail::GemmEpilogue::relu_bias;
  g.align_a = 256;
  g.align_b = 64;
  g.align_c = 16;
  g.align_bias = 32;
  const LtMatmul lt(g);
  EXPECT_EQ(desc_attr<std::int32_t>(lt, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE),
            CUBLAS_COMPUTE_32F_FAST_TF32);
  EXPECT_EQ(desc_attr<std::int32_t>(lt, CUBLASLT_MATMUL_DESC_SCALE_TYPE), CUDA_R_32F);
  EXPECT_EQ(desc_attr<std::int32_t>(lt, CUBLASLT_MATMUL_DESC_TRANSA), CUBLAS_OP_N);
  EXPECT_EQ(desc_attr<std::int32_t>(lt, CUBLASLT_MATMUL_DESC_TRANSB), CUBLAS_OP_N);
  EXPECT_EQ(desc_attr<std::uint32_t>(lt, CUBLASLT_MATMUL_DESC_EPILOGUE),
            static_cast<std::uint32_t>(CUBLASLT_EPILOGUE_RELU_BIAS));
  EXPECT_EQ(desc_attr<std::int32_t>(lt, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE), CUDA_R_32F);
  EXPECT_EQ(desc_attr<std::int64_t>(lt, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE), 0);
  EXPECT_EQ(desc_attr<const void*>(lt, CUBLASLT_MATMUL_DESC_BIAS_POINTER), nullptr);
  expect_layout(lt.layout_a(), {CUDA_R_32F, 48, 40, 48, 1, 0}, "A");
  expect_layout(lt.layout_b(), {CUDA_R_32F, 40, 300, 40, 1, 0}, "B");
  expect_layout(lt.layout_c(), {CUDA_R_32F, 48, 300, 52, 1, 0}, "C");
  EXPECT_EQ(lt.layout_d(), lt.layout_c());  // in place: one layout
  EXPECT_EQ(preference_attr(lt, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES), 256u);
  EXPECT_EQ(preference_attr(lt, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES), 64u);
  EXPECT_EQ(preference_attr(lt, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES), 16u);
  EXPECT_EQ(preference_attr(lt, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES), 16u);
  EXPECT_TRUE(lt.has_bias());
  EXPECT_FALSE(lt.has_algorithm());
  EXPECT_EQ(lt.workspace_size(), 0u);
}

TEST(LtMatmul, ChannelsFirstBf16StridedBatchedWithSharedWeights) {
  GemmPlan g;
  g.dtype = DType::bf16;
  g.math = MathMode::exact;
  g.a_is_weights = false;
  g.trans_b = true;
  g.m = 100;  // T
  g.n = 24;   // F
  g.k = 17;   // C*M + ones row
  g.lda = 104;
  g.ldb = 24;
  g.ldc = 100;
  g.batch_count = 3;
  g.stride_a = 17 * 104;
  g.stride_b = 0;
  g.stride_c = 2400;
  g.epilogue = detail::GemmEpilogue::relu;
  const LtMatmul lt(g);
  EXPECT_EQ(desc_attr<std::int32_t>(lt, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE), CUBLAS_COMPUTE_32F);
  EXPECT_EQ(desc_attr<std::int32_t>(lt, CUBLASLT_MATMUL_DESC_TRANSA), CUBLAS_OP_N);
  EXPECT_EQ(desc_attr<std::int32_t>(lt, CUBLASLT_MATMUL_DESC_TRANSB), CUBLAS_OP_T);
  EXPECT_EQ(desc_attr<std::uint32_t>(lt, CUBLASLT_MATMUL_DESC_EPILOGUE),
            static_cast<std::uint32_t>(CUBLASLT_EPILOGUE_RELU));
  EXPECT_EQ(desc_attr<std::int32_t>(lt, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE), -1);  // unset
  expect_layout(lt.layout_a(), {CUDA_R_16BF, 100, 17, 104, 3, 17 * 104}, "A");
  expect_layout(lt.layout_b(), {CUDA_R_16BF, 24, 17, 24, 3, 0}, "B");  // stored F x K, op T
  expect_layout(lt.layout_c(), {CUDA_R_16BF, 100, 24, 100, 3, 2400}, "C");
  EXPECT_FALSE(lt.has_bias());
}

TEST(LtMatmul, Float16BiasHasTheOutputType) {
  GemmPlan g;
  g.dtype = DType::f16;
  g.math = MathMode::tf32;  // ignored for 16-bit inputs
  g.m = g.lda = g.ldc = 8;
  g.n = 5;
  g.k = g.ldb = 3;
  g.epilogue = detail::GemmEpilogue::bias;
  LtMatmul lt(g);
  EXPECT_EQ(desc_attr<std::int32_t>(lt, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE), CUBLAS_COMPUTE_32F);
  EXPECT_EQ(desc_attr<std::int32_t>(lt, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE), CUDA_R_16F);
  const int dummy = 0;
  lt.set_bias_pointer(&dummy);
  EXPECT_EQ(desc_attr<const void*>(lt, CUBLASLT_MATMUL_DESC_BIAS_POINTER), &dummy);
  // Moving keeps the descriptors.
  const cublasLtMatmulDesc_t desc = lt.desc();
  const LtMatmul moved(std::move(lt));
  EXPECT_EQ(moved.desc(), desc);
}

TEST(LtMatmul, RunRefusesBeforeAnAlgorithmIsChosen) {
  GemmPlan g;
  g.m = g.lda = g.ldc = 4;
  g.n = 2;
  g.k = g.ldb = 3;
  LtMatmul lt(g);
  EXPECT_THROW(lt.run(nullptr, nullptr, nullptr, nullptr, nullptr, 0, nullptr),
               sepconv::Error);
}

// ---- the descriptor GEMM refuses what it does not implement ----------------------------------

struct Small {
  GemmPlan g;
  std::vector<float> a = std::vector<float>(12, 1.0f);
  std::vector<float> b = std::vector<float>(6, 1.0f);
  std::vector<float> c = std::vector<float>(8, 0.0f);
  std::vector<float> bias = std::vector<float>(4, 0.5f);
  Small() {
    g.m = g.lda = g.ldc = 4;
    g.n = 2;
    g.k = g.ldb = 3;
  }
  void run(const LtMatmul& lt) {
    const HostOperand out{lt.layout_c(), c.data(), 0, 8};
    descriptor_gemm(lt.desc(), 1.0f, {lt.layout_a(), a.data(), 0, 12},
                    {lt.layout_b(), b.data(), 0, 6}, 0.0f, out, out, 4);
  }
};

TEST(DescriptorGemm, ComputesWhatTheDescriptorsSay) {
  Small s;
  s.g.epilogue = detail::GemmEpilogue::bias;
  LtMatmul lt(s.g);
  lt.set_bias_pointer(s.bias.data());
  s.run(lt);
  for (float v : s.c) EXPECT_EQ(v, 3.5f);  // sum of 3 ones + 0.5
}

TEST(DescriptorGemm, RefusesRowOrder) {
  Small s;
  LtMatmul lt(s.g);
  const auto row = static_cast<std::int32_t>(CUBLASLT_ORDER_ROW);
  ASSERT_EQ(cublasLtMatrixLayoutSetAttribute(lt.layout_a(), CUBLASLT_MATRIX_LAYOUT_ORDER, &row,
                                             sizeof row),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_THROW(s.run(lt), Refused);
}

TEST(DescriptorGemm, RefusesOtherEpilogues) {
  Small s;
  LtMatmul lt(s.g);
  for (cublasLtEpilogue_t e : {CUBLASLT_EPILOGUE_GELU, CUBLASLT_EPILOGUE_GELU_BIAS,
                               CUBLASLT_EPILOGUE_RELU_AUX, CUBLASLT_EPILOGUE_BGRADA}) {
    overwrite(lt.desc(), CUBLASLT_MATMUL_DESC_EPILOGUE, static_cast<std::uint32_t>(e));
    EXPECT_THROW(s.run(lt), Refused) << "epilogue " << e;
  }
}

TEST(DescriptorGemm, RefusesLeadingDimensionBelowRowsAndAccessesOutsideBuffers) {
  {
    Small s;
    s.g.lda = 3;  // < m = 4 rows
    EXPECT_THROW(s.run(LtMatmul(s.g)), Refused);
  }
  {
    Small s;
    s.g.ldc = 5;  // the second column ends past the 8-element output
    EXPECT_THROW(s.run(LtMatmul(s.g)), Refused);
  }
  {
    Small s;
    s.g.epilogue = detail::GemmEpilogue::bias;  // bias epilogue without a bias pointer
    EXPECT_THROW(s.run(LtMatmul(s.g)), Refused);
  }
}

TEST(DescriptorGemm, RefusesScalePointersAndDevicePointerMode) {
  Small s;
  LtMatmul lt(s.g);
  const float scale = 2.0f;
  overwrite(lt.desc(), CUBLASLT_MATMUL_DESC_D_SCALE_POINTER, static_cast<const void*>(&scale));
  EXPECT_THROW(s.run(lt), Refused);
  LtMatmul lt2(s.g);
  overwrite(lt2.desc(), CUBLASLT_MATMUL_DESC_POINTER_MODE,
            static_cast<std::int32_t>(CUBLASLT_POINTER_MODE_DEVICE));
  EXPECT_THROW(s.run(lt2), Refused);
}

}  // namespace
}  // namespace sepconv::test
