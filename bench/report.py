#!/usr/bin/env python3
"""Turns a benchmark run (DIR/sepconv.json, and DIR/torch.json when compare_torch.py ran) into a
dated markdown report with the tuning issue's targets marked met or missed.

    python3 bench/report.py OUT/bench

Writes DIR/report.md and, ready to be committed, DIR/results/<date>_<card>_<commit>.md,
.sepconv.json and .torch.json (copy them into bench/results/; bench/regression.py compares later
runs with them). Prints the report last. Stdlib only.

Targets (the tuning issue), judged on the rows that exist:
  T1 the depthwise stage reaches >= 85% of its own roofline floor, on every shape, mode and
     format where it takes >= 50 us;
  T2 the whole forward takes <= 1.25x the two-kernel floor on shapes a-d in bf16 and tf32;
  T3 the depthwise stage is >= 3x faster than PyTorch's on shapes b, c and e;
  T4 the whole forward is >= 2x faster than PyTorch's on shapes b and c;
  T5 the pointwise stage is within 5% of PyTorch's (sepconv <= 1.05x PyTorch's time);
  T6 never slower than PyTorch elsewhere (the depthwise and forward rows T3 and T4 leave).
"vs PyTorch" uses PyTorch's time as a user with that data format pays it (channels_last counts
the transposes); the transpose-free time is in the table beside it.

Exit status: 0 written (whatever the targets say), 2 sepconv.json unreadable.
"""

import argparse
import json
import os
import re
import shutil
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def key(r):
    return (r["shape"], r["format"], r["mode"], r["stage"])


def fmt(v, spec, missing="-"):
    return spec % v if isinstance(v, (int, float)) and not isinstance(v, bool) else missing


def percent(v):
    return fmt(None if v is None else 100 * v, "%.1f%%")


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unknown"


def speedup(sep_row, torch_row):
    """PyTorch's time over sepconv's (> 1: sepconv faster), or None."""
    if not sep_row or not torch_row:
        return None
    s, t = sep_row.get("median_us"), torch_row.get("median_us")
    return t / s if s and t else None


def targets(sepconv, torch_rows):
    """[(target, row text, value text, needed, verdict)] with verdict met / missed / no data."""
    rows = sepconv.get("rows", [])
    torch_by_key = {key(r): r for r in torch_rows}
    out = []

    def verdict(ok):
        return "no data" if ok is None else ("met" if ok else "missed")

    def row_text(r):
        return "%s %s %s %s" % (r["shape"], r["format"].replace("channels_", ""), r["mode"],
                                r["stage"])

    for r in rows:
        if r["stage"] != "depthwise" or r.get("median_us") is None or r["median_us"] < 50:
            continue
        f = r.get("of_two_kernel_floor")
        out.append(("T1 depthwise >= 85% of roofline (>= 50 us)", row_text(r), percent(f),
                    ">= 85%", verdict(None if f is None else f >= 0.85)))
    for r in rows:
        if (r["stage"] != "forward" or r["shape"] not in ("a", "b", "c", "d")
                or r["mode"] not in ("bf16", "tf32")):
            continue
        f = r.get("of_two_kernel_floor")
        x = 1 / f if f else None
        out.append(("T2 forward <= 1.25x two-kernel floor (a-d, bf16/tf32)", row_text(r),
                    fmt(x, "%.2fx"), "<= 1.25x", verdict(None if x is None else x <= 1.25)))
    if torch_rows is None:
        return out
    for r in rows:
        s = speedup(r, torch_by_key.get(key(r)))
        value = fmt(s, "%.2fx")
        if r["stage"] == "depthwise" and r["shape"] in ("b", "c", "e"):
            out.append(("T3 depthwise >= 3x faster than PyTorch (b, c, e)", row_text(r), value,
                        ">= 3x", verdict(None if s is None else s >= 3)))
        elif r["stage"] == "forward" and r["shape"] in ("b", "c"):
            out.append(("T4 forward >= 2x faster than PyTorch (b, c)", row_text(r), value, ">= 2x",
                        verdict(None if s is None else s >= 2)))
        elif r["stage"] == "backward":
            continue  # no PyTorch counterpart is timed (compare_torch.py: forward stages only)
        elif r["stage"] == "pointwise":
            out.append(("T5 pointwise within 5% of PyTorch", row_text(r), value, ">= 0.95x",
                        verdict(None if s is None else s >= 1 / 1.05)))
        else:
            out.append(("T6 never slower than PyTorch elsewhere", row_text(r), value, ">= 1x",
                        verdict(None if s is None else s >= 1)))
    return out


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def render(sepconv, torch_data):
    gpu = sepconv.get("device_kind") == "gpu"
    card = sepconv.get("card") or {}
    date = (sepconv.get("date") or "unknown date")[:10]
    lines = ["# sepconv benchmark, %s, %s" % (date, card.get("name", "?")), ""]
    if not gpu:
        lines += ["**CPU run: no GPU was found.** The times below are the float64 CPU reference on "
                  "small shapes (a smoke test of the tools), not the benchmark; no ceilings, no "
                  "roofline, no targets.", ""]
    settings = sepconv.get("settings") or {}
    about = [("card", "%s (sm %s, %s SMs, L2 %s bytes, %s bytes of memory)"
              % (card.get("name", "?"), card.get("compute_capability", "?"),
                 card.get("multiprocessors", "?"), card.get("l2_bytes", "?"),
                 card.get("memory_bytes", "?")) if gpu else "cpu"),
             ("driver", "%s (CUDA driver API %s)" % (sepconv.get("driver_version", "-"),
                                                      sepconv.get("cuda_driver_api_version", "-"))),
             ("CUDA runtime", sepconv.get("cuda_runtime_version", "-")),
             ("cuBLASLt", sepconv.get("cublaslt_version", "-")),
             ("commit", sepconv.get("commit", "-")),
             ("date", sepconv.get("date", "-")),
             ("settings", "median of %s runs after %s warm-up; %s"
              % (settings.get("runs"), settings.get("warmup"),
                 "L2 flushed before each run, inputs rotated; activation linear, bias on"
                 if gpu else "host clock"))]
    if torch_data:
        about.append(("PyTorch", "%s (CUDA %s, cuDNN %s) on %s, %s, cudnn.benchmark on"
                      % (torch_data.get("torch_version"), torch_data.get("torch_cuda_version"),
                         torch_data.get("cudnn_version"),
                         (torch_data.get("card") or {}).get("name"), torch_data.get("date"))))
    else:
        about.append(("PyTorch", "not run (no torch.json)"))
    lines += table(["", ""], about) + [""]
    for note in sepconv.get("notes", []):
        lines.append("> " + note)
    lines.append("")

    c = sepconv.get("ceilings")
    if c:
        gemm = c.get("gemm_tflops") or {}
        lines += ["## Ceilings measured on this card", ""]
        lines += table(["copy GB/s (read + write)", "FP32 FMA TFLOP/s"]
                       + ["GEMM %s TFLOP/s" % m for m in gemm],
                       [[fmt(c.get("copy_gbs"), "%.0f"), fmt(c.get("fp32_fma_tflops"), "%.1f")]
                        + [fmt(v, "%.1f") for v in gemm.values()]])
        lines.append("")

    torch_rows = torch_data.get("rows", []) if torch_data else None
    torch_by_key = {key(r): r for r in (torch_rows or [])}
    lines += ["## Results", "",
              "GB/s and TFLOP/s from the minimal bytes and FLOPs (bench/cases.h); *of floor*: the "
              "roofline floor over the measured time (two-kernel design; fused kernel for the "
              "whole forward); *speedup*: PyTorch's time over sepconv's.", ""]
    rows = []
    for r in sepconv.get("rows", []):
        t = torch_by_key.get(key(r), {})
        s = speedup(r, t)
        status = r.get("error") or ("" if r.get("outputs_finite") in (True, None)
                                    else "NON-FINITE OUTPUT")
        rows.append([r["shape"], r["format"].replace("channels_", ""), r["mode"], r["stage"],
                     fmt(r.get("median_us"), "%.1f"), fmt(r.get("gbs"), "%.1f"),
                     fmt(r.get("tflops"), "%.3f"), percent(r.get("of_two_kernel_floor")),
                     percent(r.get("of_fused_floor")), fmt(t.get("median_us"), "%.1f"),
                     fmt(t.get("native_median_us"), "%.1f"), fmt(s, "%.2fx"), status])
    lines += table(["shape", "fmt", "mode", "stage", "sepconv us", "GB/s", "TFLOP/s",
                    "of 2-kernel floor", "of fused floor", "PyTorch us", "PyTorch native us",
                    "speedup", "status"], rows)
    lines.append("")

    if gpu:
        judged = sorted(targets(sepconv, torch_rows), key=lambda t: t[0][:2])
        counts = {v: sum(1 for t in judged if t[4] == v) for v in ("met", "missed", "no data")}
        lines += ["## Targets of the tuning issue", "",
                  "%d met, %d missed, %d without data%s." % (
                      counts["met"], counts["missed"], counts["no data"],
                      "" if torch_rows is not None
                      else "; no PyTorch comparison (T3-T6 not judged)"),
                  ""]
        lines += table(["target", "row", "value", "needed", "verdict"],
                       [[t[0], t[1], t[2], t[3], "**missed**" if t[4] == "missed" else t[4]]
                        for t in judged])
        lines.append("")
    return "\n".join(lines)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir", help="the folder holding sepconv.json (and torch.json)")
    p.add_argument("--no-copies", action="store_true",
                   help="write report.md only, not the dated copies under DIR/results/ (the GPU "
                        "check keeps its files few; make the copies after fetching them)")
    args = p.parse_args(argv)
    try:
        sepconv = load(os.path.join(args.dir, "sepconv.json"))
    except (OSError, ValueError) as e:
        print("report: cannot read sepconv.json in %s: %s" % (args.dir, e), file=sys.stderr)
        return 2
    torch_path = os.path.join(args.dir, "torch.json")
    torch_data = None
    if os.path.exists(torch_path):
        try:
            torch_data = load(torch_path)
        except (OSError, ValueError) as e:
            print("report: ignoring unreadable %s: %s" % (torch_path, e), file=sys.stderr)
    if torch_data and torch_data.get("device_kind") != sepconv.get("device_kind"):
        torch_data = None  # a CPU test run of compare_torch.py compares nothing with a GPU run
    text = render(sepconv, torch_data)

    with open(os.path.join(args.dir, "report.md"), "w") as f:
        f.write(text + "\n")
    if args.no_copies:
        print(text)
        return 0
    stem = "%s_%s_%s" % ((sepconv.get("date") or "unknown")[:10],
                         slug((sepconv.get("card") or {}).get("name", "unknown")),
                         (sepconv.get("commit") or "unknown")[:8])
    results = os.path.join(args.dir, "results")
    os.makedirs(results, exist_ok=True)
    with open(os.path.join(results, stem + ".md"), "w") as f:
        f.write(text + "\n")
    shutil.copyfile(os.path.join(args.dir, "sepconv.json"),
                    os.path.join(results, stem + ".sepconv.json"))
    if torch_data:
        shutil.copyfile(torch_path, os.path.join(results, stem + ".torch.json"))
    print("report: wrote %s and %s/%s.*; to keep them: cp %s/%s.* bench/results/"
          % (os.path.join(args.dir, "report.md"), results, stem, results, stem), file=sys.stderr)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
