#!/usr/bin/env python3
"""bench/compare_torch.py exits 0 on the smoke run's JSON, and says why when PyTorch or a CUDA
device is absent (CTest bench_compare_torch_script)."""

import os
import sys
import tempfile

import synthetic as syn


def main():
    args = syn.parse_args()
    script = os.path.join(args.bench_dir, "compare_torch.py")
    checks = syn.Checks()
    try:
        import torch  # noqa: F401
        cuda = torch.cuda.is_available()
        absent = None if cuda else "no CUDA device"
    except ImportError:
        absent = "PyTorch is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        status, out = syn.run(script, "--sepconv", os.path.join(args.smoke, "sepconv.json"),
                              "--out", tmp, "--runs", "3", "--warmup", "1")
        if absent:
            checks.expect(status == 0 and absent in out and "nothing to compare" in out,
                          "exit 0 saying '%s'" % absent, out)
        else:
            checks.expect(status == 0 and os.path.exists(os.path.join(tmp, "torch.json")),
                          "a GPU with PyTorch: the comparison runs and writes torch.json", out)
    return checks.status()


if __name__ == "__main__":
    sys.exit(main())
