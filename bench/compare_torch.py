#!/usr/bin/env python3
"""sepconv against PyTorch: the benchmark's shapes through PyTorch on the same card, same run.

    python3 bench/compare_torch.py --sepconv OUT/bench/sepconv.json --out OUT/bench

The layer is written as a PyTorch user writes it:

  depthwise   F.conv1d(F.pad(x, (left, right)), w_dw, stride=s, dilation=d, groups=C), w_dw of
              shape (C*M, 1, k) (output channel c*M + m reads input channel c, as Keras's q);
              'same' and 'causal' padding by an explicit F.pad with Keras's amounts (counted)
  pointwise   a 1x1 F.conv1d(d, w_pw, bias) on (B, C*M, Lout) data, or F.linear(d, w_pw, bias)
              on (B, Lout, C*M) data for channels_last
  forward     depthwise then pointwise; activation linear (the benchmark's shapes are all linear)

channels_last data is transposed to PyTorch's (B, C, L) layout (`.transpose(1, 2).contiguous()`)
and the depthwise result back to (B, Lout, C*M), and those copies are counted: that is what a
PyTorch user with channels_last data pays. Beside it, `native_us` is the same stage on data that
is already (B, C, L) (the channels_first pipeline): the transpose-free time.

Precision as sepconv's modes: fp32 with torch.backends.cudnn.allow_tf32 and
torch.backends.cuda.matmul.allow_tf32 both off, tf32 with both on, fp16 and bf16 with PyTorch's
defaults. torch.backends.cudnn.benchmark is on (its autotuning happens in the warm-up).

Timing as sepconv_bench: CUDA events around each run, warm-up runs first, the L2 flushed (a
buffer of the L2's size zeroed) before every run, inputs rotated among copies that together
exceed the L2 three times, the timed runs enqueued behind a GPU spin (torch.cuda._sleep) long
enough for the host to enqueue them all, the median of --runs (default 20) runs.

It reads the shapes and the rows (shape x format x mode x stage) from sepconv.json, writes
torch.json beside it (or in --out) and prints a ratio table sepconv / PyTorch last (< 1: sepconv
is faster). It uses the PyTorch installed on the machine and downloads nothing. Where PyTorch or
a CUDA device is absent it says so and exits 0. Exit status: 0 done (or nothing to compare), 1 a
row failed or sepconv.json is unreadable, 2 usage.
"""

import argparse
import datetime
import json
import math
import os
import statistics
import sys
import time
import warnings

MODES = ("fp32", "tf32", "fp16", "bf16")
STAGES = ("depthwise", "pointwise", "forward")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sepconv", required=True, help="sepconv_bench's sepconv.json")
    p.add_argument("--out", help="folder for torch.json (default: sepconv.json's folder)")
    p.add_argument("--runs", type=int, default=20, help="timed runs per row (median reported)")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    p.add_argument("--shapes", help="comma-separated shape names (default: sepconv.json's)")
    p.add_argument("--modes", help="comma-separated modes of " + ",".join(MODES))
    p.add_argument("--stages", help="comma-separated stages of " + ",".join(STAGES))
    p.add_argument("--allow-cpu", action="store_true",
                   help="without a CUDA device, time PyTorch on the CPU (to test this script on "
                        "small shapes; not a comparison)")
    args = p.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        p.error("--runs must be >= 1 and --warmup >= 0")
    return args


def keras_padding(shape):
    """(left, right) zeros of Keras's padding arithmetic (sepconv/config.h `geometry`)."""
    k, s, d, length = shape["kernel"], shape["stride"], shape["dilation"], shape["length"]
    effective = d * (k - 1) + 1
    if shape["padding"] == "valid":
        return 0, 0
    if shape["padding"] == "causal":
        return effective - 1, 0
    out = (length + s - 1) // s
    total = max((out - 1) * s + effective - length, 0)
    return total // 2, total - total // 2


def summarize(us):
    return {"median_us": statistics.median(us), "min_us": min(us), "max_us": max(us),
            "runs": len(us)}


def driver_version():
    try:
        with open("/proc/driver/nvidia/version") as f:
            for word in f.readline().split():
                if word[:1].isdigit() and "." in word and set(word) <= set("0123456789."):
                    return word
    except OSError:
        pass
    return "unknown"


class Bench:
    """Timing on one device, CUDA events and an L2 flush on the GPU, a host clock on the CPU."""

    def __init__(self, torch, device, runs, warmup):
        self.torch, self.device, self.runs, self.warmup = torch, device, runs, warmup
        self.cuda = device == "cuda"
        self.l2_bytes = 0
        self.flush = None
        self.clock_hz = 2e9
        if self.cuda:
            props = torch.cuda.get_device_properties(0)
            self.l2_bytes = int(getattr(props, "L2_cache_size", 0)) or 64 << 20
            self.flush = torch.empty(self.l2_bytes, dtype=torch.uint8, device=device)
            khz = float(getattr(props, "clock_rate", 0) or 0)
            if 1e5 < khz < 1e7:  # a plausible SM clock in kHz
                self.clock_hz = khz * 1e3

    def copies(self, nbytes):
        """Input copies whose total exceeds the L2 three times (1 to 64)."""
        if not self.cuda or nbytes <= 0:
            return 1
        return int(min(64, max(1, math.ceil(3 * self.l2_bytes / nbytes))))

    def time(self, fn, copies):
        """fn(i) for the copy index i, warm-up runs then timed runs; a summary in microseconds."""
        torch = self.torch
        host_s = 250e-6  # host time to enqueue one run: the fastest warm-up run's
        for i in range(self.warmup):
            start = time.perf_counter()
            if self.cuda:
                self.flush.zero_()
            fn(i % copies)
            host_s = min(host_s, time.perf_counter() - start) if i else time.perf_counter() - start
        us = []
        if self.cuda:
            # As sepconv_bench: the timed runs queue behind a spin (2x the host time of a run, per
            # run), so the events measure device time, not host gaps between small runs.
            spin_s = min(max(2 * self.runs * host_s, 0.5e-3), 50e-3)
            starts = [torch.cuda.Event(enable_timing=True) for _ in range(self.runs)]
            ends = [torch.cuda.Event(enable_timing=True) for _ in range(self.runs)]
            torch.cuda._sleep(int(spin_s * self.clock_hz))
            for i in range(self.runs):
                self.flush.zero_()
                starts[i].record()
                fn((self.warmup + i) % copies)
                ends[i].record()
            torch.cuda.synchronize()
            us = [s.elapsed_time(e) * 1e3 for s, e in zip(starts, ends)]
        else:
            for i in range(self.runs):
                start = time.perf_counter()
                fn((self.warmup + i) % copies)
                us.append((time.perf_counter() - start) * 1e6)
        return summarize(us)


def set_precision(torch, mode):
    """The math flags of a mode; returns what PyTorch reports back."""
    tf32 = mode == "tf32"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # newer PyTorch prefers fp32_precision; these still work
        if mode in ("fp32", "tf32"):
            torch.backends.cudnn.allow_tf32 = tf32
            torch.backends.cuda.matmul.allow_tf32 = tf32
        flags = {"cudnn.allow_tf32": bool(torch.backends.cudnn.allow_tf32),
                 "cuda.matmul.allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32)}
    # Newer PyTorch (2.9+) keeps these as fp32_precision settings: record what they became (read
    # only: setting both APIs is an error there).
    for name, obj in (("cudnn.conv.fp32_precision", getattr(torch.backends.cudnn, "conv", None)),
                      ("cuda.matmul.fp32_precision", torch.backends.cuda.matmul)):
        if hasattr(obj, "fp32_precision"):
            flags[name] = str(obj.fp32_precision)
    return flags


class TorchLayer:
    """Random weights of one shape and mode, and the stages written the PyTorch way."""

    def __init__(self, torch, shape, dtype, device):
        self.torch, self.F = torch, torch.nn.functional
        self.shape, self.dtype, self.device = shape, dtype, device
        c, m, f, k = shape["channels"], shape["multiplier"], shape["filters"], shape["kernel"]
        self.pad_amounts = keras_padding(shape)
        if shape.get("activation", "linear") != "linear":
            raise ValueError("only activation linear is benchmarked, got " + shape["activation"])
        scale = 1.0 / math.sqrt(c * m)
        self.w_dw = self.uniform((c * m, 1, k), 1.0)
        self.w_pw = self.uniform((f, c * m, 1), scale)  # conv weight; .view(f, c*m) for linear
        self.bias = self.uniform((f,), 0.5) if shape.get("use_bias", True) else None

    def uniform(self, size, scale):
        return self.torch.empty(size, dtype=self.dtype, device=self.device).uniform_(-scale, scale)

    def input(self, channels_last):
        s = self.shape
        size = ((s["batch"], s["length"], s["channels"]) if channels_last
                else (s["batch"], s["channels"], s["length"]))
        return self.uniform(size, 1.0)

    def intermediate(self, channels_last):
        s = self.shape
        cm = s["channels"] * s["multiplier"]
        size = ((s["batch"], s["out_length"], cm) if channels_last
                else (s["batch"], cm, s["out_length"]))
        return self.uniform(size, 1.0)

    # (B, C, L) -> (B, C*M, Lout)
    def depthwise(self, x):
        left, right = self.pad_amounts
        if left or right:
            x = self.F.pad(x, (left, right))
        return self.F.conv1d(x, self.w_dw, None, stride=self.shape["stride"],
                             dilation=self.shape["dilation"], groups=self.shape["channels"])

    # (B, C*M, Lout) -> (B, F, Lout)
    def pointwise_conv(self, d):
        return self.F.conv1d(d, self.w_pw, self.bias)

    # (B, Lout, C*M) -> (B, Lout, F)
    def pointwise_linear(self, d):
        return self.F.linear(d, self.w_pw.view(self.w_pw.shape[0], self.w_pw.shape[1]), self.bias)

    def stage(self, stage, channels_last):
        """fn(input) of a stage for data in the given format, and whether its input is x or D."""
        to_cf = lambda t: t.transpose(1, 2).contiguous()  # noqa: E731 - (B, L, C) <-> (B, C, L)
        if stage == "depthwise":
            if channels_last:
                return (lambda x: to_cf(self.depthwise(to_cf(x)))), "x"
            return self.depthwise, "x"
        if stage == "pointwise":
            return (self.pointwise_linear if channels_last else self.pointwise_conv), "d"
        if channels_last:
            return (lambda x: self.pointwise_linear(self.depthwise(to_cf(x)).transpose(1, 2))), "x"
        return (lambda x: self.pointwise_conv(self.depthwise(x))), "x"


def time_stage(bench, layer, stage, channels_last):
    """Median of `stage` for data in the format; None-free summary dict."""
    fn, kind = layer.stage(stage, channels_last)
    make = layer.input if kind == "x" else layer.intermediate
    first = make(channels_last)
    copies = bench.copies(first.numel() * first.element_size())
    inputs = [first] + [make(channels_last) for _ in range(copies - 1)]
    result = bench.time(lambda i: fn(inputs[i]), copies)
    result["copies"] = copies
    return result


def load_sepconv(path):
    with open(path) as f:
        data = json.load(f)
    if data.get("tool") != "sepconv_bench":
        raise ValueError(path + " is not sepconv_bench output")
    return data


def pick(names, allowed, what):
    if not names:
        return None
    chosen = [n for n in names.split(",") if n]
    for n in chosen:
        if n not in allowed:
            raise SystemExit("compare_torch: unknown %s '%s' (one of %s)"
                             % (what, n, ", ".join(allowed)))
    return set(chosen)


def ratio_table(sepconv_rows, torch_rows):
    """Lines: sepconv / PyTorch per row (< 1: sepconv faster)."""
    ours = {(r["shape"], r["format"], r["mode"], r["stage"]): r for r in sepconv_rows}
    lines = ["%-5s %-5s %-4s %-9s %11s %11s %11s %9s %10s" % (
        "shape", "fmt", "mode", "stage", "sepconv_us", "torch_us", "native_us", "sep/torch",
        "sep/native")]

    def num(v, fmt):
        return fmt % v if isinstance(v, (int, float)) else "-"

    for t in torch_rows:
        s = ours.get((t["shape"], t["format"], t["mode"], t["stage"]), {})
        sep, th, nat = s.get("median_us"), t.get("median_us"), t.get("native_median_us")
        lines.append("%-5s %-5s %-4s %-9s %11s %11s %11s %9s %10s" % (
            t["shape"], t["format"].replace("channels_", ""), t["mode"], t["stage"],
            num(sep, "%.1f"), num(th, "%.1f"), num(nat, "%.1f"),
            num(sep / th if sep and th else None, "%.3f"),
            num(sep / nat if sep and nat else None, "%.3f")))
    lines.append("(sep/torch < 1: sepconv faster; torch_us counts the layout transposes of "
                 "channels_last data, native_us is the same stage on (B, C, L) data)")
    return lines


def main(argv):
    args = parse_args(argv)
    try:
        import torch
    except ImportError:
        print("compare_torch: PyTorch is not installed here (import torch failed): nothing to "
              "compare; exit 0")
        return 0
    if torch.cuda.is_available():
        device = "cuda"
    elif args.allow_cpu:
        device = "cpu"
        print("compare_torch: no CUDA device; --allow-cpu: timing PyTorch on the CPU (a test of "
              "this script, not a comparison)")
    else:
        print("compare_torch: PyTorch %s is installed but no CUDA device is available "
              "(torch.cuda.is_available() is False): nothing to compare; exit 0"
              % torch.__version__)
        return 0

    try:
        sepconv = load_sepconv(args.sepconv)
    except (OSError, ValueError) as e:
        print("compare_torch: cannot read sepconv's results: %s" % e, file=sys.stderr)
        return 1
    if sepconv.get("device_kind") != "gpu" and device == "cuda":
        print("compare_torch: %s is a CPU run of sepconv_bench (its shapes are the small CPU "
              "ones); timing PyTorch on them anyway" % args.sepconv)
    shapes_wanted = pick(args.shapes, [s["name"] for s in sepconv["shapes"]], "shape")
    modes_wanted = pick(args.modes, MODES, "mode")
    stages_wanted = pick(args.stages, STAGES, "stage")
    torch.backends.cudnn.benchmark = True
    bench = Bench(torch, device, args.runs, args.warmup)
    shapes = {s["name"]: s for s in sepconv["shapes"]}

    # Cases in sepconv.json's order: (shape, format, mode) -> stages.
    cases = {}
    for r in sepconv["rows"]:
        if ((shapes_wanted and r["shape"] not in shapes_wanted)
                or (modes_wanted and r["mode"] not in modes_wanted)
                or (stages_wanted and r["stage"] not in stages_wanted)):
            continue
        cases.setdefault((r["shape"], r["format"], r["mode"]), []).append(r["stage"])

    dtypes = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16,
              "bf16": torch.bfloat16}
    rows, flags, failed = [], {}, False
    with torch.inference_mode():
        for (name, fmt, mode), stages in cases.items():
            print("compare_torch: %s %s %s" % (name, fmt, mode), file=sys.stderr, flush=True)
            flags[mode] = set_precision(torch, mode) if device == "cuda" else {}
            channels_last = fmt == "channels_last"
            layer = None
            for stage in stages:
                row = {"shape": name, "format": fmt, "mode": mode, "dtype": str(dtypes[mode]),
                       "stage": stage, "error": None}
                try:
                    layer = layer or TorchLayer(torch, shapes[name], dtypes[mode], device)
                    row.update(time_stage(bench, layer, stage, channels_last))
                    native = (time_stage(bench, layer, stage, False) if channels_last
                              else row)
                    row["native_median_us"] = native["median_us"]
                    row["native_min_us"] = native["min_us"]
                except Exception as e:  # noqa: BLE001 - a failed row is recorded, the rest runs
                    row["error"] = "%s: %s" % (type(e).__name__, e)
                    failed = True
                    if device == "cuda":
                        torch.cuda.empty_cache()
                rows.append(row)
            del layer
            if device == "cuda":
                torch.cuda.empty_cache()

    card = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    result = {
        "schema": 1,
        "tool": "compare_torch",
        "device_kind": "gpu" if device == "cuda" else "cpu",
        "card": {"name": card},
        "driver_version": driver_version(),
        "torch_version": torch.__version__,
        "torch_cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if device == "cuda" else None,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sepconv_json": os.path.abspath(args.sepconv),
        "sepconv_commit": sepconv.get("commit"),
        "sepconv_card": sepconv.get("card", {}).get("name"),
        "settings": {"runs": args.runs, "warmup": args.warmup, "cudnn_benchmark": True,
                     "l2_flush_bytes": bench.l2_bytes, "precision_flags": flags,
                     "timer": ("torch.cuda.Event pairs; timed runs enqueued behind "
                               "torch.cuda._sleep (2x a warm-up run's host time per run)"
                               if device == "cuda" else "perf_counter")},
        "rows": rows,
    }
    out_dir = args.out or os.path.dirname(os.path.abspath(args.sepconv))
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "torch.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print("compare_torch: wrote %s" % path, file=sys.stderr)
    if sepconv.get("card", {}).get("name") != card:
        print("compare_torch: NOTE sepconv.json was measured on '%s', PyTorch on '%s'"
              % (sepconv.get("card", {}).get("name"), card))
    for row in rows:
        if row["error"]:
            print("compare_torch: %s %s %s %s failed: %s"
                  % (row["shape"], row["format"], row["mode"], row["stage"], row["error"]))
    print("PyTorch %s (CUDA %s, cuDNN %s) on %s vs sepconv %s"
          % (torch.__version__, torch.version.cuda, result["cudnn_version"], card,
             sepconv.get("commit")))
    print("\n".join(ratio_table(sepconv["rows"], rows)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
