#!/usr/bin/env python3
"""Flags rows of a new sepconv_bench run that are more than 10% slower than the previous
committed result on the same card.

    python3 bench/regression.py OUT/bench/sepconv.json [--results bench/results] [--threshold 0.10]

The previous result is the latest (by its recorded date) sepconv_bench GPU JSON in --results
whose card name is the new run's, other than the new file itself and other than a run with the
same date and commit. Rows are matched by shape, format, mode and stage; a row is slower when its
median exceeds the previous median by more than the threshold, and a row that measured before and
fails now counts as slower too. Stdlib only.

Exit status: 0 nothing slower (or nothing to compare: a CPU run, or no previous result for the
card, said plainly), 1 at least one row slower, 2 usage or unreadable input.
"""

import argparse
import glob
import json
import os
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def is_gpu_bench(data):
    return data.get("tool") == "sepconv_bench" and data.get("device_kind") == "gpu"


def card_of(data):
    return (data.get("card") or {}).get("name", "?")


def row_key(r):
    return (r["shape"], r["format"], r["mode"], r["stage"])


def key_text(key):
    shape, fmt, mode, stage = key
    return "%s %s %s %s" % (shape, fmt, mode, stage)


def previous_result(new_path, new, results_dir):
    """(path, data) of the latest earlier result on the new run's card, or None."""
    candidates = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        if os.path.realpath(path) == os.path.realpath(new_path):
            continue
        try:
            data = load(path)
        except (OSError, ValueError):
            continue
        if not is_gpu_bench(data) or card_of(data) != card_of(new):
            continue
        if data.get("date") == new.get("date") and data.get("commit") == new.get("commit"):
            continue  # the same run, copied
        candidates.append((data.get("date") or "", path, data))
    if not candidates:
        return None
    candidates.sort(key=lambda c: (c[0], c[1]))
    return candidates[-1][1], candidates[-1][2]


def compare(new, old, threshold):
    """(slower, faster, unchanged, unmatched) lists of (key, old_us, new_us or error)."""
    old_rows = {row_key(r): r for r in old.get("rows", [])}
    slower, faster, unchanged, unmatched = [], [], [], []
    for r in new.get("rows", []):
        key = row_key(r)
        before = old_rows.get(key)
        if before is None or before.get("median_us") is None:
            unmatched.append((key, None, r.get("median_us")))
            continue
        old_us = before["median_us"]
        if r.get("median_us") is None:
            slower.append((key, old_us, "failed: %s" % (r.get("error") or "no time")))
            continue
        ratio = r["median_us"] / old_us
        entry = (key, old_us, r["median_us"])
        if ratio > 1 + threshold:
            slower.append(entry)
        elif ratio < 1 - threshold:
            faster.append(entry)
        else:
            unchanged.append(entry)
    return slower, faster, unchanged, unmatched


def line(entry):
    key, old_us, new_us = entry
    if isinstance(new_us, str):
        return "  %-40s %12.1f  %s" % (key_text(key), old_us, new_us)
    if old_us is None:
        return "  %-40s %12s %12s" % (key_text(key), "-", "%.1f" % new_us if new_us else "-")
    return "  %-40s %12.1f %12.1f  %+6.1f%%" % (key_text(key), old_us, new_us,
                                                100 * (new_us / old_us - 1))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("new", help="the new run's sepconv.json")
    p.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "results"),
                   help="folder of committed results (default: bench/results)")
    p.add_argument("--threshold", type=float, default=0.10,
                   help="fraction slower that counts as a regression (default 0.10)")
    args = p.parse_args(argv)
    try:
        new = load(args.new)
    except (OSError, ValueError) as e:
        print("regression: cannot read %s: %s" % (args.new, e), file=sys.stderr)
        return 2
    if new.get("tool") != "sepconv_bench":
        print("regression: %s is not sepconv_bench output" % args.new, file=sys.stderr)
        return 2
    if new.get("device_kind") != "gpu":
        print("regression: %s is a CPU run (no GPU was found): regressions are checked between "
              "GPU runs only; nothing to compare" % args.new)
        return 0
    card = card_of(new)
    found = previous_result(args.new, new, args.results)
    if found is None:
        print("regression: no previous result for card '%s' in %s: nothing to compare (the first "
              "result on this card; commit it to compare later runs with it)"
              % (card, args.results))
        return 0
    old_path, old = found
    slower, faster, unchanged, unmatched = compare(new, old, args.threshold)
    print("regression: %s (commit %s, %s) against %s (commit %s, %s) on %s; threshold %.0f%%"
          % (args.new, new.get("commit"), new.get("date"), old_path, old.get("commit"),
             old.get("date"), card, 100 * args.threshold))
    for what in ("runs", "quick"):
        a, b = (new.get("settings") or {}).get(what), (old.get("settings") or {}).get(what)
        if a != b:
            print("regression: NOTE settings differ: %s %s now, %s before" % (what, a, b))
    header = "  %-40s %12s %12s  %s" % ("row", "before_us", "now_us", "change")
    if unmatched:
        print("not in the previous result (%d):" % len(unmatched))
        print("\n".join(line(e) for e in unmatched))
    if faster:
        print("faster by more than %.0f%% (%d):" % (100 * args.threshold, len(faster)))
        print(header)
        print("\n".join(line(e) for e in faster))
    print("%d rows compared: %d slower, %d faster, %d within %.0f%%"
          % (len(slower) + len(faster) + len(unchanged), len(slower), len(faster), len(unchanged),
             100 * args.threshold))
    if slower:
        print("SLOWER by more than %.0f%% (%d):" % (100 * args.threshold, len(slower)))
        print(header)
        print("\n".join(line(e) for e in slower))
        return 1
    print("no row more than %.0f%% slower" % (100 * args.threshold))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
