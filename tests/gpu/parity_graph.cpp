// ParityGraph: a forward captured into a CUDA graph (several chunks of a small workspace, so the
// graph holds several depthwise launches, GEMMs and epilogue passes) and replayed on new inputs
// uploaded into the same buffers: each replay matches the reference and, bit for bit, an eager
// forward of the same inputs.
#include <gtest/gtest.h>

#include "parity_gpu.h"

namespace sepconv::test::parity {
namespace {

class ParityGraph : public ::testing::TestWithParam<ParityCase> {};

TEST_P(ParityGraph, ReplaysMatchTheReferenceAndEagerForwardsBitwise) {
  const ParityCase& c = GetParam();
  const std::uint64_t seed = seed_of(c.name);
  Context& ctx = context();
  const HostWeights w = make_weights(c, seed + 1);
  SeparableConv1D layer(ctx, c.config, c.channels, c.precision);
  layer.set_weights(w.view());
  const std::string plan = layer.describe(c.batch, c.length);
  Workspace workspace(ctx, c.workspace_steps > 0 ? layer.workspace_size(1, c.workspace_steps)
                                                 : layer.workspace_size(c.batch, c.length));
  const HostTensor poisoned =
      poisoned_output(c.config, c.batch, c.length, c.precision.dtype, c.y_slack);
  DeviceMirror dx(make_input(c, seed));
  DeviceMirror dy(poisoned);
  DeviceMirror dy_eager(poisoned);
  Stream stream;
  // One eager forward plans every chunk's shape, so the capture holds no host work.
  layer.forward(dx.view(), dy.view(), workspace.data(), workspace.bytes(), stream.get());
  stream.sync();

  const auto graph = CapturedGraph::capture(stream.get(), [&] {
    layer.forward(dx.view(), dy.view(), workspace.data(), workspace.bytes(), stream.get());
  });
  const std::size_t nodes = graph.nodes();
  EXPECT_GE(nodes, 2u) << plan;
  RecordProperty("graph_nodes", static_cast<int>(nodes));

  for (int replay = 0; replay < 3; ++replay) {
    Produced p;
    p.x = make_input(c, seed + 100 + static_cast<std::uint64_t>(replay));  // new data, same buffers
    p.w = w;
    p.poisoned = poisoned;
    p.plan = plan;
    dx.upload(p.x);
    dy.upload(poisoned);
    graph.launch(stream.get());
    stream.sync();
    p.y = poisoned;
    dy.download(p.y);
    dy_eager.upload(poisoned);
    layer.forward(dx.view(), dy_eager.view(), workspace.data(), workspace.bytes(), stream.get());
    stream.sync();
    p.y_again = poisoned;  // "two forwards differ" below means graph vs eager
    dy_eager.download(p.y_again);
    const auto problems = check_all({&c}, {&p});
    EXPECT_TRUE(problems[0].empty())
        << "replay " << replay << " of " << c.describe() << " (" << nodes << " graph nodes)\n"
        << plan << problems[0];
  }
}

INSTANTIATE_TEST_SUITE_P(Graphs, ParityGraph, ::testing::ValuesIn(graph_cases()), CaseName());

}  // namespace
}  // namespace sepconv::test::parity
