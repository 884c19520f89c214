"""Synthetic sepconv_bench and compare_torch results for the scripts' tests: a few rows with
chosen times, so each verdict of regression.py and report.py is known in advance."""

import argparse
import json
import os
import subprocess
import sys

CARD = "Synthetic GPU 80GB"

# (shape, format, mode, stage): (median_us, fraction of the two-kernel floor, PyTorch's median)
ROWS = {
    ("b", "channels_last", "bf16", "depthwise"): (100.0, 0.90, 400.0),   # T1 met, T3 met (4x)
    ("b", "channels_first", "bf16", "depthwise"): (100.0, 0.50, 200.0),  # T1 missed, T3 missed
    ("b", "channels_last", "bf16", "pointwise"): (50.0, 0.70, 49.0),     # T5 met (within 5%)
    ("b", "channels_last", "bf16", "forward"): (150.0, 0.70, 400.0),     # T2 missed, T4 met
    ("a", "channels_last", "tf32", "forward"): (1000.0, 0.90, 900.0),    # T2 met, T6 missed
    ("a", "channels_last", "tf32", "pointwise"): (800.0, 0.95, 700.0),   # T5 missed
}


def sepconv_result(card=CARD, commit="0123456789abcdef", date="2026-01-01T00:00:00Z",
                   scale=None, device_kind="gpu"):
    """sepconv.json data; `scale` maps a row key to a factor on its median."""
    rows = []
    for key, (us, fraction, _) in ROWS.items():
        us *= (scale or {}).get(key, 1.0)
        shape, fmt, mode, stage = key
        rows.append({"shape": shape, "format": fmt, "mode": mode, "stage": stage,
                     "median_us": us, "min_us": us, "max_us": us, "gbs": 1000.0, "tflops": 1.0,
                     "of_two_kernel_floor": fraction * ROWS[key][0] / us,
                     "of_fused_floor": 0.5 if stage == "forward" else None,
                     "outputs_finite": True, "error": None})
    return {"schema": 1, "tool": "sepconv_bench", "device_kind": device_kind,
            "card": {"name": card}, "driver_version": "999.1", "cuda_runtime_version": 13000,
            "cublaslt_version": 130100, "commit": commit, "date": date,
            "settings": {"runs": 20, "warmup": 3, "quick": False},
            "ceilings": {"copy_gbs": 3000.0, "fp32_fma_tflops": 60.0,
                         "gemm_tflops": {"fp32": 50.0, "tf32": 400.0, "fp16": 700.0,
                                         "bf16": 700.0}},
            "shapes": [], "rows": rows}


def torch_result(card=CARD):
    rows = [{"shape": k[0], "format": k[1], "mode": k[2], "stage": k[3], "median_us": v[2],
             "native_median_us": v[2], "error": None} for k, v in ROWS.items()]
    return {"schema": 1, "tool": "compare_torch", "device_kind": "gpu", "card": {"name": card},
            "torch_version": "9.9.9", "rows": rows}


def parse_args():
    """The command line every script test takes (one CTest command for all of them): the bench
    source folder, and the folder `sepconv_bench --quick --out` wrote (bench_smoke)."""
    p = argparse.ArgumentParser()
    p.add_argument("--bench-dir", required=True, help="bench/ of the source tree")
    p.add_argument("--smoke", required=True, help="sepconv_bench --quick's output folder")
    return p.parse_args()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f)
    return path


def run(script, *args):
    """(exit status, stdout and stderr merged) of a bench script under this interpreter."""
    p = subprocess.run([sys.executable, script] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=240)
    return p.returncode, p.stdout


class Checks:
    """Counts failed expectations and prints each; exit status for main()."""

    def __init__(self):
        self.failures = 0

    def expect(self, ok, what, output=""):
        print("%s: %s" % ("ok" if ok else "FAILED", what))
        if not ok:
            self.failures += 1
            print(output)

    def status(self):
        print("%d failed" % self.failures if self.failures else "all checks passed")
        return 1 if self.failures else 0
