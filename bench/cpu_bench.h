// sepconv_bench without a GPU: times the float64 CPU reference on small shapes, so the binary, its
// JSON and the scripts after it can be checked on any machine (CI's smoke test).
#pragma once

#include <string>

#include "output.h"

namespace sepconv::bench {

/// Times reference::depthwise (the depthwise stage) and reference::forward (the whole forward)
/// on `selection` (CPU-sized shapes), with a note saying why no GPU ran (`reason`). The pointwise
/// stage and the tf32 mode have no CPU counterpart and are skipped with a note.
[[nodiscard]] Report run_cpu(const Selection& selection, const std::string& reason);

}  // namespace sepconv::bench
