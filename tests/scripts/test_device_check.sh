#!/usr/bin/env bash
# CTest (labels cpu, scripts): the GPU check scripts, without a GPU, in a few seconds.
#   1. tools/device_check.sh and tools/build_gpu_bundle.sh parse (bash -n);
#   2. device_check.sh --dry-run on this build's GPU test binaries: every stage SKIPPED, exit 0;
#   3. device_check.sh on this build's binaries with no visible device: every GPU stage SKIPPED or
#      UNAVAILABLE, exit 0, the summary table printed last;
#   4. device_check.sh on stub binaries playing a GPU machine (nvidia-smi, test_parity,
#      test_layer_gpu, compute-sanitizer, sepconv_bench): PASS, FAIL, UNAVAILABLE, SKIPPED and the
#      sanitizer's option fallback are classified as they should be, exit 1 exactly when a stage
#      failed, at most 8 files written.
# Usage: test_device_check.sh REPOSITORY_ROOT GPU_TEST_BINARY_DIR WORK_DIR
set -euo pipefail
root=$1
bin=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
problems=0
fail() { echo "FAILED: $*"; problems=$((problems + 1)); }
# row OUTPUT STAGE STATUS: the summary table has that row.
row() { grep -qE "^\| $2 \| $3 \| " <<<"$1" || fail "stage $2 is not $3"; }
last_line_is_table() { [[ "$(tail -n 1 <<<"$1")" == "| bench |"* ]] || fail "the summary table is not printed last"; }

echo "== 1. syntax"
bash -n "$root/tools/device_check.sh" || fail "device_check.sh does not parse"
bash -n "$root/tools/build_gpu_bundle.sh" || fail "build_gpu_bundle.sh does not parse"

echo "== 2. dry run"
set +e
output=$(bash "$root/tools/device_check.sh" --bundle "$bin" --dry-run "$work/dry" 2>&1)
rc=$?
set -e
echo "$output" | tail -n 8
[ "$rc" = 0 ] || fail "dry run exit status $rc"
for s in parity sanitizers graph huge bench; do row "$output" "$s" SKIPPED; done
grep -q 'dry run: ' <<<"$output" || fail "the dry run does not show the commands"
last_line_is_table "$output"

echo "== 3. no device"
set +e
output=$(CUDA_VISIBLE_DEVICES= bash "$root/tools/device_check.sh" --bundle "$bin" "$work/nodevice" 2>&1)
rc=$?
set -e
echo "$output" | tail -n 8
[ "$rc" = 0 ] || fail "exit status $rc without a device"
for s in parity sanitizers graph huge bench; do
  grep -qE "^\| $s \| (SKIPPED|UNAVAILABLE) \| " <<<"$output" || fail "stage $s is not SKIPPED/UNAVAILABLE"
done
grep -q '^devices: 0' <<<"$output" || fail "the versions (devices: 0) are not printed"
last_line_is_table "$output"
ls "$work"/nodevice/*.md >/dev/null 2>&1 || fail "no results file"

echo "== 4. stub GPU machine"
stubs="$work/stubs"
mkdir -p "$stubs/bin" "$stubs/bundle"
cat >"$stubs/bin/nvidia-smi" <<'STUB'
#!/usr/bin/env bash
echo "NVIDIA Stub GPU 80GB, 999.99, 81559 MiB"
STUB
# test_parity / test_layer_gpu: gtest-like output (the parity stage's filter excludes ParityHuge, so
# it is matched first); STUB_MODE=fail fails the parity run.
cat >"$stubs/bundle/test_parity" <<'STUB'
#!/usr/bin/env bash
case "$*" in
  *--sepconv-versions*) printf 'sepconv: 0.1.0\ndevices: 1\ndevice 0: Stub GPU\n'; exit 0 ;;
  *=-\*Parity*)
    if [ "${STUB_MODE:-}" = fail ]; then
      printf '[ RUN      ] ParityShape.MatchesReference/k1024_cl_f32\nx.cpp:9: Failure\nValue of: problems[i].empty()\n[  FAILED  ] ParityShape.MatchesReference/k1024_cl_f32, where GetParam() = k1024_cl_f32 (5 ms)\n[  PASSED  ] 9 tests.\n[  FAILED  ] 1 test, listed below:\n[  FAILED  ] ParityShape.MatchesReference/k1024_cl_f32, where GetParam() = k1024_cl_f32\n'
      exit 1
    fi
    printf '[ RUN      ] ParityShape.MatchesReference/x\n[       OK ] ParityShape.MatchesReference/x (1 ms)\n[  PASSED  ] 10 tests.\n'; exit 0 ;;
  *ParityHuge*) printf '[ RUN      ] ParityHuge.A\nx.cpp:1: Skipped\nParityHuge: needs 27.5 GiB of device memory\n[  SKIPPED ] ParityHuge.A (1 ms)\n[  PASSED  ] 0 tests.\n[  SKIPPED ] 1 test, listed below:\n[  SKIPPED ] ParityHuge.A\n'; exit 0 ;;
  *) printf '[  PASSED  ] 3 tests.\n'; exit 0 ;;
esac
STUB
cp "$stubs/bundle/test_parity" "$stubs/bundle/test_layer_gpu"
# compute-sanitizer: memcheck clean; racecheck refused; initcheck finds an error (fail mode) or is
# clean; synccheck rejects --kernel-name once, then runs clean.
cat >"$stubs/bin/compute-sanitizer" <<'STUB'
#!/usr/bin/env bash
tool=$2
case "$tool" in
  memcheck) echo "========= ERROR SUMMARY: 0 errors"; exit 0 ;;
  racecheck) echo "========= Error: Device not supported"; exit 1 ;;
  initcheck)
    if [ "${STUB_MODE:-}" = fail ]; then
      echo "========= Uninitialized __global__ memory read of size 4 bytes"; echo "========= ERROR SUMMARY: 1 error"; exit 86
    fi
    echo "========= ERROR SUMMARY: 0 errors"; exit 0 ;;
  synccheck)
    if [[ "$*" == *--kernel-name* ]]; then echo "Unrecognized option: --kernel-name"; exit 1; fi
    echo "========= ERROR SUMMARY: 0 errors"; exit 0 ;;
esac
STUB
cat >"$stubs/bundle/sepconv_bench" <<'STUB'
#!/usr/bin/env bash
[ "$1" = --out ] && mkdir -p "$2" && echo '{}' >"$2/sepconv.json"
STUB
chmod +x "$stubs"/bin/* "$stubs"/bundle/*

for mode in fail pass; do
  set +e
  output=$(STUB_MODE=$mode PATH="$stubs/bin:$PATH" bash "$root/tools/device_check.sh" --bundle "$stubs/bundle" "$work/stub-$mode" 2>&1)
  rc=$?
  set -e
  echo "-- mode $mode"
  echo "$output" | tail -n 8
  row "$output" graph PASS
  row "$output" huge SKIPPED
  row "$output" bench PASS
  grep -q 'ParityHuge: needs 27.5 GiB' <<<"$output" || fail "the huge stage's skip message is not shown"
  grep -q 'racecheck UNAVAILABLE' <<<"$output" || fail "a refused racecheck is not UNAVAILABLE"
  grep -q 'synccheck PASS' <<<"$output" || fail "synccheck did not fall back to checking every kernel"
  last_line_is_table "$output"
  files=$(find "$work/stub-$mode" -type f | wc -l)
  [ "$files" -le 8 ] || fail "$files files written (at most 8)"
  ls "$work/stub-$mode"/*-stub-gpu-80gb.md >/dev/null 2>&1 || fail "no <date>-<card>.md results file"
  if [ "$mode" = fail ]; then
    [ "$rc" = 1 ] || fail "exit status $rc with failed stages (want 1)"
    row "$output" parity FAIL
    row "$output" sanitizers FAIL
    grep -q '1 failed, first ParityShape.MatchesReference/k1024_cl_f32' <<<"$output" || fail "the failed test is not named"
    grep -q 'first failures in parity.log' <<<"$output" || fail "the first failures are not shown"
  else
    [ "$rc" = 0 ] || fail "exit status $rc when nothing failed (want 0)"
    row "$output" parity PASS
    row "$output" sanitizers PASS
  fi
done

[ "$problems" = 0 ] && echo "device_check scripts: all checks passed"
exit "$problems"
