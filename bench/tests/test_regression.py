#!/usr/bin/env python3
"""bench/regression.py's verdicts on synthetic results (CTest bench_regression_script)."""

import os
import sys
import tempfile

import synthetic as syn


def main():
    args = syn.parse_args()
    script = os.path.join(args.bench_dir, "regression.py")
    checks = syn.Checks()
    slow_key = ("b", "channels_last", "bf16", "forward")
    with tempfile.TemporaryDirectory() as tmp:
        results = os.path.join(tmp, "results")
        syn.write(os.path.join(results, "2026-01-01_synthetic.sepconv.json"), syn.sepconv_result())
        # An older result on the same card and one on another card must not be chosen.
        syn.write(os.path.join(results, "2025-06-01_synthetic.sepconv.json"),
                  syn.sepconv_result(date="2025-06-01T00:00:00Z",
                                     scale={k: 10.0 for k in syn.ROWS}))
        syn.write(os.path.join(results, "2026-02-01_other.sepconv.json"),
                  syn.sepconv_result(card="Other GPU", date="2026-02-01T00:00:00Z",
                                     scale={k: 0.1 for k in syn.ROWS}))
        syn.write(os.path.join(results, "2026-01-01_synthetic.torch.json"), syn.torch_result())

        def run(name, data):
            path = syn.write(os.path.join(tmp, name, "sepconv.json"), data)
            return syn.run(script, path, "--results", results)

        later = "2026-03-01T00:00:00Z"
        status, out = run("faster", syn.sepconv_result(
            commit="fa57", date=later, scale={k: 0.9 for k in syn.ROWS}))
        checks.expect(status == 0 and "no row more than 10% slower" in out
                      and "2026-01-01_synthetic.sepconv.json" in out,
                      "a faster run passes against the latest result on its card", out)

        status, out = run("slower", syn.sepconv_result(commit="5104", date=later,
                                                       scale={slow_key: 1.2}))
        checks.expect(status == 1 and "SLOWER" in out and "b channels_last bf16 forward" in out
                      and "+20.0%" in out, "a row 20% slower fails, named", out)

        status, out = run("noise", syn.sepconv_result(commit="5105", date=later,
                                                      scale={slow_key: 1.05}))
        checks.expect(status == 0, "a row 5% slower is within the threshold", out)

        failed = syn.sepconv_result(commit="fa11", date=later)
        failed["rows"][0].update(median_us=None, error="CublasError: boom")
        status, out = run("failed", failed)
        checks.expect(status == 1 and "failed: CublasError: boom" in out,
                      "a row that measured before and fails now counts as slower", out)

        status, out = run("newcard", syn.sepconv_result(card="Brand New GPU", date=later))
        checks.expect(status == 0 and "no previous result for card 'Brand New GPU'" in out,
                      "no previous result on a new card is said plainly", out)

        status, out = run("cpu", syn.sepconv_result(device_kind="cpu", date=later))
        checks.expect(status == 0 and "CPU run" in out, "a CPU run is not compared", out)

        status, out = syn.run(script, os.path.join(tmp, "missing.json"))
        checks.expect(status == 2, "a missing file is a usage error", out)
    return checks.status()


if __name__ == "__main__":
    sys.exit(main())
