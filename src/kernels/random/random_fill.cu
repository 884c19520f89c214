// The initializers' fill: its launch wrapper, one kernel per storage type (3 instantiations).
// Compiled without floating-point contraction (src/CMakeLists.txt): the values must be the host's
// bits (detail/random.h).
#include "kernels/random/random_fill.h"

#include "kernels/elementwise.cuh"
#include "kernels/launch.cuh"
#include "kernels/random/random_fill.cuh"

namespace sepconv::detail {

void launch_random_fill(const TensorView& out, const RandomSpec& spec, std::uint64_t seed,
                        const double* source, cudaStream_t stream) {
  const std::int64_t count = out.numel();
  if (count == 0) return;
  dispatch_storage_type(out.dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    RandomFillKernel<S> k;
    k.out = static_cast<S*>(out.data);
    k.layout = strided_of(out);
    k.count = count;
    k.spec = spec;
    k.seed = seed;
    k.source = source;
    launch_kernel(k, elementwise_launch(count), stream);
  });
}

}  // namespace sepconv::detail
