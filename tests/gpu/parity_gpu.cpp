#include "parity_gpu.h"

#include <memory>

namespace sepconv::test::parity {
namespace {

std::unique_ptr<Context>& context_slot() {
  static std::unique_ptr<Context> slot;
  return slot;
}

class ContextEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { context_slot() = std::make_unique<Context>(0); }
  void TearDown() override { context_slot().reset(); }
};

}  // namespace

Context& context() {
  if (!context_slot()) context_slot() = std::make_unique<Context>(0);
  return *context_slot();
}

void install_context_environment() { ::testing::AddGlobalTestEnvironment(new ContextEnvironment); }

Produced run_on_gpu(const ParityCase& c, HostTensor x, HostWeights w) {
  Produced p;
  p.x = std::move(x);
  p.w = std::move(w);
  SeparableConv1D layer(context(), c.config, c.channels, c.precision);
  layer.set_weights(p.w.view());
  p.plan = c.batch > 0 ? layer.describe(c.batch, c.length) : "(batch 0: nothing runs)\n";
  // workspace_size is exact for contiguous views; a sliced view gets a strided-batched GEMM whose
  // cuBLASLt algorithm may need up to max_gemm_workspace more. Chunk-forcing cases give exactly
  // what one sample of workspace_steps needs.
  const bool sliced =
      c.x_slack != std::array<std::int64_t, 3>{} || c.y_slack != std::array<std::int64_t, 3>{};
  const std::size_t bytes = c.workspace_steps > 0
                                ? layer.workspace_size(1, c.workspace_steps)
                                : layer.workspace_size(c.batch, c.length) +
                                      (sliced ? ContextOptions{}.max_gemm_workspace : 0);
  Workspace workspace(context(), bytes);
  p.poisoned = poisoned_output(c.config, c.batch, c.length, c.precision.dtype, c.y_slack);
  DeviceMirror dx(p.x);
  DeviceMirror dy(p.poisoned);
  Stream stream;
  for (HostTensor* out : {&p.y, &p.y_again}) {
    dy.upload(p.poisoned);
    layer.forward(dx.view(), dy.view(), workspace.data(), workspace.bytes(), stream.get());
    stream.sync();
    *out = p.poisoned;
    dy.download(*out);
  }
  return p;
}

Produced run_on_gpu(const ParityCase& c) {
  const std::uint64_t seed = seed_of(c.name);
  return run_on_gpu(c, make_input(c, seed), make_weights(c, seed + 1));
}

}  // namespace sepconv::test::parity
