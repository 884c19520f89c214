// sepconv — Keras SeparableConv1D on NVIDIA GPUs. The umbrella header.
//
//   sepconv/config.h     LayerConfig (the Keras arguments), output length and padding, validation
//   sepconv/tensor.h     non-owning tensor views {pointer, dtype, shape, strides}
//   sepconv/reference.h  the CPU reference (float64), public for parity checks and as a fallback
//   sepconv/accuracy.h   the condition-aware bound outputs are compared with
//   sepconv/error.h      the exceptions every function throws
//   sepconv/training.h   Keras initializers, regularizers and constraints on the host
#pragma once

#include "sepconv/accuracy.h"
#include "sepconv/config.h"
#include "sepconv/error.h"
#include "sepconv/reference.h"
#include "sepconv/tensor.h"
#include "sepconv/training.h"
#include "sepconv/types.h"
#include "sepconv/version.h"
