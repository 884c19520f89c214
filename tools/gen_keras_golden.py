#!/usr/bin/env python3
"""Generate sepconv's golden test data with real Keras.

What it does
============
Runs the real Keras ``SeparableConv1D`` layer on seeded random data and writes
the inputs, weights, configs and outputs under ``tests/data/golden/`` (the
layout is described in ``tests/data/golden/README.md``, which this script also
writes).  Two frameworks are used, both CPU-only, in ONE virtual environment:

* **Keras 3** (``keras``, ``KERAS_BACKEND=jax``): padding ``valid``/``same``,
  both data formats, every Keras 3 string activation sepconv supports, and the
  Keras 3 validation errors.
* **tf-keras** (``tf_keras``, the tf.keras 2.x code line, TensorFlow backend):
  what Keras 3's SeparableConv1D lacks -- ``padding="causal"``, tf.keras's
  ``hard_sigmoid`` (``clip(0.2x+0.5, 0, 1)``, sepconv's
  ``hard_sigmoid_tf_keras``) and the ``strides > 1`` with ``dilation_rate > 1``
  error.  TensorFlow's CPU kernels cannot run a channels_first depthwise
  convolution ("Depthwise convolution on CPU is only supported for NHWC
  format"), so every tf-keras ``channels_first`` case is computed by a
  channels_last layer with the SAME weights on the transposed input, and its
  output is transposed back; the case's ``notes`` say so and its config.json
  says ``channels_first``.

Every forward case is checked against an independent float64 NumPy
implementation written from ``docs/semantics.md`` (padding
arithmetic, intermediate channel ``q = c*M + m``, bias then activation, softmax
along the last axis).  The tolerance is 1e-5 times the sum of the absolute
values of all terms of each output (times the activation's Lipschitz bound);
the script stops with an error if any output disagrees, so a Keras activation
that does not match docs/semantics.md's formula makes generation fail loudly.  It also
checks that the data set would catch typical mistakes ("mutants": ``q = m*C +
c``, the odd "same" pad on the left, causal treated as same, the approximate
gelu, tf.keras's hard_sigmoid for Keras 3's, ...) and that the required
parameter coverage is present.  After writing, it re-reads every case from
disk (manifest, config.json parsed the way a consumer would: int or 1-element
list, any letter case for padding, ``null`` activation) and recomputes it a
second way, through the equivalent full kernel ``W[j,c,f] = sum_m dw[j,c,m] *
pw[0,c*M+m,f]``.

Golden gradients
================
It also writes ``tests/data/golden/gradients/`` (its own manifest and README):
42 tiny cases covering every option (every Keras 3 activation; tf-keras for
causal padding and its hard_sigmoid; strides, dilations, multipliers, both
formats, bias on/off; float32, mixed_float16 and float16 policies), each with
the gradient of sum(output * G), G seeded random weights, with respect to the
input and every weight (``jax.grad`` through the layer's ``__call__`` for
Keras 3, ``tf.GradientTape`` for tf-keras), checked against central
differences of the float64 NumPy forward.  ``--gradients-only`` regenerates
just that folder.

Usage
=====
::

    python3 tools/gen_keras_golden.py            # from the repository root

    python3 tools/gen_keras_golden.py --models   # tests/data/keras_models

``--models`` writes the Keras model files instead of the golden cases (two
small models in the four formats sepconv reads, their configs, and each
SeparableConv1D layer's Keras output for a random input; see "Keras model
files" below).

Options: ``--gradients-only`` (only the golden gradients), ``--venv DIR``
(default ``~/.cache/sepconv-golden-venv``),
``--out DIR`` (default ``<repo>/tests/data/golden``), ``--seed N`` (default
20240917), ``--no-venv`` (run with the current interpreter; the pinned packages
must already be importable, and ``PYTHONHASHSEED=0`` should be set for
byte-identical messages).

The first run creates the virtual env with the ``python3`` on PATH (3.11 here)
and pip-installs the pinned versions in ``REQUIREMENTS`` (PyPI must be
reachable), then re-executes itself inside the venv with
``KERAS_BACKEND=jax``.  Later runs reuse the venv (a stamp file records the
installed requirement list).  Note: ``tf-keras`` depends on the ``tensorflow``
distribution, so pip installs both ``tensorflow-cpu`` and ``tensorflow`` at
2.21.0 (the same package contents); keras 3.15.1 satisfies both.
``jax==0.12.0.1`` needs Python >= 3.12; on 3.11 the newest jax/jaxlib pair is
0.10.2, which is what is pinned.

Randomness: case ``i`` draws everything (input, weights, bias) from
``numpy.random.default_rng([seed, i])``.  Weights are set explicitly with
``layer.set_weights`` (never Keras initializers) and are never zero; the
pointwise kernel and bias are rescaled per case so that the pre-activations
cover every kink/breakpoint of the case's activation (and stay moderate for
``exponential``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# --------------------------------------------------------------------------
# Environment bootstrap
# --------------------------------------------------------------------------

REQUIREMENTS = [
    "keras==3.15.1",
    "jax[cpu]==0.10.2",
    "jaxlib==0.10.2",
    "tensorflow-cpu==2.21.0",
    "tf-keras==2.21.0",
    "numpy==2.4.6",
]
DEFAULT_VENV = Path("~/.cache/sepconv-golden-venv").expanduser()
DEFAULT_SEED = 20240917
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "golden"
IN_VENV_FLAG = "SEPCONV_GOLDEN_IN_VENV"
STAMP_NAME = ".sepconv-golden-requirements"
SIZE_LIMIT_BYTES = 3 * 1024 * 1024


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                   help="virtual env to create/reuse (default %(default)s)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="output folder (default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--gradients-only", action="store_true",
                   help="regenerate only the golden gradients (<out>/gradients)")
    p.add_argument("--no-venv", action="store_true",
                   help="do not create/enter the venv; use this interpreter")
    p.add_argument("--models", action="store_true",
                   help="write only the Keras model files (--models-out) "
                        "instead of the golden cases")
    p.add_argument("--models-out", type=Path,
                   default=REPO_ROOT / "tests" / "data" / "keras_models",
                   help="model files folder (default %(default)s)")
    return p.parse_args(argv)


def ensure_venv_and_reexec(args, argv):
    """Create/refresh the venv if needed and re-exec this script inside it."""
    venv = args.venv.expanduser().resolve()
    vpy = venv / "bin" / "python"
    if os.environ.get(IN_VENV_FLAG) == "1":
        return  # already re-executed
    if not vpy.exists():
        base = shutil.which("python3") or sys.executable
        print(f"[golden] creating venv {venv} with {base}", flush=True)
        subprocess.check_call([base, "-m", "venv", str(venv)])
    stamp = venv / STAMP_NAME
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if not stamp.exists() or stamp.read_text() != wanted:
        print(f"[golden] pip install {' '.join(REQUIREMENTS)}", flush=True)
        subprocess.check_call([str(vpy), "-m", "pip", "install", "--quiet",
                               "--disable-pip-version-check", *REQUIREMENTS])
        stamp.write_text(wanted)
    env = dict(os.environ)
    env[IN_VENV_FLAG] = "1"
    env["KERAS_BACKEND"] = "jax"
    # Keras formats some messages from Python sets (e.g. the padding error's
    # "{'valid', 'same'}"): fix the hash seed so reruns give the same text.
    env["PYTHONHASHSEED"] = "0"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("CUDA_VISIBLE_DEVICES", "")
    env.setdefault("JAX_PLATFORMS", "cpu")
    os.execve(str(vpy), [str(vpy), str(Path(__file__).resolve()), *argv], env)


# --------------------------------------------------------------------------
# Activations: docs/semantics.md formulas in float64 (independent of Keras)
# --------------------------------------------------------------------------

def _np():
    import numpy as np
    return np


def _sigmoid(x):
    np = _np()
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softplus(x):
    np = _np()
    return np.logaddexp(x, 0.0)


def _erf(x):
    np = _np()
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _k3_hard_sigmoid(x):
    np = _np()
    return np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0


def _softmax(x):
    np = _np()
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(x):
    np = _np()
    sh = x - x.max(axis=-1, keepdims=True)
    return sh - np.log(np.exp(sh).sum(axis=-1, keepdims=True))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def ref_activation(name, x):
    """docs/semantics.md formula for sepconv activation `name`."""
    np = _np()
    f = {
        "linear": lambda v: v,
        "relu": lambda v: np.maximum(v, 0.0),
        "relu6": lambda v: np.minimum(np.maximum(v, 0.0), 6.0),
        "leaky_relu": lambda v: np.where(v >= 0, v, 0.2 * v),
        "elu": lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0.0))),
        "selu": lambda v: SELU_SCALE * np.where(
            v > 0, v, SELU_ALPHA * np.expm1(np.minimum(v, 0.0))),
        "softplus": _softplus,
        "softsign": lambda v: v / (1.0 + np.abs(v)),
        "silu": lambda v: v * _sigmoid(v),
        "swish": lambda v: v * _sigmoid(v),
        "gelu": lambda v: 0.5 * v * (1.0 + _erf(v / math.sqrt(2.0))),
        "tanh": np.tanh,
        "sigmoid": _sigmoid,
        "exponential": np.exp,
        "hard_sigmoid": _k3_hard_sigmoid,
        "hard_silu": lambda v: v * _k3_hard_sigmoid(v),
        "hard_swish": lambda v: v * _k3_hard_sigmoid(v),
        "mish": lambda v: v * np.tanh(_softplus(v)),
        "softmax": _softmax,
        "log_softmax": _log_softmax,
        "celu": lambda v: np.maximum(v, 0.0) + np.expm1(np.minimum(v, 0.0)),
        "squareplus": lambda v: (v + np.sqrt(v * v + 4.0)) / 2.0,
        "soft_shrink": lambda v: np.where(
            v > 0.5, v - 0.5, np.where(v < -0.5, v + 0.5, 0.0)),
        "hard_shrink": lambda v: np.where(np.abs(v) > 0.5, v, 0.0),
        "tanh_shrink": lambda v: v - np.tanh(v),
        "hard_tanh": lambda v: np.clip(v, -1.0, 1.0),
        "sparse_plus": lambda v: np.where(
            v <= -1.0, 0.0, np.where(v >= 1.0, v, (v + 1.0) ** 2 / 4.0)),
        "sparse_sigmoid": lambda v: np.where(
            v <= -1.0, 0.0, np.where(v >= 1.0, 1.0, (v + 1.0) / 2.0)),
        "log_sigmoid": lambda v: -_softplus(-v),
        "hard_sigmoid_tf_keras": lambda v: np.clip(0.2 * v + 0.5, 0.0, 1.0),
    }[name]
    return f(x)


# Upper bound of |act'(x)| (used to turn a pre-activation error bound into an
# output error bound).  exponential/softmax/log_softmax are handled apart.
LIPSCHITZ = {
    "selu": 1.76, "silu": 1.1, "swish": 1.1, "gelu": 1.13, "hard_silu": 1.5,
    "hard_swish": 1.5, "mish": 1.1,
}

# Breakpoints of piecewise activations: pre-activations must fall on every
# side of each (checked over all cases of that activation).
BREAKPOINTS = {
    "relu": [0.0], "relu6": [0.0, 6.0], "leaky_relu": [0.0], "elu": [0.0],
    "selu": [0.0], "celu": [0.0], "hard_sigmoid": [-3.0, 3.0],
    "hard_silu": [-3.0, 3.0], "hard_swish": [-3.0, 3.0],
    "soft_shrink": [-0.5, 0.5], "hard_shrink": [-0.5, 0.5],
    "hard_tanh": [-1.0, 1.0], "sparse_plus": [-1.0, 1.0],
    "sparse_sigmoid": [-1.0, 1.0], "hard_sigmoid_tf_keras": [-2.5, 2.5],
}
# Discontinuities (jumps): outputs within the error bound of one may land on
# either side.
JUMPS = {"hard_shrink": ([-0.5, 0.5], 0.5)}

# Target standard deviation of the pre-activations per activation.
TARGET_STD = {
    "relu6": 5.0, "hard_sigmoid": 3.5, "hard_silu": 3.5, "hard_swish": 3.5,
    "hard_sigmoid_tf_keras": 3.0, "hard_tanh": 1.8, "sparse_plus": 1.8,
    "sparse_sigmoid": 1.8, "soft_shrink": 1.2, "hard_shrink": 1.2,
    "exponential": 1.0, "linear": 1.0,
}
DEFAULT_TARGET_STD = 2.0

# Keras 3 string activations sepconv supports (SPEC decision 4 / section 7).
K3_ACTIVATIONS = [
    None, "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "softplus",
    "softsign", "silu", "swish", "gelu", "tanh", "sigmoid", "exponential",
    "hard_sigmoid", "hard_silu", "hard_swish", "mish", "softmax",
    "log_softmax", "celu", "squareplus", "soft_shrink", "hard_shrink",
    "tanh_shrink", "hard_tanh", "sparse_plus", "sparse_sigmoid", "log_sigmoid",
]
# tf-keras strings used with tf_keras (its registry; hard_sigmoid there is the
# 0.2x+0.5 one, recorded as sepconv's hard_sigmoid_tf_keras).
TK_ACTIVATIONS = {
    None, "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "softplus",
    "softsign", "silu", "swish", "gelu", "tanh", "sigmoid", "exponential",
    "hard_sigmoid", "mish", "softmax", "log_softmax",
}
# Aliases: Keras's get_config writes the canonical name; config.json keeps the
# alias the layer was constructed with so that parsers see it.
K3_ALIAS_WRITTEN = {"swish": "silu", "hard_swish": "hard_silu"}
TK_ALIAS_WRITTEN = {"silu": "swish"}


def sepconv_act_name(framework, act):
    """The sepconv activation name a Keras activation string corresponds to."""
    if act is None:
        return "linear"
    if framework == "tf_keras" and act == "hard_sigmoid":
        return "hard_sigmoid_tf_keras"
    return act


# --------------------------------------------------------------------------
# Reference forward pass (docs/semantics.md), float64
# --------------------------------------------------------------------------

def out_geometry(L, k, s, d, padding):
    """(pad_left, pad_right, L_out) per SPEC decision 3 / section 3."""
    effk = d * (k - 1) + 1
    p = padding.lower()
    if p == "valid":
        if L < effk:
            raise ValueError("valid: L < effective kernel size")
        return 0, 0, (L - effk) // s + 1
    if p == "same":
        lout = (L + s - 1) // s
        total = max((lout - 1) * s + effk - L, 0)
        return total // 2, total - total // 2, lout
    if p == "causal":
        return d * (k - 1), 0, (L + s - 1) // s
    raise ValueError(padding)


def ref_preactivation(x_cl, dw, pw, bias, k, s, d, padding, *,
                      q_order="c*M+m", pads=None):
    """Pre-activation z (B, Lout, F) and sum of |terms| S, channels_last.

    x_cl: (B, L, C); dw: (k, C, M); pw: (1, C*M, F); bias: (F,) or None.
    `q_order` and `pads` exist only to build deliberately wrong "mutants".
    """
    np = _np()
    B, L, C = x_cl.shape
    M = dw.shape[2]
    F = pw.shape[2]
    pl, pr, lout = out_geometry(L, k, s, d, padding)
    if pads is not None:
        pl, pr = pads
    effk = d * (k - 1) + 1
    assert (pl + L + pr - effk) // s + 1 == lout
    xp = np.zeros((B, pl + L + pr, C))
    xp[:, pl:pl + L, :] = x_cl
    mid = np.zeros((B, lout, C * M))
    mabs = np.zeros((B, lout, C * M))
    for j in range(k):
        xs = xp[:, j * d: j * d + (lout - 1) * s + 1: s, :]
        for c in range(C):
            for m in range(M):
                q = c * M + m if q_order == "c*M+m" else m * C + c
                mid[:, :, q] += dw[j, c, m] * xs[:, :, c]
                mabs[:, :, q] += abs(dw[j, c, m]) * np.abs(xs[:, :, c])
    z = mid @ pw[0]
    S = mabs @ np.abs(pw[0])
    if bias is not None:
        z = z + bias
        S = S + np.abs(bias)
    return z, S


def to_format(a_cl, data_format):
    return a_cl if data_format == "channels_last" else a_cl.transpose(0, 2, 1)


def tolerance(act, z, S, y_ref):
    """Elementwise bound on |keras - reference| (case layout)."""
    np = _np()
    eps = 1e-5 * S + 1e-7
    if act == "exponential":
        return np.exp(z + eps) * eps * 1.01 + 2e-6 * np.abs(y_ref) + 1e-7
    if act in ("softmax", "log_softmax"):
        emax = eps.max(axis=-1, keepdims=True) if eps.size else eps
        return 2.0 * emax + 2e-6 * np.abs(y_ref) + 1e-7
    tol = LIPSCHITZ.get(act, 1.0) * eps + 2e-6 * np.abs(y_ref) + 1e-7
    if act in JUMPS:
        points, height = JUMPS[act]
        for p in points:
            tol = np.where(np.abs(z - p) <= eps, tol + height, tol)
    return tol


# --------------------------------------------------------------------------
# Case specifications
# --------------------------------------------------------------------------

def fwd(fw, act, pad, fmt, B, L, C, M, F, k, s=1, d=1, bias=True,
        enc="list", dist="u", notes=""):
    return dict(kind="forward", fw=fw, act=act, pad=pad,
                fmt={"cl": "channels_last", "cf": "channels_first"}[fmt],
                B=B, L=L, C=C, M=M, F=F, k=k, s=s, d=d, bias=bias, enc=enc,
                dist=dist, notes=notes)


def group_a_k3_activations():
    """Every Keras 3 activation twice (channels_last and channels_first)."""
    KS = [3, 5, 1, 7, 2, 9, 4, 6, 8, 31]
    MS = [1, 2, 3, 4]
    CS = [3, 1, 5, 7, 13, 2, 4]
    FS = [4, 1, 7, 16, 3, 65, 5, 2, 33]
    PADS = ["valid", "same", "Same", "valid", "same", "VALID", "same",
            "Valid"]
    SD = [(1, 1), (2, 1), (1, 2), (3, 1), (1, 3), (1, 4)]
    LS = [16, 23, 8, 50, 5, 37, 64, 2, 11, 100, 29]
    cases = []
    n = 0
    for act in K3_ACTIVATIONS:
        for fmt in ("cl", "cf"):
            k = KS[n % len(KS)]
            M = MS[(n * 3) % len(MS)]
            C = CS[n % len(CS)]
            F = FS[n % len(FS)]
            pad = PADS[n % len(PADS)]
            s, d = SD[n % len(SD)]
            L = LS[n % len(LS)]
            B = 1 + n % 3
            effk = d * (k - 1) + 1
            if k == 31:  # keep the arrays small
                C, F, d = min(C, 3), min(F, 7), 1
                effk = k
            if pad.lower() == "valid":
                L = max(L, effk + n % 3)
            if act in ("softmax", "log_softmax"):
                if fmt == "cl":
                    F = max(F, 6)
                else:  # softmax runs along time: make it a few steps long
                    L = max(L, 4 * s + effk)
            bias = n % 5 != 2
            enc = "int" if n % 7 == 3 else ("mixed" if n % 11 == 5 else "list")
            if act is None and fmt == "cl":
                enc = "null_act"
            cases.append(fwd("keras", act, pad, fmt, B, L, C, M, F, k, s, d,
                             bias, enc, "un"[n % 2]))
            n += 1
    return cases


def group_b_k3_geometry():
    """Keras 3 edge geometries (padding arithmetic, sizes, shapes)."""
    K = "keras"
    return [
        fwd(K, "linear", "same", "cl", 1, 1, 3, 2, 4, 3,
            notes="same with L=1 < k"),
        fwd(K, "tanh", "same", "cf", 2, 2, 3, 1, 5, 9, d=2,
            notes="same with L=2 < k, dilation 2"),
        fwd(K, "linear", "same", "cl", 1, 9, 1, 1, 1, 4, s=2,
            notes="same L=9 k=4 s=2: pads 1 left / 2 right"),
        fwd(K, "relu", "same", "cl", 2, 12, 3, 2, 3, 3, s=3,
            notes="same L=12 k=3 s=3: pads 0/0"),
        fwd(K, "linear", "same", "cf", 1, 10, 5, 1, 2, 3, s=3, bias=False,
            notes="same L=10 k=3 s=3: pads 1/1"),
        fwd(K, "sigmoid", "Same", "cl", 1, 11, 2, 3, 3, 5, s=3,
            notes="same L=11 k=5 s=3: pads 2/2"),
        fwd(K, "linear", "same", "cl", 1, 8, 2, 2, 2, 6, s=1, enc="int",
            notes="same even k=6: pads 2 left / 3 right"),
        fwd(K, "linear", "same", "cl", 1, 7, 1, 1, 1, 2, s=2, bias=False,
            notes="same L=7 k=2 s=2: pads 0/1"),
        fwd(K, "linear", "valid", "cl", 1, 13, 3, 1, 2, 5, d=3,
            notes="valid L = effk = 13 -> L_out 1"),
        fwd(K, "relu", "valid", "cf", 2, 6, 2, 2, 3, 4, s=3,
            notes="valid L = effk + s - 1 -> L_out 1"),
        fwd(K, "linear", "valid", "cl", 1, 7, 2, 1, 3, 4, s=3,
            notes="valid L = effk + s -> L_out 2"),
        fwd(K, "linear", "valid", "cl", 1, 6, 3, 2, 2, 5, s=2, bias=False,
            notes="valid L = effk + 1 with s=2 -> L_out 1 (effk-1 is the "
                  "error case)"),
        fwd(K, None, "Valid", "cl", 1, 1, 1, 1, 1, 1, enc="null_act",
            notes="valid k=1 L=1 C=F=M=1: a single multiply-add"),
        fwd(K, "linear", "valid", "cf", 3, 10, 3, 4, 2, 1, s=3,
            notes="k=1 s=3 valid -> L_out 4"),
        fwd(K, "linear", "same", "cl", 1, 2000, 1, 1, 2, 31, dist="n",
            notes="long: L=2000 k=31 same"),
        fwd(K, "relu", "valid", "cf", 1, 1999, 3, 2, 2, 31, s=3,
            notes="long: L=1999 k=31 s=3 valid channels_first"),
        fwd(K, "tanh", "same", "cl", 1, 2048, 1, 4, 3, 9, d=4, dist="n",
            notes="long: L=2048 k=9 d=4 same"),
        fwd(K, "linear", "valid", "cl", 2, 20, 3, 2, 65, 3, enc="int",
            notes="filters 65"),
        fwd(K, "relu", "same", "cf", 1, 17, 5, 3, 65, 4, s=2,
            notes="filters 65 channels_first"),
        fwd(K, "linear", "same", "cl", 3, 15, 13, 4, 7, 5, dist="n",
            notes="C=13, M=4: q = c*M + m ordering"),
        fwd(K, "linear", "valid", "cf", 2, 21, 7, 3, 5, 3, d=2,
            notes="C=7, M=3 channels_first, dilation 2"),
        fwd(K, "linear", "same", "cl", 0, 5, 3, 2, 4, 3,
            notes="batch 0: empty input and output (sepconv: valid, does "
                  "nothing)"),
        fwd(K, "softmax", "same", "cl", 2, 6, 3, 1, 1, 3,
            notes="softmax over a single filter: all ones"),
        fwd(K, "log_softmax", "valid", "cf", 1, 3, 2, 2, 3, 3,
            notes="log_softmax channels_first with L_out = 1: all zeros"),
        fwd(K, "linear", "same", "cl", 1, 5, 2, 1, 3, 31,
            notes="k=31 same with L=5 < k"),
        fwd(K, "linear", "valid", "cl", 2, 31, 2, 2, 3, 31, enc="mixed",
            notes="k=31 valid L=31 -> L_out 1"),
        fwd(K, "relu", "same", "cf", 1, 7, 3, 2, 3, 3, d=4,
            notes="same with effk=9 > L=7"),
        fwd(K, "linear", "same", "cl", 2, 1, 3, 1, 2, 4, s=2,
            notes="same s=2 L=1 -> L_out 1"),
        fwd(K, "linear", "SAME", "cf", 1, 2, 2, 2, 2, 3, s=3, enc="int",
            notes="same s=3 L=2 -> L_out 1"),
        fwd(K, "elu", "same", "cl", 3, 40, 5, 1, 8, 8, d=3, bias=False,
            notes="even k=8 with dilation 3"),
        fwd(K, "linear", "valid", "cl", 2, 33, 1, 4, 1, 9, d=4, bias=False,
            enc="int", notes="valid k=9 d=4: effk 33 = L"),
    ]


def group_c_tf_keras():
    """tf-keras: causal padding, tf.keras hard_sigmoid, a few cross-checks."""
    T = "tf_keras"
    return [
        fwd(T, "relu", "causal", "cl", 1, 8, 3, 1, 4, 3,
            notes="causal basic"),
        fwd(T, "hard_sigmoid", "CAUSAL", "cl", 2, 20, 3, 2, 3, 5, d=2),
        fwd(T, "linear", "causal", "cl", 1, 1, 2, 2, 3, 4,
            notes="causal L=1 < k"),
        fwd(T, "tanh", "causal", "cf", 2, 3, 3, 1, 2, 9, d=2,
            notes="causal L=3 < k"),
        fwd(T, "linear", "causal", "cl", 1, 9, 2, 1, 2, 4, s=2,
            notes="causal s=2"),
        fwd(T, "sigmoid", "Causal", "cl", 3, 10, 1, 3, 2, 3, s=3),
        fwd(T, "linear", "causal", "cl", 1, 30, 2, 1, 3, 3, d=4,
            enc="int"),
        fwd(T, "linear", "causal", "cl", 1, 2000, 1, 2, 2, 31, dist="n",
            notes="long causal: L=2000 k=31"),
        fwd(T, "relu6", "causal", "cf", 1, 12, 3, 1, 2, 1),
        fwd(T, "linear", "causal", "cl", 1, 12, 5, 3, 65, 3, bias=False,
            notes="causal filters 65, C=5, M=3"),
        fwd(T, "tanh", "causal", "cf", 3, 14, 7, 2, 5, 6, s=2),
        fwd(T, "elu", "causal", "cl", 2, 16, 3, 4, 3, 7),
        fwd(T, "selu", "causal", "cf", 1, 19, 5, 1, 4, 2, d=3),
        fwd(T, "softplus", "causal", "cl", 1, 25, 13, 1, 3, 3, s=3),
        fwd(T, "softsign", "causal", "cf", 2, 9, 1, 2, 1, 8),
        fwd(T, "silu", "causal", "cl", 1, 18, 3, 2, 5, 5, d=2),
        fwd(T, "swish", "causal", "cf", 1, 11, 2, 3, 3, 4),
        fwd(T, "gelu", "causal", "cl", 2, 13, 5, 1, 6, 6, s=2),
        fwd(T, "exponential", "causal", "cl", 1, 10, 3, 1, 3, 3),
        fwd(T, "mish", "causal", "cf", 1, 15, 3, 2, 2, 5, s=3),
        fwd(T, "softmax", "causal", "cl", 2, 9, 3, 1, 5, 4),
        fwd(T, "log_softmax", "causal", "cl", 1, 12, 2, 2, 4, 3, d=2),
        fwd(T, "leaky_relu", "causal", "cf", 1, 14, 3, 1, 3, 3),
        fwd(T, None, "causal", "cl", 1, 6, 2, 1, 2, 2, enc="null_act"),
        fwd(T, "hard_sigmoid", "valid", "cl", 2, 30, 3, 2, 4, 5),
        fwd(T, "hard_sigmoid", "same", "cf", 1, 25, 5, 1, 3, 3, s=2),
        fwd(T, "hard_sigmoid", "causal", "cf", 1, 22, 2, 3, 2, 4, d=3),
        fwd(T, "hard_sigmoid", "Same", "cl", 3, 17, 1, 1, 2, 7, bias=False),
        fwd(T, "relu", "same", "cl", 1, 9, 1, 1, 1, 4, s=2,
            notes="tf-keras same: odd pad goes right (cross-check)"),
        fwd(T, "linear", "Valid", "cl", 2, 10, 3, 2, 3, 3, s=2, enc="mixed",
            notes="tf-keras valid (cross-check)"),
        fwd(T, "relu", "causal", "cl", 1, 2, 3, 1, 2, 1, s=3,
            notes="causal k=1 s=3 L=2 -> L_out 1"),
    ]


def err(fw, argument, kwargs, input_shape, notes="", expect="raise"):
    """An error case; `expect` is what Keras should do: "raise" or "accept"
    (the generator stops if Keras does otherwise)."""
    return dict(kind="error", fw=fw, argument=argument, kwargs=kwargs,
                input_shape=input_shape, notes=notes, expect=expect)


def error_cases():
    K, T = "keras", "tf_keras"
    base = dict(filters=4, kernel_size=3)
    return [
        err(T, "strides", dict(base, strides=2, dilation_rate=2), [1, 9, 3],
            "strides > 1 together with dilation_rate > 1 (also concerns "
            "dilation_rate). Keras 3 does not check this (its JAX backend "
            "computes it); sepconv rejects it like tf.keras."),
        err(T, "strides", dict(base, strides=3, dilation_rate=4), [1, 30, 3],
            "strides=3 with dilation_rate=4 (also concerns dilation_rate)."),
        err(K, "filters", dict(base, filters=0), [1, 8, 3]),
        err(K, "filters", dict(base, filters=-1), [1, 8, 3]),
        err(K, "kernel_size", dict(base, kernel_size=0), [1, 8, 3]),
        err(K, "strides", dict(base, strides=0), [1, 8, 3]),
        err(K, "dilation_rate", dict(base, dilation_rate=0), [1, 8, 3]),
        err(K, "depth_multiplier", dict(base, depth_multiplier=0), [1, 8, 3]),
        err(T, "depth_multiplier", dict(base, depth_multiplier=0), [1, 8, 3],
            "tf-keras does not validate depth_multiplier; TensorFlow fails "
            "when the layer is called."),
        err(K, "input", dict(filters=4, kernel_size=5), [1, 3, 3],
            "valid padding with L=3 < kernel_size=5."),
        err(K, "input", dict(filters=4, kernel_size=3, dilation_rate=3),
            [1, 6, 3],
            "valid padding with L=6 >= k but < effective kernel size 7 "
            "(d=3)."),
        err(K, "input", dict(filters=4, kernel_size=5,
                             data_format="channels_first"), [2, 3, 4],
            "valid padding, channels_first input (B=2, C=3, L=4) < k=5."),
        err(K, "input", dict(filters=4, kernel_size=5, strides=2), [1, 4, 3],
            "valid padding with L = effk-1 = 4 and s=2: floor((L-effk)/s)+1 "
            "= 0 (C++ truncating division would wrongly give 1)."),
        err(T, "input", dict(filters=4, kernel_size=5, strides=2), [1, 4, 3],
            "Same as the Keras 3 case: valid, L = effk-1 = 4, s=2. tf-keras "
            "does NOT raise: TensorFlow returns an empty (1, 0, 4) output. "
            "sepconv rejects it (SPEC decision 3).", expect="accept"),
        err(T, "input", dict(filters=4, kernel_size=5), [1, 3, 3],
            "valid padding with L=3 < k=5 in tf-keras: TensorFlow raises when "
            "called."),
        err(K, "input", dict(filters=4, kernel_size=3), [1, 0, 3],
            "L=0, valid padding."),
        err(K, "input", dict(filters=4, kernel_size=3, padding="same"),
            [1, 0, 3],
            "L=0, same padding: Keras 3 does NOT raise (returns an empty "
            "(1, 0, 4) output); sepconv rejects L=0 for every padding (SPEC "
            "decision 3).", expect="accept"),
        err(K, "padding", dict(base, padding="full"), [1, 8, 3]),
        err(K, "data_format", dict(base, data_format="channels_middle"),
            [1, 8, 3]),
        err(K, "activation", dict(base, activation="not_an_activation"),
            [1, 8, 3]),
        err(T, "activation", dict(base, activation="not_an_activation"),
            [1, 8, 3]),
        err(K, "activation", dict(base, activation="glu"), [1, 8, 3],
            "glu with filters=4: Keras 3 ACCEPTS it and halves the last axis "
            "(output (1, 6, 2)); sepconv rejects glu (changes the shape).",
            expect="accept"),
        err(K, "activation", dict(filters=5, kernel_size=3, activation="glu"),
            [1, 8, 3],
            "glu with an odd last axis (filters=5): Keras 3 fails when "
            "called; sepconv rejects glu whatever the shape."),
        err(K, "activation", dict(base, activation="sparsemax"), [1, 8, 3],
            "sparsemax: Keras 3 ACCEPTS it (a projection along the last "
            "axis, not elementwise); sepconv rejects it.", expect="accept"),
        err(K, "activation", dict(base, activation="threshold"), [1, 8, 3],
            "threshold: Keras 3 accepts the string at construction and fails "
            "when called (needs two extra arguments); sepconv rejects it."),
    ]


# --------------------------------------------------------------------------
# Running Keras
# --------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Frameworks:
    def __init__(self):
        import keras
        import jax
        import tensorflow as tf
        import tf_keras
        assert keras.backend.backend() == "jax", keras.backend.backend()
        self.keras, self.tf_keras = keras, tf_keras
        self.info = {
            "keras": ("keras", keras.__version__, "jax", jax.__version__),
            "tf_keras": ("tf_keras", tf_keras.__version__, "tensorflow",
                         tf.__version__),
        }

    def layer_cls(self, fw):
        mod = self.keras if fw == "keras" else self.tf_keras
        return mod.layers.SeparableConv1D


def draw_nonzero(rng, shape, lo=0.1, hi=1.0):
    np = _np()
    mag = rng.uniform(lo, hi, size=shape)
    sign = np.where(rng.random(size=shape) < 0.5, -1.0, 1.0)
    return (sign * mag).astype(np.float32)


def make_data(spec, rng):
    """Input (case layout) and weights (float32), scaled per activation."""
    np = _np()
    B, L, C, M, F, k = (spec[n] for n in "BLCMFk")
    if spec["dist"] == "u":
        x_cl = rng.uniform(-1.0, 1.0, size=(B, L, C)).astype(np.float32)
    else:
        x_cl = rng.standard_normal(size=(B, L, C)).astype(np.float32)
    dw = draw_nonzero(rng, (k, C, M))
    pw = draw_nonzero(rng, (1, C * M, F))
    act = sepconv_act_name(spec["fw"], spec["act"])
    target = TARGET_STD.get(act, DEFAULT_TARGET_STD)
    z0, _ = ref_preactivation(x_cl.astype(np.float64), dw.astype(np.float64),
                              pw.astype(np.float64), None, k, spec["s"],
                              spec["d"], spec["pad"])
    std = float(z0.std()) if z0.size > 1 else 0.0
    if std > 0:
        pw = (pw * (target / std)).astype(np.float32)
        pw[pw == 0] = np.float32(1e-3)
    bias = None
    if spec["bias"]:
        bias = (draw_nonzero(rng, (F,)) * np.float32(0.5 * target)).astype(
            np.float32)
    return x_cl, dw, pw, bias


def config_for(spec, cfg, fw):
    """Apply the case's deliberate config.json encodings to get_config()."""
    cfg = dict(cfg)
    act = spec["act"]
    if fw == "tf_keras":
        cfg["data_format"] = spec["fmt"]  # channels_first runs transposed
        if act == "hard_sigmoid":
            cfg["activation"] = "hard_sigmoid_tf_keras"
        elif act in TK_ALIAS_WRITTEN:
            assert cfg["activation"] == TK_ALIAS_WRITTEN[act], cfg
            cfg["activation"] = act
    elif act in K3_ALIAS_WRITTEN:
        assert cfg["activation"] == K3_ALIAS_WRITTEN[act], cfg
        cfg["activation"] = act
    if spec["pad"] != spec["pad"].lower():
        assert cfg["padding"] == spec["pad"].lower()
        cfg["padding"] = spec["pad"]
    enc = spec["enc"]
    if enc == "int":
        for key in ("kernel_size", "strides", "dilation_rate"):
            cfg[key] = int(cfg[key][0])
    elif enc == "mixed":
        cfg["kernel_size"] = int(cfg["kernel_size"][0])
        cfg["dilation_rate"] = int(cfg["dilation_rate"][0])
    elif enc == "null_act":
        assert cfg["activation"] == "linear", cfg
        cfg["activation"] = None
    return cfg


def run_forward(fwx, spec, rng):
    np = _np()
    fw = spec["fw"]
    x_cl, dw, pw, bias = make_data(spec, rng)
    fmt = spec["fmt"]
    transposed = fw == "tf_keras" and fmt == "channels_first"
    if transposed:
        assert spec["act"] not in ("softmax", "log_softmax"), spec
    layer = fwx.layer_cls(fw)(
        filters=spec["F"], kernel_size=spec["k"], strides=spec["s"],
        padding=spec["pad"],
        data_format="channels_last" if transposed else fmt,
        dilation_rate=spec["d"], depth_multiplier=spec["M"],
        activation=spec["act"], use_bias=spec["bias"], name=spec["name"])
    x_in = x_cl if (transposed or fmt == "channels_last") else \
        np.ascontiguousarray(x_cl.transpose(0, 2, 1))
    layer.build(x_in.shape)
    shapes = [tuple(w.shape) for w in layer.get_weights()]
    want = [dw.shape, pw.shape] + ([bias.shape] if bias is not None else [])
    assert shapes == [tuple(s) for s in want], (spec["name"], shapes, want)
    layer.set_weights([dw, pw] + ([bias] if bias is not None else []))
    y = np.asarray(layer(x_in)).astype(np.float32)
    if transposed:
        y = np.ascontiguousarray(y.transpose(0, 2, 1))
    x_case = to_format(x_cl, fmt)
    cfg = config_for(spec, layer.get_config(), fw)
    return dict(x=np.ascontiguousarray(x_case), dw=dw, pw=pw, bias=bias,
                y=y, cfg=cfg, transposed=transposed)


def check_forward(spec, data):
    """Compare Keras's output with the float64 reference; return stats."""
    np = _np()
    act = sepconv_act_name(spec["fw"], spec["act"])
    f64 = lambda a: None if a is None else a.astype(np.float64)
    x_cl = data["x"] if spec["fmt"] == "channels_last" else \
        data["x"].transpose(0, 2, 1)
    z, S = ref_preactivation(f64(x_cl), f64(data["dw"]), f64(data["pw"]),
                             f64(data["bias"]), spec["k"], spec["s"],
                             spec["d"], spec["pad"])
    z, S = to_format(z, spec["fmt"]), to_format(S, spec["fmt"])
    y_ref = ref_activation(act, z)
    y = data["y"].astype(np.float64)
    if y.shape != y_ref.shape:
        raise SystemExit(f"SHAPE MISMATCH in {spec['name']}: keras {y.shape} "
                         f"vs SPEC {y_ref.shape}")
    diff = np.abs(y - y_ref)
    tol = tolerance(act, z, S, y_ref)
    if diff.size and not np.all(diff <= tol):
        i = np.unravel_index(np.argmax(diff / tol), diff.shape)
        raise SystemExit(
            f"KERAS DISAGREES WITH SPEC in case {spec['name']} "
            f"(activation {act}): at {i} keras={y[i]!r} spec={y_ref[i]!r} "
            f"pre-activation={z[i]!r} |diff|={diff[i]:.3g} tol={tol[i]:.3g}")
    return dict(
        z=z, S=S, y=y,
        max_abs=float(diff.max()) if diff.size else 0.0,
        max_rel=float((diff / (S + 1e-30)).max()) if diff.size else 0.0,
        max_ratio=float((diff / tol).max()) if diff.size else 0.0)


def mutant_kills(spec, data, stats):
    """Which deliberately wrong implementations this case would catch."""
    np = _np()
    act = sepconv_act_name(spec["fw"], spec["act"])
    fmt = spec["fmt"]
    y, z, S = stats["y"], stats["z"], stats["S"]
    if y.size == 0:
        return set()
    tol = tolerance(act, z, S, ref_activation(act, z))
    f64 = lambda a: None if a is None else a.astype(np.float64)
    x_cl = f64(data["x"] if fmt == "channels_last"
               else data["x"].transpose(0, 2, 1))
    args = (x_cl, f64(data["dw"]), f64(data["pw"]), f64(data["bias"]),
            spec["k"], spec["s"], spec["d"])
    killed = set()

    def differs(z_m, act_m=act):
        y_m = ref_activation(act_m, z_m)
        return y_m.shape != y.shape or bool(np.any(np.abs(y - y_m) > tol))

    if spec["C"] > 1 and spec["M"] > 1:
        z_m, _ = ref_preactivation(*args, spec["pad"], q_order="m*C+c")
        if differs(to_format(z_m, fmt)):
            killed.add("q = m*C + c")
    pad = spec["pad"].lower()
    pl, pr, _ = out_geometry(spec["L"], spec["k"], spec["s"], spec["d"], pad)
    if pad == "same" and pl != pr:
        z_m, _ = ref_preactivation(*args, pad, pads=(pr, pl))
        if differs(to_format(z_m, fmt)):
            killed.add("same: odd pad on the left")
    if pad == "causal" and spec["k"] > 1:
        z_m, _ = ref_preactivation(*args, "same")
        if differs(to_format(z_m, fmt)):
            killed.add("causal computed as same")
    if spec["bias"] and act not in ("softmax",):
        # Bias after the activation instead of before.
        b = data["bias"].astype(np.float64)
        b = b if fmt == "channels_last" else b[:, None]
        if differs(ref_activation(act, z - b) + b, "linear"):
            killed.add("bias added after the activation")
    alt = {"gelu": ("gelu_tanh", lambda v: 0.5 * v * (1 + np.tanh(
               math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))),
           "hard_sigmoid": ("tf.keras hard_sigmoid for Keras 3's",
                            lambda v: np.clip(0.2 * v + 0.5, 0, 1)),
           "hard_sigmoid_tf_keras": ("Keras 3 hard_sigmoid for tf.keras's",
                                     _k3_hard_sigmoid),
           "leaky_relu": ("leaky_relu slope 0.3",
                          lambda v: np.where(v >= 0, v, 0.3 * v)),
           "softmax": ("softmax over the other axis",
                       lambda v: _softmax(v.transpose(0, 2, 1)).transpose(
                           0, 2, 1)),
           "log_softmax": ("log_softmax over the other axis",
                           lambda v: _log_softmax(v.transpose(0, 2, 1))
                           .transpose(0, 2, 1))}
    if act in alt:
        label, fn = alt[act]
        if bool(np.any(np.abs(y - fn(z)) > tol)):
            killed.add(label)
    return killed


def regions_hit(act, z):
    """(breakpoint, below?, above?) coverage of the pre-activations."""
    pts = BREAKPOINTS.get(act, [])
    return {(p, "below"): bool((z < p).any()) for p in pts} | \
           {(p, "above"): bool((z > p).any()) for p in pts}


def run_error(fwx, spec):
    """Construct (and call) the layer; record what Keras does."""
    np = _np()
    fw = spec["fw"]
    kwargs = dict(spec["kwargs"], name=spec["name"])
    layer, stage, exc, out_shape = None, "construct", None, None
    try:
        layer = fwx.layer_cls(fw)(**kwargs)
        stage = "call"
        x = np.zeros(spec["input_shape"], np.float32)
        out_shape = list(np.asarray(layer(x)).shape)
    except Exception as e:  # noqa: BLE001 - we record whatever Keras raises
        exc = e
    if (exc is None) != (spec["expect"] == "accept"):
        raise SystemExit(
            f"UNEXPECTED KERAS BEHAVIOUR in {spec['name']}: expected it to "
            f"{spec['expect']}, got {exc!r} (output shape {out_shape})")
    if layer is not None:
        cfg = layer.get_config()
    else:
        cfg = {
            "name": spec["name"],
            "filters": kwargs.get("filters"),
            "kernel_size": [kwargs.get("kernel_size")],
            "strides": [kwargs.get("strides", 1)],
            "padding": kwargs.get("padding", "valid"),
            "data_format": kwargs.get("data_format", "channels_last"),
            "dilation_rate": [kwargs.get("dilation_rate", 1)],
            "depth_multiplier": kwargs.get("depth_multiplier", 1),
            "activation": kwargs.get("activation", "linear"),
            "use_bias": kwargs.get("use_bias", True),
        }
    if exc is None:
        error = {"type": None, "message": None, "argument": spec["argument"],
                 "keras_raised": False, "stage": None}
        note = (f"{spec['notes']} Keras raised nothing; output shape "
                f"{out_shape}.").strip()
    else:
        error = {"type": type(exc).__name__,
                 "message": ANSI.sub("", str(exc)),
                 "argument": spec["argument"], "keras_raised": True,
                 "stage": stage}
        note = spec["notes"]
    return cfg, error, note


# --------------------------------------------------------------------------
# Coverage checks over the case list
# --------------------------------------------------------------------------

def check_coverage(fwd_specs):
    def vals(key, pred=lambda s: True):
        return {s[key] for s in fwd_specs if pred(s)}

    problems = []

    def need(label, have, want):
        missing = set(want) - set(have)
        if missing:
            problems.append(f"{label}: missing {sorted(missing, key=str)}")

    pads = vals("pad")
    need("padding", {p.lower() for p in pads}, ["valid", "same", "causal"])
    for p in ("valid", "same", "causal"):
        if not any(q.lower() == p and q != p for q in pads):
            problems.append(f"no mixed-case spelling of {p}")
    need("strides", vals("s"), [1, 2, 3])
    need("dilation", vals("d"), [1, 2, 3, 4])
    need("kernel", vals("k"), list(range(1, 10)) + [31])
    need("depth_multiplier", vals("M"), [1, 2, 3, 4])
    need("channels", vals("C"), [1, 3, 5, 7, 13])
    need("filters", vals("F"), [1, 65])
    need("batch", vals("B"), [1, 2, 3])
    need("use_bias", vals("bias"), [True, False])
    need("encodings", vals("enc"), ["list", "int", "mixed", "null_act"])
    Ls = vals("L")
    if min(Ls) != 1 or max(Ls) < 2000:
        problems.append(f"lengths span {min(Ls)}..{max(Ls)}")
    for p in ("same", "causal"):
        if not any(s["pad"].lower() == p and s["L"] < s["k"]
                   for s in fwd_specs):
            problems.append(f"no {p} case with L < k")
    for fw in ("keras", "tf_keras"):
        need(f"{fw} formats", vals("fmt", lambda s: s["fw"] == fw),
             ["channels_last", "channels_first"])
    every = {sepconv_act_name("keras", a) for a in K3_ACTIVATIONS} | \
        {"hard_sigmoid_tf_keras"}
    for fmt in ("channels_last", "channels_first"):
        have = {sepconv_act_name(s["fw"], s["act"]) for s in fwd_specs
                if s["fmt"] == fmt}
        need(f"activations in {fmt}", have, every)
    if any(s["s"] > 1 and s["d"] > 1 for s in fwd_specs):
        problems.append("a forward case has strides>1 and dilation>1")
    if problems:
        raise SystemExit("COVERAGE PROBLEMS:\n  " + "\n  ".join(problems))


# --------------------------------------------------------------------------
# Re-check of the written files, as a consumer would read them
# --------------------------------------------------------------------------

def _scalar(v):
    """kernel_size/strides/dilation_rate: an int or a 1-element list."""
    if isinstance(v, list):
        assert len(v) == 1, v
        return int(v[0])
    return int(v)


def verify_written(out: Path):
    """Reload every forward case from disk and recompute it a second way.

    Reads only manifest.json, config.json and the .npy files (like the C++
    tests will) and uses the equivalent full-convolution kernel
    W[j, c, f] = sum_m dw[j, c, m] * pw[0, c*M + m, f] (SPEC section 2) with
    the padding of SPEC decision 3.  Returns the largest relative difference.
    """
    np = _np()
    manifest = json.loads((out / "manifest.json").read_text())
    worst = 0.0
    for case in manifest["cases"]:
        d = out / case["name"]
        cfg = json.loads((d / "config.json").read_text())
        if case["kind"] != "forward":
            assert not list(d.glob("*.npy")), d
            continue
        k, s, dil = (_scalar(cfg[key]) for key in
                     ("kernel_size", "strides", "dilation_rate"))
        pad = cfg["padding"].lower()
        act = cfg["activation"] or "linear"
        fmt, M, F = cfg["data_format"], cfg["depth_multiplier"], cfg["filters"]
        arrays = {}
        for nm in ("input", "depthwise", "pointwise", "bias", "output"):
            f = d / f"{nm}.npy"
            if f.exists():
                a = np.load(f, allow_pickle=False)
                assert a.dtype.str == "<f4" and a.flags.c_contiguous, f
                arrays[nm] = a.astype(np.float64)
        assert ("bias" in arrays) == bool(cfg["use_bias"]), d
        x = arrays["input"]
        assert list(x.shape) == case["input_shape"], d
        if fmt == "channels_first":
            x = x.transpose(0, 2, 1)
        B, L, C = x.shape
        dw, pw = arrays["depthwise"], arrays["pointwise"]
        assert dw.shape == (k, C, M) and pw.shape == (1, C * M, F), d
        W = np.einsum("jcm,cmf->jcf", dw, pw[0].reshape(C, M, F))
        pl, pr, lout = out_geometry(L, k, s, dil, pad)
        xp = np.concatenate([np.zeros((B, pl, C)), x, np.zeros((B, pr, C))],
                            axis=1)
        taps = np.stack([xp[:, j * dil: j * dil + (lout - 1) * s + 1: s, :]
                         for j in range(k)], axis=2)  # (B, Lout, k, C)
        z = np.einsum("btjc,jcf->btf", taps, W)
        S = np.einsum("btjc,jcf->btf", np.abs(taps),
                      np.einsum("jcm,cmf->jcf", np.abs(dw),
                                np.abs(pw[0]).reshape(C, M, F)))
        if "bias" in arrays:
            z, S = z + arrays["bias"], S + np.abs(arrays["bias"])
        z, S = to_format(z, fmt), to_format(S, fmt)
        y_ref = ref_activation(act, z)
        y = arrays["output"]
        assert y.shape == y_ref.shape, (d, y.shape, y_ref.shape)
        if y.size:
            # The W form regroups the sums: allow twice the usual bound.
            diff = np.abs(y - y_ref)
            tol = 2.0 * tolerance(act, z, S, y_ref)
            if not np.all(diff <= tol):
                raise SystemExit(f"WRITTEN FILES DISAGREE in {d.name}")
            worst = max(worst, float((diff / (S + 1e-30)).max()))
    return worst


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def save_npy(path, arr):
    np = _np()
    arr = np.ascontiguousarray(arr, dtype="<f4")
    np.save(path, arr, allow_pickle=False)


def clean_out(out: Path):
    """Remove what a previous run wrote (case folders, manifest, README)."""
    out.mkdir(parents=True, exist_ok=True)
    for p in out.iterdir():
        if p.is_dir() and (p / "config.json").exists():
            shutil.rmtree(p)
        elif p.name in ("manifest.json", "README.md"):
            p.unlink()


def summarize(spec):
    act = sepconv_act_name(spec["fw"], spec["act"])
    fmt = "cl" if spec["fmt"] == "channels_last" else "cf"
    return (f"{spec['pad']:<6} {fmt} B{spec['B']} L{spec['L']} C{spec['C']} "
            f"M{spec['M']} F{spec['F']} k{spec['k']} s{spec['s']} "
            f"d{spec['d']} {'b' if spec['bias'] else '-'} {act}")


def case_name(i, spec):
    fw = "k3" if spec["fw"] == "keras" else "tk"
    if spec["kind"] == "forward":
        act = sepconv_act_name(spec["fw"], spec["act"])
        if spec["act"] is None:
            act = "none"
        fmt = "cl" if spec["fmt"] == "channels_last" else "cf"
        return f"{i:03d}_{fw}_{spec['pad'].lower()}_{fmt}_{act}"
    return f"{i:03d}_{fw}_error_{spec['argument']}"


def dir_size(path: Path):
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


README_TEMPLATE = """\
# Golden data: real Keras SeparableConv1D

Generated by `tools/gen_keras_golden.py` -- do not edit by hand; rerun it:

    python3 tools/gen_keras_golden.py

(from the repository root; PyPI must be reachable on the first run).  It
creates or reuses the virtual env `~/.cache/sepconv-golden-venv` (override with
`--venv`) with the `python3` on PATH, pip-installs the pinned versions and
re-executes itself there with `KERAS_BACKEND=jax`.

Versions used for this data (seed {seed}, {created}):

{versions}

## Cases

{n_total} cases: {counts}.

* **Keras 3** (`framework: "keras"`, JAX backend, CPU): padding valid/same,
  both data formats, every Keras 3 string activation sepconv supports, Keras 3
  validation errors.
* **tf-keras** (`framework: "tf_keras"`, TensorFlow backend, CPU): padding
  causal (Keras 3's SeparableConv1D rejects it), tf.keras's `hard_sigmoid`, the
  strides>1-with-dilation>1 error, and a few valid/same cross-checks.
  **channels_first tf-keras cases are computed transposed**: TensorFlow's CPU
  kernels cannot run a channels_first depthwise convolution ("Depthwise
  convolution on CPU is only supported for NHWC format"), so the generator runs
  a channels_last layer with the same weights on the transposed input and
  transposes the output back.  Their config.json says `channels_first` and their
  `notes` say so.  (softmax/log_softmax are never used in such cases.)

Every forward case was checked against an independent float64 NumPy
implementation of `docs/semantics.md` (forward, padding, activations): the largest difference,
relative to the sum of the absolute values of an output's terms, was
{max_rel:.2e} (bound 1e-5, scaled by the activation's slope).  A test of sepconv
in float32 should allow about 1e-5 * sum|terms| (times the activation's slope)
per output element; for `exponential` relative to the output.

## Layout

* `manifest.json`: `{{"generator", "seed", "created", "versions", "notes",
  "cases": [...]}}`.  Each case: `name` (its folder), `kind` (`forward` or
  `error`), `framework` (`keras` or `tf_keras`), `framework_version`,
  `backend` (`jax` or `tensorflow`), `backend_version`, `input_shape`
  (`[B, L, C]` for channels_last, `[B, C, L]` for channels_first), `notes`, and
  for error cases `error`: `{{"type", "message", "argument", "keras_raised",
  "stage"}}` -- `type`/`message` are the exception Keras raised (ANSI
  escapes stripped), `argument` the sepconv argument the error concerns
  (`filters|kernel_size|strides|dilation_rate|depth_multiplier|padding|
  data_format|activation|input`), `stage` `construct` or `call`.  Where Keras
  does NOT raise but sepconv must (glu, sparsemax, L=0 with same padding,
  tf-keras's empty valid output), `keras_raised` is false and `type`/`message`
  are null; the `notes` say what Keras did.
* `<name>/config.json`: `layer.get_config()` as Keras wrote it (kernel_size,
  strides, dilation_rate as 1-element lists; padding lower-case), except:
  * mixed-case padding cases (`"Same"`, `"CAUSAL"`, `"Valid"`...) keep the case
    the layer was constructed with (Keras lower-cases it);
  * some cases write plain ints for kernel_size/strides/dilation_rate (all
    three, or kernel_size and dilation_rate only), and some write
    `"activation": null` (linear);
  * tf.keras's hard_sigmoid is written `"hard_sigmoid_tf_keras"`;
  * alias activations keep the alias they were constructed with (Keras writes
    `silu` for `swish`, `hard_silu` for `hard_swish`; tf-keras writes `swish`
    for `silu`);
  * tf-keras channels_first cases say `channels_first` (see above).
  Error cases whose layer could not be constructed have the constructor
  arguments in the same shape (name, filters, kernel_size, strides, padding,
  data_format, dilation_rate, depth_multiplier, activation, use_bias).
  tf-keras configs carry tf-keras's extra keys (`groups`, `kernel_initializer`,
  ...); readers should ignore unknown keys.
* forward cases: `depthwise.npy` `(k, C, M)`, `pointwise.npy` `(1, C*M, F)`,
  `bias.npy` `(F,)` (only when use_bias), `input.npy`, `output.npy` (case
  layout) -- float32 little-endian C-order `.npy` written by `np.save`.  One
  case has batch 0 (empty input and output).

Weights are random and never zero (magnitudes in [0.1, 1], the pointwise kernel
and bias rescaled per case so that the pre-activations cross every breakpoint
of the activation: 0 and 6 for relu6, +-3 for Keras 3 hard_sigmoid/hard_silu,
+-2.5 for tf.keras hard_sigmoid, +-1 for hard_tanh/sparse_*, +-0.5 for the
shrinks; moderate for exponential).  Inputs are U(-1, 1) or N(0, 1).

## Activation names

| Keras string (framework) | config.json `activation` | sepconv name |
|---|---|---|
| None (keras, tf_keras) | `"linear"` or `null` | linear |
| swish (keras) | `"swish"` (Keras writes `silu`) | swish (= silu) |
| hard_swish (keras) | `"hard_swish"` (Keras writes `hard_silu`) | hard_swish (= hard_silu) |
| silu (tf_keras) | `"silu"` (tf-keras writes `swish`) | silu |
| hard_sigmoid (keras) | `"hard_sigmoid"` | hard_sigmoid: relu6(x+3)/6 |
| hard_sigmoid (tf_keras) | `"hard_sigmoid_tf_keras"` | hard_sigmoid_tf_keras: clip(0.2x+0.5, 0, 1) |
| gelu (both) | `"gelu"` | gelu, exact erf form |
| leaky_relu (both) | `"leaky_relu"` | leaky_relu, slope 0.2 |
| any other | same string | same string |

softmax/log_softmax reduce along the last axis of the output: filters for
channels_last, time for channels_first.

## Where Keras and sepconv differ (recorded as error cases)

* Keras 3's SeparableConv1D rejects `padding="causal"` (message in the
  manifest's `notes`); sepconv supports it like tf.keras.
* Keras 3 does not reject strides > 1 with dilation_rate > 1 (JAX computes it);
  tf-keras and sepconv do.
* Valid padding with L = effk - 1 and strides 2: Keras 3 raises, tf-keras
  returns an empty output; sepconv raises.
* L = 0 with same padding: Keras 3 returns an empty output; sepconv raises.
* `glu` (even filters) and `sparsemax`: Keras 3 accepts them; `threshold` and
  `glu` with odd filters fail only when called; sepconv rejects all three.
* tf-keras does not validate depth_multiplier (TensorFlow fails when called).

The padding error message lists a Python set, whose order depends on the hash
seed; the generator runs with `PYTHONHASHSEED=0` so reruns are byte-identical
(apart from `created`).
"""


def write_readme(out, seed, created, versions, counts, n_total, max_rel):
    vers = "\n".join(f"* {k} {v}" for k, v in versions.items())
    cnt = ", ".join(f"{n} {k}" for k, n in counts.items())
    (out / "README.md").write_text(README_TEMPLATE.format(
        seed=seed, created=created, versions=vers, counts=cnt,
        n_total=n_total, max_rel=max_rel))


MUST_KILL = [
    "q = m*C + c", "same: odd pad on the left", "causal computed as same",
    "bias added after the activation", "gelu_tanh",
    "tf.keras hard_sigmoid for Keras 3's",
    "Keras 3 hard_sigmoid for tf.keras's",
    "leaky_relu slope 0.3", "softmax over the other axis",
    "log_softmax over the other axis",
]


class Tally:
    """What the forward cases proved, over the whole data set."""

    def __init__(self):
        self.kills = {}    # mutant label -> case names that catch it
        self.regions = {}  # (activation, breakpoint, side) -> hit?
        self.max_rel = 0.0
        self.rows = []     # summary table

    def add_forward(self, spec, data, stats):
        self.max_rel = max(self.max_rel, stats["max_rel"])
        for m in mutant_kills(spec, data, stats):
            self.kills.setdefault(m, []).append(spec["name"])
        act = sepconv_act_name(spec["fw"], spec["act"])
        for key, hit in regions_hit(act, stats["z"]).items():
            k = (act,) + key
            self.regions[k] = self.regions.get(k, False) or hit
        self.rows.append((spec["name"], spec["fw"], summarize(spec),
                          stats["max_abs"], stats["max_rel"]))

    def add_error(self, spec, error):
        self.rows.append((spec["name"], spec["fw"],
                          f"ERROR {spec['argument']}: "
                          f"{error['type'] or 'NOT RAISED'}", None, None))

    def check(self):
        missing = [k for k, hit in self.regions.items() if not hit]
        if missing:
            raise SystemExit(f"PRE-ACTIVATION COVERAGE MISSING: {missing}")
        unkilled = [m for m in MUST_KILL if m not in self.kills]
        if unkilled:
            raise SystemExit(f"MUTANTS NOT CAUGHT BY ANY CASE: {unkilled}")


def forward_notes(spec, data):
    notes = [spec["notes"]] if spec["notes"] else []
    fw, act = spec["fw"], spec["act"]
    if data["transposed"]:
        notes.append("tf-keras cannot run channels_first depthwise on CPU: "
                     "computed by a channels_last layer with the same weights "
                     "on the transposed input, output transposed back.")
    if fw == "tf_keras" and act == "hard_sigmoid":
        notes.append("tf.keras hard_sigmoid clip(0.2x+0.5,0,1), written as "
                     "hard_sigmoid_tf_keras.")
    if (fw == "keras" and act in K3_ALIAS_WRITTEN) or \
            (fw == "tf_keras" and act in TK_ALIAS_WRITTEN):
        notes.append("config.json keeps the alias the layer was built with; "
                     "get_config wrote the canonical name.")
    return " ".join(notes)


def generate_case(fwx, spec, rng, case_dir, tally):
    """Run one case, check it, write its folder; return its manifest entry."""
    fw_name, fw_ver, be, be_ver = fwx.info[spec["fw"]]
    entry = {"name": spec["name"], "kind": spec["kind"],
             "framework": fw_name, "framework_version": fw_ver,
             "backend": be, "backend_version": be_ver}
    case_dir.mkdir()
    if spec["kind"] == "forward":
        data = run_forward(fwx, spec, rng)
        tally.add_forward(spec, data, check_forward(spec, data))
        for nm, key in (("input", "x"), ("depthwise", "dw"),
                        ("pointwise", "pw"), ("bias", "bias"),
                        ("output", "y")):
            if data[key] is not None:
                save_npy(case_dir / f"{nm}.npy", data[key])
        cfg = data["cfg"]
        entry["input_shape"] = list(data["x"].shape)
        entry["notes"] = forward_notes(spec, data)
    else:
        cfg, error, note = run_error(fwx, spec)
        tally.add_error(spec, error)
        entry["input_shape"] = list(spec["input_shape"])
        entry["notes"] = note
        entry["error"] = error
    with open(case_dir / "config.json", "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    return entry


def keras3_causal_message(fwx):
    try:
        fwx.keras.layers.SeparableConv1D(4, 3, padding="causal")
    except Exception as e:  # noqa: BLE001 - recorded as is
        return f"{type(e).__name__}: {ANSI.sub('', str(e))}"
    raise SystemExit("Keras 3 SeparableConv1D accepted padding='causal': "
                     "update the generator and docs/semantics.md")


def write_manifest(out, args, fwx, cases):
    np = _np()
    created = datetime.date.today().isoformat()
    k3, tk = fwx.info["keras"], fwx.info["tf_keras"]
    versions = {"python": sys.version.split()[0], "numpy": np.__version__,
                "keras": k3[1], "jax": k3[3], "tf_keras": tk[1],
                "tensorflow": tk[3]}
    manifest = {
        "generator": "tools/gen_keras_golden.py",
        "seed": args.seed,
        "created": created,
        "versions": versions,
        "notes": [
            "Keras 3 SeparableConv1D rejects padding='causal' (all causal "
            "cases come from tf-keras): " + keras3_causal_message(fwx),
            "tf-keras channels_first cases are computed transposed (TF CPU "
            "has no NCHW depthwise convolution); see each case's notes.",
            "Error cases with error.keras_raised=false: Keras accepted the "
            "input but sepconv must reject it (see their notes).",
            "Messages that list a Python set (the padding error) depend on "
            "the hash seed; the generator runs with PYTHONHASHSEED=0.",
        ],
        "cases": cases,
    }
    with open(out / "manifest.json", "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return created, versions


def print_summary(tally, cases, counts, reread_rel, size):
    print(f"{'case':<34} {'framework':<8} {'config':<62} "
          f"{'max|diff|':>10} {'max rel':>9}")
    for name, fw, summ, mabs, mrel in tally.rows:
        tail = "" if mabs is None else f"{mabs:10.3g} {mrel:9.2g}"
        print(f"{name:<34} {fw:<8} {summ:<62} {tail}")
    print("\nmutants caught (count of cases):")
    for m in MUST_KILL:
        print(f"  {m:<42} {len(tally.kills[m])}")
    print("\nerror cases:")
    for c in cases:
        if c["kind"] == "error":
            e = c["error"]
            print(f"  {c['name']}: {e['type']} [{e['stage']}] "
                  f"{(e['message'] or '(not raised)')[:150]!r}")
    print(f"\n{len(cases)} cases {counts}; max rel diff {tally.max_rel:.3g} "
          f"(re-read from disk, full-kernel form: {reread_rel:.3g}); "
          f"total size {size} bytes")


# --------------------------------------------------------------------------
# Golden gradients (issue 17): d sum(output * G) / d (input, weights)
# --------------------------------------------------------------------------
#
# Written under <out>/gradients/ (its own manifest.json and README.md; a
# forward-only rerun leaves it alone, `--gradients-only` regenerates it
# alone).  Each case runs the real layer (Keras 3 on JAX with jax.grad through
# the layer's own __call__, so a dtype policy autocasts as in training; or
# tf-keras with tf.GradientTape for causal padding) on seeded random data and
# records the gradient of loss = sum(float32(output) * G), G seeded random
# weights of the output's shape: grad_output.npy is G (= dLoss/dy), and
# grad_input / grad_depthwise / grad_pointwise / grad_bias are what the
# framework's autodiff returned, in Keras's layouts.

GRADIENTS_SUBDIR = "gradients"
GRAD_SEED_OFFSET = 1000  # case i draws from default_rng([seed, 1000 + i])
GRAD_FD_DIRECTIONS = 3


def grad(fw, act, pad, fmt, B, L, C, M, F, k, s=1, d=1, bias=True,
         policy="float32", notes=""):
    spec = fwd(fw, act, pad, fmt, B, L, C, M, F, k, s, d, bias, notes=notes)
    spec.update(kind="gradient", policy=policy)
    return spec


def gradient_specs():
    """At least 30 tiny cases covering every option of the layer."""
    K, T = "keras", "tf_keras"
    # Every Keras 3 activation once, the geometry varied along the list.
    PADS = ["valid", "same"]
    SD = [(1, 1), (2, 1), (1, 2), (3, 1), (1, 3), (1, 1)]
    KS = [3, 2, 4, 1, 5, 3, 2]
    MS = [1, 2, 3]
    CS = [2, 3, 1]
    FS = [3, 4, 2, 5]
    specs = []
    for n, act in enumerate(K3_ACTIVATIONS):
        fmt = "cl" if n % 2 == 0 else "cf"
        pad = PADS[(n // 2) % 2]
        s, d = SD[n % len(SD)]
        k = KS[n % len(KS)]
        M, C, F = MS[n % 3], CS[(n // 3) % 3], FS[n % 4]
        B = 1 + n % 2
        L = 7 + n % 5
        if act in ("softmax", "log_softmax"):
            F = max(F, 3)
            L = max(L, 3 * s + d * (k - 1) + 1)
        if pad == "valid":
            L = max(L, d * (k - 1) + 1 + s)
        specs.append(grad(K, act, pad, fmt, B, L, C, M, F, k, s, d,
                          bias=n % 4 != 3))
    specs += [
        # tf-keras: causal padding (Keras 3 rejects it) and its hard_sigmoid.
        grad(T, "relu", "causal", "cl", 2, 8, 3, 1, 4, 3),
        grad(T, "tanh", "causal", "cf", 1, 9, 2, 2, 3, 3, d=2),
        grad(T, "linear", "causal", "cl", 1, 9, 2, 1, 2, 4, s=2, bias=False),
        grad(T, "gelu", "causal", "cl", 2, 7, 1, 3, 3, 2, d=3),
        grad(T, "hard_sigmoid", "causal", "cl", 1, 10, 3, 2, 3, 5),
        grad(T, "softmax", "causal", "cl", 1, 6, 2, 1, 4, 3),
        grad(T, "selu", "causal", "cf", 2, 5, 3, 1, 2, 3, s=3, bias=False),
        grad(T, "sigmoid", "causal", "cl", 1, 4, 2, 2, 3, 6,
             notes="causal with L < kernel_size"),
        # Keras 3 mixed precision: float16 compute, float32 variables.
        grad(K, "tanh", "same", "cl", 2, 8, 3, 2, 4, 3,
             policy="mixed_float16"),
        grad(K, "gelu", "valid", "cf", 1, 10, 2, 1, 3, 3, s=2,
             policy="mixed_float16"),
        grad(K, "linear", "same", "cf", 2, 6, 3, 3, 2, 2, d=2, bias=False,
             policy="mixed_float16"),
        grad(K, "sigmoid", "valid", "cl", 1, 9, 2, 2, 5, 4, d=2,
             policy="float16", notes="float16 policy: float16 variables"),
    ]
    return specs


def check_gradient_coverage(specs):
    problems = []

    def need(label, have, want):
        missing = set(want) - set(have)
        if missing:
            problems.append(f"{label}: missing {sorted(missing, key=str)}")

    need("padding", {s["pad"] for s in specs}, ["valid", "same", "causal"])
    need("strides", {s["s"] for s in specs}, [1, 2, 3])
    need("dilation", {s["d"] for s in specs}, [1, 2, 3])
    need("depth_multiplier", {s["M"] for s in specs}, [1, 2, 3])
    need("data_format", {s["fmt"] for s in specs},
         ["channels_last", "channels_first"])
    need("use_bias", {s["bias"] for s in specs}, [True, False])
    need("policy", {s["policy"] for s in specs},
         ["float32", "mixed_float16", "float16"])
    need("activations",
         {sepconv_act_name(s["fw"], s["act"]) for s in specs},
         {sepconv_act_name("keras", a) for a in K3_ACTIVATIONS}
         | {"hard_sigmoid_tf_keras"})
    for p in ("valid", "same", "causal"):
        need(f"{p} formats", {s["fmt"] for s in specs if s["pad"] == p},
             ["channels_last", "channels_first"])
    if len(specs) < 30:
        problems.append(f"only {len(specs)} cases")
    if problems:
        raise SystemExit("GRADIENT COVERAGE PROBLEMS:\n  " +
                         "\n  ".join(problems))


def grad_case_name(i, spec):
    fw = "k3" if spec["fw"] == "keras" else "tk"
    act = "none" if spec["act"] is None else \
        sepconv_act_name(spec["fw"], spec["act"])
    fmt = "cl" if spec["fmt"] == "channels_last" else "cf"
    pol = "" if spec["policy"] == "float32" else "_" + spec["policy"]
    return f"g{i:02d}_{fw}_{spec['pad']}_{fmt}_{act}{pol}"


def grad_storage(spec):
    """numpy dtype of x, the weights' files and G: float16 under a float16
    compute policy (the values the layer computes with), else float32."""
    return "float16" if spec["policy"] in ("mixed_float16", "float16") \
        else "float32"


def kink_margin(act, z, S, storage):
    """Smallest distance of a pre-activation to a breakpoint of `act`
    (derivative jumps), relative to the magnitude of its terms."""
    np = _np()
    pts = BREAKPOINTS.get(act, [])
    if not pts or z.size == 0:
        return math.inf
    rel = min(float((np.abs(z - p) / (S + 1e-30)).min()) for p in pts)
    return rel


def make_gradient_data(spec, rng):
    """x (case layout), weights and G, drawn until no pre-activation lies
    within rounding distance of a derivative jump (so that float32 Keras and
    the float64 reference take the derivative on the same side)."""
    np = _np()
    storage = grad_storage(spec)
    need = 2e-2 if storage == "float16" else 1e-4
    act = sepconv_act_name(spec["fw"], spec["act"])
    for _ in range(100):
        x_cl, dw, pw, bias = make_data(spec, rng)
        x_cl, dw, pw = (a.astype(storage).astype(np.float32)
                        for a in (x_cl, dw, pw))
        if bias is not None:
            bias = bias.astype(storage).astype(np.float32)
        f64 = lambda a: None if a is None else a.astype(np.float64)
        z, S = ref_preactivation(f64(x_cl), f64(dw), f64(pw), f64(bias),
                                 spec["k"], spec["s"], spec["d"], spec["pad"])
        if kink_margin(act, z, S, storage) > need:
            break
    else:
        raise SystemExit(f"{spec['name']}: no draw keeps the pre-activations "
                         f"away from the breakpoints of {act}")
    z_case = to_format(z, spec["fmt"])
    G = draw_nonzero(rng, z_case.shape).astype(storage).astype(np.float32)
    return x_cl, dw, pw, bias, G


def keras3_gradients(fwx, spec, x_in, dw, pw, bias, G):
    """Keras 3 (JAX): jax.grad through layer(x) with the trainable variables
    bound by a StatelessScope (the layer's __call__ autocasts them to its
    compute dtype, as in training)."""
    np = _np()
    import jax
    import jax.numpy as jnp
    keras = fwx.keras
    layer = keras.layers.SeparableConv1D(
        filters=spec["F"], kernel_size=spec["k"], strides=spec["s"],
        padding=spec["pad"], data_format=spec["fmt"],
        dilation_rate=spec["d"], depth_multiplier=spec["M"],
        activation=spec["act"], use_bias=spec["bias"], name=spec["name"],
        dtype=spec["policy"])
    layer.build(x_in.shape)
    variables = list(layer.trainable_variables)
    names = [v.path.split("/")[-1] for v in variables]
    want = ["depthwise_kernel", "pointwise_kernel"] + \
        (["bias"] if spec["bias"] else [])
    assert names == want, (spec["name"], names)
    layer.set_weights([dw, pw] + ([bias] if bias is not None else []))
    g32 = jnp.asarray(G, jnp.float32)

    def loss(values, x):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            y = layer(x)
        return jnp.sum(y.astype(jnp.float32) * g32), y

    values = [v.value for v in variables]
    x_dtype = "float16" if spec["policy"] != "float32" else "float32"
    (_, y), (g_w, g_x) = jax.value_and_grad(
        loss, argnums=(0, 1), has_aux=True)(values, jnp.asarray(x_in, x_dtype))
    grads = [np.asarray(g) for g in g_w]
    return (np.asarray(y), np.asarray(g_x), grads[0], grads[1],
            grads[2] if spec["bias"] else None, layer.get_config())


def tf_keras_gradients(fwx, spec, x_in, dw, pw, bias, G, transposed):
    """tf-keras: tf.GradientTape (channels_first runs transposed, as the
    forward cases do: TensorFlow's CPU has no NCHW depthwise convolution)."""
    np = _np()
    import tensorflow as tf
    layer = fwx.tf_keras.layers.SeparableConv1D(
        filters=spec["F"], kernel_size=spec["k"], strides=spec["s"],
        padding=spec["pad"],
        data_format="channels_last" if transposed else spec["fmt"],
        dilation_rate=spec["d"], depth_multiplier=spec["M"],
        activation=spec["act"], use_bias=spec["bias"], name=spec["name"])
    layer.build(x_in.shape)
    layer.set_weights([dw, pw] + ([bias] if bias is not None else []))
    x = tf.constant(x_in)
    weights = [layer.depthwise_kernel, layer.pointwise_kernel] + \
        ([layer.bias] if spec["bias"] else [])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * tf.constant(G))
    g = [np.asarray(t) for t in tape.gradient(loss, [x] + weights)]
    return (np.asarray(y), g[0], g[1], g[2], g[3] if spec["bias"] else None,
            layer.get_config())


def fd_loss(spec, act, x_cl, dw, pw, bias, G_case):
    """loss = sum(act(z) * G) in float64 with the NumPy reference forward."""
    np = _np()
    z, _ = ref_preactivation(x_cl, dw, pw, bias, spec["k"], spec["s"],
                             spec["d"], spec["pad"])
    return float(np.sum(ref_activation(act, to_format(z, spec["fmt"]))
                        * G_case))


def check_gradients_fd(spec, rng, x_cl, dw, pw, bias, G_case, g):
    """Keras's gradients against central differences of the float64 NumPy
    forward along random directions: catches a wrong layout, sign or
    formula (the C++ test then holds the reference to the bound)."""
    np = _np()
    act = sepconv_act_name(spec["fw"], spec["act"])
    f64 = lambda a: None if a is None else a.astype(np.float64)
    base = [f64(x_cl), f64(dw), f64(pw), f64(bias)]
    grads = [g["x_cl"], g["dw"], g["pw"], g["bias"]]
    rtol = 2e-2 if grad_storage(spec) == "float16" else 1e-4
    worst = 0.0
    for t, name in enumerate(("input", "depthwise", "pointwise", "bias")):
        if base[t] is None:
            continue
        for _ in range(GRAD_FD_DIRECTIONS):
            v = rng.standard_normal(base[t].shape)
            h = 1e-6 * max(1.0, float(np.abs(base[t]).max()))
            plus, minus = list(base), list(base)
            plus[t] = base[t] + h * v
            minus[t] = base[t] - h * v
            fd = (fd_loss(spec, act, *plus, G_case) -
                  fd_loss(spec, act, *minus, G_case)) / (2 * h)
            got = float(np.sum(grads[t].astype(np.float64) * v))
            scale = float(np.sum(np.abs(grads[t].astype(np.float64) * v)))
            rel = abs(fd - got) / (scale + 1e-12)
            worst = max(worst, rel)
            if rel > rtol:
                raise SystemExit(
                    f"KERAS GRADIENT DISAGREES WITH FINITE DIFFERENCES in "
                    f"{spec['name']} ({name}): directional derivative "
                    f"{got!r} vs {fd!r} (relative {rel:.3g} > {rtol})")
    return worst


def save_npy_as(path, arr, dtype):
    np = _np()
    np.save(path, np.ascontiguousarray(arr, dtype="<f2" if dtype == "float16"
                                       else "<f4"), allow_pickle=False)


def generate_gradient_case(fwx, spec, rng, case_dir):
    np = _np()
    fw_name, fw_ver, be, be_ver = fwx.info[spec["fw"]]
    storage = grad_storage(spec)
    x_cl, dw, pw, bias, G = make_gradient_data(spec, rng)
    fmt = spec["fmt"]
    transposed = spec["fw"] == "tf_keras" and fmt == "channels_first"
    x_case = np.ascontiguousarray(to_format(x_cl, fmt))
    if spec["fw"] == "keras":
        y, gx, gdw, gpw, gb, cfg = keras3_gradients(fwx, spec, x_case, dw, pw,
                                                    bias, G)
    else:
        x_in = x_cl if transposed else x_case
        G_in = G.transpose(0, 2, 1) if transposed else G
        y, gx, gdw, gpw, gb, cfg = tf_keras_gradients(
            fwx, spec, np.ascontiguousarray(x_in), dw, pw, bias,
            np.ascontiguousarray(G_in), transposed)
        if transposed:
            y, gx = y.transpose(0, 2, 1), gx.transpose(0, 2, 1)
    cfg = config_for(spec, cfg, spec["fw"])
    if y.shape != G.shape or gx.shape != x_case.shape or \
            gdw.shape != dw.shape or gpw.shape != pw.shape or \
            (gb is not None and gb.shape != bias.shape):
        raise SystemExit(f"{spec['name']}: gradient shapes {gx.shape} "
                         f"{gdw.shape} {gpw.shape} do not match")
    # Mixed precision keeps float32 variables: their gradients are float32;
    # the input gradient has the compute dtype.
    if str(gx.dtype) != storage or any(
            str(a.dtype) != ("float16" if spec["policy"] == "float16"
                             else "float32")
            for a in (gdw, gpw) + ((gb,) if gb is not None else ())):
        raise SystemExit(f"{spec['name']}: unexpected gradient dtypes "
                         f"{gx.dtype} {gdw.dtype} {gpw.dtype}")
    gx_cl = gx if fmt == "channels_last" else gx.transpose(0, 2, 1)
    worst = check_gradients_fd(spec, rng, x_cl, dw, pw, bias, G,
                               dict(x_cl=gx_cl, dw=gdw, pw=gpw, bias=gb))
    case_dir.mkdir()
    files = [("input", x_case, storage), ("depthwise", dw, storage),
             ("pointwise", pw, storage), ("bias", bias, storage),
             ("grad_output", G, storage), ("grad_input", gx, storage),
             ("grad_depthwise", gdw, "float32"),
             ("grad_pointwise", gpw, "float32"), ("grad_bias", gb, "float32")]
    for nm, arr, dt in files:
        if arr is not None:
            save_npy_as(case_dir / f"{nm}.npy", arr, dt)
    with open(case_dir / "config.json", "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    notes = [spec["notes"]] if spec["notes"] else []
    if transposed:
        notes.append("computed transposed by a channels_last tf-keras layer "
                     "(TensorFlow's CPU has no NCHW depthwise convolution).")
    if spec["policy"] == "mixed_float16":
        notes.append("mixed_float16: float16 compute, float32 variables; the "
                     "weights are float16 values (stored as '<f2'), their "
                     "gradients float32.")
    if spec["policy"] == "float16":
        notes.append("float16 policy: float16 variables; Keras's float16 "
                     "weight gradients are stored as float32 (exact).")
    entry = {"name": spec["name"], "kind": "gradient",
             "framework": fw_name, "framework_version": fw_ver,
             "backend": be, "backend_version": be_ver,
             "policy": spec["policy"], "dtype": storage,
             "input_shape": list(x_case.shape),
             "output_shape": list(G.shape), "notes": " ".join(notes)}
    return entry, worst


GRADIENTS_README = """\
# Golden gradients: real Keras SeparableConv1D, backward

Generated by `tools/gen_keras_golden.py` (`--gradients-only` regenerates only
this folder) -- do not edit by hand.  Versions and seed: `manifest.json`.

{n} cases; each case folder holds the layer's `config.json`, the tensors it
ran on -- `input.npy` (case layout), `depthwise.npy` `(k, C, M)`,
`pointwise.npy` `(1, C*M, F)`, `bias.npy` `(F,)` (only with use_bias) -- and
`grad_output.npy` G (the output's shape), then what the framework's autodiff
returned for loss = sum(float32(output) * G), i.e. for dLoss/dy = G:
`grad_input.npy` (the input's shape), `grad_depthwise.npy`,
`grad_pointwise.npy`, `grad_bias.npy` (Keras's weight layouts).

* dtypes: everything `<f4`, except under a float16 compute policy
  (`mixed_float16`, `float16`; the manifest's `policy`): `input`, the
  weights, `grad_output` and `grad_input` are `<f2`; the weight gradients are
  always `<f4` (mixed precision keeps float32 variables, so their gradients
  are float32; under the `float16` policy Keras's float16 weight gradients
  are stored exactly as float32).
* Keras 3 cases (JAX): `jax.grad` through the layer's own `__call__` (the
  dtype policy autocasts as in training).  tf-keras cases (causal padding,
  its hard_sigmoid): `tf.GradientTape`; channels_first ones run transposed
  (see their notes), like the forward cases.
* Pre-activations are kept at least 1e-4 (float32) / 2e-2 (float16) of their
  terms' absolute sum away from every breakpoint of the activation, so that
  the float64 reference takes the derivative on the same side.
* Every case was checked against central differences of an independent
  float64 NumPy forward along {d} random directions per tensor (largest
  relative difference {worst:.2e}; bound 1e-4, 2e-2 for float16 policies).
"""


def generate_gradients(fwx, args, out):
    np = _np()
    specs = gradient_specs()
    check_gradient_coverage(specs)
    for i, spec in enumerate(specs):
        spec["name"] = grad_case_name(i, spec)
    gdir = out / GRADIENTS_SUBDIR
    if gdir.exists():
        shutil.rmtree(gdir)
    gdir.mkdir(parents=True)
    cases, worst = [], 0.0
    for i, spec in enumerate(specs):
        rng = np.random.default_rng([args.seed, GRAD_SEED_OFFSET + i])
        entry, w = generate_gradient_case(fwx, spec, rng, gdir / spec["name"])
        cases.append(entry)
        worst = max(worst, w)
        print(f"{spec['name']:<40} {summarize(spec)}  fd {w:.2e}")
    k3, tk = fwx.info["keras"], fwx.info["tf_keras"]
    manifest = {
        "generator": "tools/gen_keras_golden.py",
        "seed": args.seed,
        "created": datetime.date.today().isoformat(),
        "versions": {"python": sys.version.split()[0],
                     "numpy": np.__version__, "keras": k3[1], "jax": k3[3],
                     "tf_keras": tk[1], "tensorflow": tk[3]},
        "loss": "sum(float32(output) * grad_output)",
        "cases": cases,
    }
    with open(gdir / "manifest.json", "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    (gdir / "README.md").write_text(GRADIENTS_README.format(
        n=len(cases), d=GRAD_FD_DIRECTIONS, worst=worst))
    print(f"\n{len(cases)} gradient cases; finite differences: worst relative "
          f"{worst:.3g}; size {dir_size(gdir)} bytes")


def main(args):
    np = _np()
    fwx = Frameworks()
    out = args.out.resolve()
    if args.gradients_only:
        generate_gradients(fwx, args, out)
        return
    fwd_specs = (group_a_k3_activations() + group_b_k3_geometry()
                 + group_c_tf_keras())
    check_coverage(fwd_specs)
    specs = fwd_specs + error_cases()
    for i, spec in enumerate(specs):
        spec["name"] = case_name(i, spec)

    clean_out(out)
    tally = Tally()
    cases = [generate_case(fwx, spec, np.random.default_rng([args.seed, i]),
                           out / spec["name"], tally)
             for i, spec in enumerate(specs)]
    tally.check()

    created, versions = write_manifest(out, args, fwx, cases)
    counts = {}
    for c in cases:
        key = f"{c['kind']}/{c['framework']}"
        counts[key] = counts.get(key, 0) + 1
    write_readme(out, args.seed, created, versions, counts, len(cases),
                 tally.max_rel)
    reread_rel = verify_written(out)
    size = dir_size(out)
    print_summary(tally, cases, counts, reread_rel, size)
    if size > SIZE_LIMIT_BYTES:
        raise SystemExit(f"golden data too large: {size} bytes")
    generate_gradients(fwx, args, out)


# --------------------------------------------------------------------------
# Keras model files (tests/data/keras_models): run with --models
# --------------------------------------------------------------------------
#
# Two small models, each saved in the formats its framework writes, with
# several SeparableConv1D layers and other layers (with weights) between them:
#
# * k3_model (Keras 3, jax): a functional model with two nested Sequentials
#   ("block" and "tail", both holding a layer named "sep": a name that is
#   ambiguous alone), a channels_first layer between Permutes, a float16
#   layer, a mixed_bfloat16 layer without bias and a bfloat16 layer (Keras
#   stores its variables as 2-byte opaque data with a dtype attribute).
#   Saved as k3_model.keras (zip: config.json + model.weights.h5) and
#   k3_model.weights.h5 (weights only).
# * tk_model (tf-keras 2.x, TensorFlow): causal padding with dilation and
#   depth multiplier 3, BatchNormalization, a nested Sequential with strides
#   and a layer without bias, and a mixed_float16 layer.  Saved as the legacy
#   full-model tk_model.h5 (model_config attribute) and the legacy
#   weights-only tk_model_weights.h5 (save_weights).
#
# Beside them: each model's to_json() (<model>.json) and a few layers'
# get_config() (<model>.layer.<name>.json), the configs weights-only files
# need.  For every SeparableConv1D layer a random input of the layer's input
# shape and the layer's own output in Keras (layer(x): the dtype policy casts
# as Keras does) under <model>/<path with / as __>.{input,output}.npy: float32
# files, float16 ('<f2') for a float16 compute dtype; bfloat16 inputs are
# float32 files holding bfloat16 values.  Weights are random (never Keras's
# initializers), biases non-zero.  Each output is checked against the float64
# formula (docs/semantics.md) within a bound for the compute dtype, and every
# file is loaded back by its framework and compared with the weights set.

MODELS_SIZE_LIMIT_BYTES = 400 * 1024
MODEL_BATCH = 2


def _unit_roundoff(compute_dtype):
    return {"float32": 2.0 ** -24, "float16": 2.0 ** -11,
            "bfloat16": 2.0 ** -8}[compute_dtype]


def _policy_compute_dtype(layer):
    dt = layer.dtype_policy
    name = dt.compute_dtype if hasattr(dt, "compute_dtype") else dt.name
    return str(name)


def _random_weights(rng, layer):
    """Random non-zero weights for any layer (biases included)."""
    np = _np()
    out = []
    for w in layer.get_weights():
        fan = max(1, int(np.prod(w.shape[:-1])))
        v = draw_nonzero(rng, w.shape) / np.sqrt(fan)
        if "variance" in str(w.dtype) or (w.ndim == 1 and np.all(w == 1)):
            v = np.abs(v) + 0.5  # scales / variances stay positive
        out.append(v.astype(w.dtype))
    return out


def _set_random_weights(rng, model):
    for _, layer in _all_layers(model):
        if layer.get_weights() and not hasattr(layer, "layers"):
            layer.set_weights(_random_weights(rng, layer))


def _all_layers(model, prefix=""):
    """(path, layer) of every layer, nested models' layers included."""
    out = []
    for layer in model.layers:
        path = prefix + layer.name
        out.append((path, layer))
        if hasattr(layer, "layers"):
            out += _all_layers(layer, path + "/")
    return out


def _sepconv_layers(model):
    return [(p, l) for p, l in _all_layers(model)
            if type(l).__name__ == "SeparableConv1D"]


def build_k3_model(keras):
    L = keras.layers
    inp = keras.Input((19, 5), name="x")
    h = L.SeparableConv1D(6, 3, padding="same", depth_multiplier=2,
                          activation="relu", name="sep_a")(inp)
    h = L.Dense(7, name="dense")(h)
    block = keras.Sequential([
        keras.Input((19, 7)),
        L.SeparableConv1D(8, 5, dilation_rate=2, activation="tanh",
                          name="sep"),
        L.LayerNormalization(name="norm"),
        L.Permute((2, 1), name="to_cf"),
        L.SeparableConv1D(4, 3, strides=2, padding="same",
                          data_format="channels_first", name="sep_cf"),
        L.Permute((2, 1), name="to_cl"),
    ], name="block")
    h = block(h)
    h = L.SeparableConv1D(5, 3, dtype="float16", name="sep_h")(h)
    tail = keras.Sequential([
        keras.Input((4, 5)),
        L.SeparableConv1D(3, 2, depth_multiplier=2, use_bias=False,
                          dtype="mixed_bfloat16", name="sep"),
    ], name="tail")
    h = tail(h)
    h = L.SeparableConv1D(4, 2, dtype="bfloat16", activation="relu",
                          name="sep_bf")(h)
    return keras.Model(inp, h, name="k3_model")


def build_tk_model(tk):
    L = tk.layers
    inp = tk.Input((17, 4), name="x")
    h = L.SeparableConv1D(6, 4, padding="causal", dilation_rate=2,
                          depth_multiplier=3, activation="elu",
                          name="causal")(inp)
    h = L.BatchNormalization(name="bn")(h)
    stage = tk.Sequential([
        tk.Input((17, 6)),
        L.SeparableConv1D(5, 3, strides=2, padding="same",
                          activation="relu", name="sep_s"),
        L.Dropout(0.25, name="drop"),
        L.SeparableConv1D(5, 1, use_bias=False, name="sep_t"),
    ], name="stage")
    h = stage(h)
    h = L.SeparableConv1D(4, 3, dtype="mixed_float16", name="half")(h)
    return tk.Model(inp, h, name="tk_model")


def _layer_input(rng, layer, compute_dtype):
    """A random input of the layer's input shape, in its compute dtype's
    file type: float16 values for float16, float32 holding bfloat16 values
    for bfloat16, float32 otherwise."""
    np = _np()
    shape = (MODEL_BATCH,) + tuple(int(d) for d in layer.input.shape[1:])
    x = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    if compute_dtype == "float16":
        return x.astype(np.float16)
    if compute_dtype == "bfloat16":
        import ml_dtypes
        return x.astype(ml_dtypes.bfloat16).astype(np.float32)
    return x


def _check_layer_output(path, layer, x, y, compute_dtype):
    """Keras's output against the float64 formula, within 2*n*u*S plus the
    output's own rounding (u of the compute dtype)."""
    np = _np()
    cfg = layer.get_config()
    w = [np.asarray(v, dtype=np.float64) for v in layer.get_weights()]
    u = _unit_roundoff(compute_dtype)
    if compute_dtype != "float32":  # Keras casts the variables
        import ml_dtypes
        t = np.float16 if compute_dtype == "float16" else ml_dtypes.bfloat16
        w = [v.astype(t).astype(np.float64) for v in w]
    dw, pw = w[0], w[1]
    bias = w[2] if cfg["use_bias"] else None
    cl = cfg["data_format"] == "channels_last"
    x64 = np.asarray(x, dtype=np.float64)
    x_cl = x64 if cl else x64.transpose(0, 2, 1)
    z, S = ref_preactivation(x_cl, dw, pw, bias, cfg["kernel_size"][0],
                             cfg["strides"][0], cfg["dilation_rate"][0],
                             cfg["padding"])
    act = cfg["activation"]
    y_ref = to_format(ref_activation(act, z), cfg["data_format"])
    n = dw.shape[0] + dw.shape[1] * dw.shape[2]
    e = to_format(2.0 * n * u * S, cfg["data_format"])
    lip = LIPSCHITZ.get(act, 1.0)
    tol = lip * e + 2.0 * u * np.abs(y_ref) + 1e-7
    got = np.asarray(y, dtype=np.float64)
    if got.shape != y_ref.shape:
        raise SystemExit(f"{path}: Keras output shape {got.shape}, the "
                         f"formula's {y_ref.shape}")
    bad = np.abs(got - y_ref) > tol
    if bad.any():
        raise SystemExit(f"{path}: Keras's output differs from the float64 "
                         f"formula beyond the {compute_dtype} bound at "
                         f"{int(bad.sum())} elements")
    return float((np.abs(got - y_ref) / tol).max()) if got.size else 0.0


def _layer_file_stem(path):
    return path.replace("/", "__")


def _write_layer_data(rng, model, out, model_name, framework):
    np = _np()
    folder = out / model_name
    folder.mkdir()
    layers = []
    for path, layer in _sepconv_layers(model):
        compute = _policy_compute_dtype(layer)
        x = _layer_input(rng, layer, compute)
        y = np.asarray(layer(x))
        ratio = _check_layer_output(path, layer, x, y, compute)
        stem = _layer_file_stem(path)
        if compute == "float16":
            np.save(folder / f"{stem}.input.npy", np.ascontiguousarray(x, "<f2"))
            np.save(folder / f"{stem}.output.npy", np.ascontiguousarray(y, "<f2"))
        else:
            save_npy(folder / f"{stem}.input.npy", x)
            save_npy(folder / f"{stem}.output.npy",
                     np.asarray(y.astype(np.float32)))
        cfg = layer.get_config()
        policy = cfg["dtype"]
        policy = policy["config"]["name"] if isinstance(policy, dict) else policy
        dw = layer.get_weights()[0]
        layers.append({
            "path": path, "name": layer.name,
            "in_channels": int(dw.shape[1]),
            "filters": int(cfg["filters"]),
            "kernel_size": int(cfg["kernel_size"][0]),
            "data_format": cfg["data_format"],
            "use_bias": bool(cfg["use_bias"]),
            "dtype_policy": policy, "compute_dtype": compute,
            "input": f"{model_name}/{stem}.input.npy",
            "output": f"{model_name}/{stem}.output.npy",
            "worst_ratio_to_bound": round(ratio, 4),
        })
        print(f"[models] {framework} {model_name} {path}: {policy}, "
              f"x {tuple(x.shape)} -> y {tuple(y.shape)}, "
              f"worst |keras - formula| / bound {ratio:.3f}")
    return layers


def _other_layers(model):
    return [{"path": p, "class_name": type(l).__name__}
            for p, l in _all_layers(model)
            if type(l).__name__ != "SeparableConv1D"]


def _check_reload(path_of, loaded, model):
    """A file loaded back by its framework has the weights set."""
    np = _np()
    want = dict(_all_layers(model))
    for p, l in _all_layers(loaded):
        for a, b in zip(l.get_weights(), want[p].get_weights()):
            if not np.array_equal(np.asarray(a), np.asarray(b)):
                raise SystemExit(f"{path_of}: {p} reloads with other weights")


def _json_dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def _k3_model_files(fwx, rng, out):
    keras = fwx.keras
    model = build_k3_model(keras)
    _set_random_weights(rng, model)
    name = "k3_model"
    layers = _write_layer_data(rng, model, out, name, "keras")
    model.save(out / f"{name}.keras")
    model.save_weights(out / f"{name}.weights.h5")
    _json_dump(out / f"{name}.json", json.loads(model.to_json()))
    configs = {}
    for lname, path in (("sep_a", "sep_a"), ("sep", "block/sep")):
        layer = dict(_all_layers(model))[path]
        fn = f"{name}.layer.{lname}.json"
        _json_dump(out / fn, layer.get_config())
        configs[path] = fn
    _check_reload(f"{name}.keras", keras.saving.load_model(out / f"{name}.keras"), model)
    clone = build_k3_model(keras)
    clone.load_weights(out / f"{name}.weights.h5")
    _check_reload(f"{name}.weights.h5", clone, model)
    return {
        "name": name, "framework": "keras",
        "framework_version": fwx.info["keras"][1], "backend": "jax",
        "files": {"keras_archive": f"{name}.keras",
                  "keras_weights": f"{name}.weights.h5"},
        "model_json": f"{name}.json", "layer_json": configs,
        "layers": layers, "other_layers": _other_layers(model),
    }


def _tk_model_files(fwx, rng, out):
    tk = fwx.tf_keras
    model = build_tk_model(tk)
    _set_random_weights(rng, model)
    name = "tk_model"
    layers = _write_layer_data(rng, model, out, name, "tf_keras")
    model.save(out / f"{name}.h5")
    model.save_weights(out / f"{name}_weights.h5")
    _json_dump(out / f"{name}.json", json.loads(model.to_json()))
    configs = {}
    for lname, path in (("sep_s", "stage/sep_s"),):
        layer = dict(_all_layers(model))[path]
        fn = f"{name}.layer.{lname}.json"
        _json_dump(out / fn, layer.get_config())
        configs[path] = fn
    _check_reload(f"{name}.h5", tk.models.load_model(out / f"{name}.h5"), model)
    clone = build_tk_model(tk)
    clone.load_weights(out / f"{name}_weights.h5")
    _check_reload(f"{name}_weights.h5", clone, model)
    return {
        "name": name, "framework": "tf_keras",
        "framework_version": fwx.info["tf_keras"][1],
        "backend": "tensorflow",
        "files": {"legacy_model": f"{name}.h5",
                  "legacy_weights": f"{name}_weights.h5"},
        "model_json": f"{name}.json", "layer_json": configs,
        "layers": layers, "other_layers": _other_layers(model),
    }


def main_models(args):
    """Write tests/data/keras_models (see the section comment above)."""
    fwx = Frameworks()
    out = args.models_out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    np = _np()
    models = [_k3_model_files(fwx, np.random.default_rng([args.seed, 1000]), out),
              _tk_model_files(fwx, np.random.default_rng([args.seed, 1001]), out)]
    k3, tk = fwx.info["keras"], fwx.info["tf_keras"]
    _json_dump(out / "manifest.json", {
        "generator": "tools/gen_keras_golden.py --models",
        "seed": args.seed,
        "versions": {"python": sys.version.split()[0],
                     "numpy": np.__version__, "keras": k3[1], "jax": k3[3],
                     "tf_keras": tk[1], "tensorflow": tk[3]},
        "batch": MODEL_BATCH,
        "models": models,
    })
    size = dir_size(out)
    print(f"[models] {sum(len(m['layers']) for m in models)} layers in "
          f"{len(models)} models, {size} bytes in {out}")
    if size > MODELS_SIZE_LIMIT_BYTES:
        raise SystemExit(f"model files too large: {size} bytes")


if __name__ == "__main__":
    argv = sys.argv[1:]
    ARGS = parse_args(argv)
    if not ARGS.no_venv:
        ensure_venv_and_reexec(ARGS, argv)
    else:
        os.environ.setdefault("KERAS_BACKEND", "jax")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if ARGS.models:
        main_models(ARGS)
    else:
        main(ARGS)
