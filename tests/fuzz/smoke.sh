#!/usr/bin/env bash
# The fuzz smoke CI runs (tools/test.sh): each libFuzzer target of a SEPCONV_BUILD_FUZZERS build
# fuzzes for SECONDS seconds (default 15; 4 targets: 60 s in all), starting from a copy of its
# committed corpus (what it adds stays in a temporary folder) with its dictionary, under
# AddressSanitizer + UndefinedBehaviorSanitizer. Any finding fails the smoke: a crash, a sanitizer
# report, a leak, an uncaught exception, an input running over 10 s, more than 2 GiB of memory (or
# one allocation that large), or a target's own check (an unclear message, an inconsistent
# result). The input that found it is kept in ARTIFACTS (default BUILD_DIR/fuzz-artifacts).
#
#   tests/fuzz/smoke.sh BUILD_DIR [SECONDS]
#
# fuzz_keras_hdf5 (raw HDF5 bytes) is not in the smoke: it also finds the HDF5 library's own
# hangs (docs/testing.md, "Fuzzing"); fuzz_keras_hdf5_edit covers sepconv's HDF5 code in CI.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:?usage: smoke.sh BUILD_DIR [SECONDS]}
seconds=${2:-15}
artifacts=${ARTIFACTS:-$build/fuzz-artifacts}
mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=()
for target in npy keras_config keras_hdf5_edit keras_zip; do
  binary="$build/tests/fuzz/fuzz_$target"
  [ -x "$binary" ] || { echo "smoke.sh: no $binary (build the sepconv_fuzzers target)" >&2; exit 1; }
  mkdir -p "$work/$target"
  cp "$root/tests/fuzz/corpus/$target/"* "$work/$target/"
  options=()
  [ -f "$root/tests/fuzz/dict/$target.dict" ] && options+=(-dict="$root/tests/fuzz/dict/$target.dict")
  # Its inputs are short edit programs: full length from the start (libFuzzer would grow it slowly).
  [ "$target" = keras_hdf5_edit ] && options+=(-max_len=64 -len_control=0)
  echo "-- fuzz_$target: ${seconds} s"
  if "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$target-" "${options[@]}" "$work/$target" > "$work/$target.log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
      "$work/$target.log" | tr '\n' ' '
    echo
  else
    tail -n 60 "$work/$target.log"
    failed+=("$target")
  fi
done
if ((${#failed[@]})); then
  echo "fuzz smoke: findings in ${failed[*]}; the inputs are in $artifacts" >&2
  exit 1
fi
echo "fuzz smoke: no findings"
