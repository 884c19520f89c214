#!/usr/bin/env python3
"""bench/report.py on synthetic GPU results (targets met and missed) and on the CPU smoke run
(CTest bench_report_script)."""

import glob
import os
import shutil
import sys
import tempfile

import synthetic as syn


def verdict(report, target, row):
    """The verdict cell of a target's row in the report's targets table."""
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith(target) and cells[1] == row:
            return cells[4]
    return None


def main():
    args = syn.parse_args()
    script = os.path.join(args.bench_dir, "report.py")
    checks = syn.Checks()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = os.path.join(tmp, "gpu")
        syn.write(os.path.join(run_dir, "sepconv.json"), syn.sepconv_result())
        syn.write(os.path.join(run_dir, "torch.json"), syn.torch_result())
        status, out = syn.run(script, run_dir)
        checks.expect(status == 0, "report.py exits 0 on a GPU run", out)
        report = open(os.path.join(run_dir, "report.md")).read()
        checks.expect("# sepconv benchmark, 2026-01-01, Synthetic GPU 80GB" in report
                      and "0123456789abcdef" in report and "130100" in report,
                      "the report names the date, card, commit and cuBLASLt version", report)
        expected = [("T1", "b last bf16 depthwise", "met"),
                    ("T1", "b first bf16 depthwise", "**missed**"),
                    ("T2", "b last bf16 forward", "**missed**"),
                    ("T2", "a last tf32 forward", "met"),
                    ("T3", "b last bf16 depthwise", "met"),
                    ("T3", "b first bf16 depthwise", "**missed**"),
                    ("T4", "b last bf16 forward", "met"),
                    ("T5", "b last bf16 pointwise", "met"),
                    ("T5", "a last tf32 pointwise", "**missed**"),
                    ("T6", "a last tf32 forward", "**missed**")]
        for target, row, want in expected:
            got = verdict(report, target, row)
            checks.expect(got == want, "%s %s: %s (got %s)" % (target, row, want, got), report)
        kept = sorted(os.path.basename(f) for f in glob.glob(os.path.join(run_dir, "results", "*")))
        stem = "2026-01-01_synthetic-gpu-80gb_01234567"
        checks.expect(kept == [stem + ".md", stem + ".sepconv.json", stem + ".torch.json"],
                      "results/ holds the dated report and both JSON files", str(kept))
        checks.expect(out.rstrip().endswith(report.rstrip().splitlines()[-1]),
                      "the report is printed last", out)

        cpu_dir = os.path.join(tmp, "cpu")
        os.makedirs(cpu_dir)
        shutil.copyfile(os.path.join(args.smoke, "sepconv.json"),
                        os.path.join(cpu_dir, "sepconv.json"))
        status, out = syn.run(script, cpu_dir)
        checks.expect(status == 0 and "CPU run" in out and "Targets" not in out,
                      "the smoke run's JSON reports as a CPU run, without targets", out)

        status, out = syn.run(script, os.path.join(tmp, "empty"))
        checks.expect(status == 2, "a folder without sepconv.json is an error", out)
    return checks.status()


if __name__ == "__main__":
    sys.exit(main())
