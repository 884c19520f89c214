#!/usr/bin/env bash
# CTest (labels cpu, scripts): the GPU check scripts, without a GPU, in about 20 seconds (17 runs
# of device_check.sh, 5 s of them stubs sleeping past shrunk limits).
#   1. tools/device_check.sh and tools/build_gpu_bundle.sh parse (bash -n);
#   2. device_check.sh --dry-run on this build's GPU test binaries: every row SKIPPED (the missing
#      device too), each command shown with how many tests its filter selects, exit 0;
#   3. device_check.sh on this build's binaries with no visible device: the machine row FAILS
#      naming the missing device, every GPU stage NOT_RUN, exit 1;
#   4. device_check.sh on stub programs playing a GPU machine (nvidia-smi, ldd, test_parity,
#      test_layer_gpu, compute-sanitizer, sepconv_bench), one outcome each:
#        a. device missing: nvidia-smi failing, --sepconv-versions saying devices: 0, or
#           CUDA_VISIBLE_DEVICES hiding it -> machine FAIL naming it, exit 1 (a dry run: SKIPPED);
#        b. library missing: the binary failing as the dynamic loader does (exit 127), ldd saying
#           "not found", a missing bundle binary -> FAIL naming libcublasLt / the binary, exit 1;
#           and the fallback finding libcublasLt in a Python wheel (nvidia/cu13/lib, the CUDA 13
#           layout, and nvidia/cublas/lib) -> PASS, the library used recorded;
#        c. a stage failing -> FAIL, the failed test named, exit 1;
#        d. a stage over its limit (budgets shrunk through SEPCONV_CHECK_BUDGET_<STAGE>) ->
#           TIMEOUT naming the test it stopped in, exit 1; the total budget spent -> NOT_RUN;
#        e. all green -> every row PASS, exit 0; a sanitizer refused -> UNAVAILABLE, exit 0; the
#           sanitizer's --kernel-name fallback; a cuBLASLt older than built against -> noted;
#      and for every run: the summary table printed last, at most 8 files written, the
#      <date>-<card>.md results file.
# Usage: test_device_check.sh REPOSITORY_ROOT GPU_TEST_BINARY_DIR WORK_DIR
set -euo pipefail
root=$1
bin=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
problems=0
all_stages=(parity huge graph sanitizers bench)
fail() { echo "FAILED: $*"; problems=$((problems + 1)); }
# row STAGE STATUS: the last run's summary table has that row.
row() { grep -qE "^\| $1 \| $2 \| " <<<"$output" || fail "[$case_name] stage $1 is not $2"; }
# has TEXT: the last run's output holds TEXT (a fixed string).
has() { grep -qF -- "$1" <<<"$output" || fail "[$case_name] the output does not say '$1'"; }
want_rc() { [ "$rc" = "$1" ] || fail "[$case_name] exit status $rc (want $1)"; }
# Checks every run gets: the table printed last, its results file, at most 8 files.
common_checks() {
  [[ "$(tail -n 1 <<<"$output")" == "| bench |"* ]] || fail "[$case_name] the summary table is not printed last"
  [ "$(tail -n 8 <<<"$output" | head -n 1)" = "| stage | status | seconds | detail |" ] ||
    fail "[$case_name] the summary table's header is not 8 lines from the end"
  ls "$work/$case_name"/*.md >/dev/null 2>&1 || fail "[$case_name] no <date>-<card>.md results file"
  local files
  files=$(find "$work/$case_name" -type f | wc -l)
  [ "$files" -le 8 ] || fail "[$case_name] $files files written (at most 8)"
}
# check NAME [ENV=VALUE...] -- [device_check.sh ARGS...]: runs the check into $work/NAME; sets
# output and rc, prints the tail.
check() {
  case_name=$1
  shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  local t0=$SECONDS
  set +e
  output=$(env "${envs[@]}" bash "$root/tools/device_check.sh" "$@" "$work/$case_name" 2>&1)
  rc=$?
  set -e
  echo "-- $case_name (exit status $rc, $((SECONDS - t0)) s)"
  tail -n 7 <<<"$output"
  common_checks
}

echo "== 1. syntax"
bash -n "$root/tools/device_check.sh" || fail "device_check.sh does not parse"
bash -n "$root/tools/build_gpu_bundle.sh" || fail "build_gpu_bundle.sh does not parse"

echo "== 2. dry run on this build's binaries"
check dry -- --bundle "$bin" --dry-run
want_rc 0
for s in machine "${all_stages[@]}"; do row "$s" SKIPPED; done
has 'dry run: '
has 'dry run, no device needed'
grep -qE '^\| parity \| SKIPPED \| 0 \| dry run: .*--gtest_filter=.*\(limit [0-9]+ s; [1-9][0-9]* tests\)' <<<"$output" ||
  fail "[dry] the parity command, its limit and its number of tests are not shown"
grep -qE '^\| sanitizers \| SKIPPED \| .*memcheck.*racecheck --kernel-name kns=sepconv.*synccheck.*initcheck.*\(limit [0-9]+ s; [1-9][0-9]* tests, [1-9][0-9]* tests, [1-9][0-9]* tests, [1-9][0-9]* tests\)' <<<"$output" ||
  fail "[dry] the four sanitizer subsets are not shown, or one selects no test"

echo "== 3. this build's binaries, no visible device"
check nodevice CUDA_VISIBLE_DEVICES= -- --bundle "$bin"
want_rc 1
row machine FAIL
for s in "${all_stages[@]}"; do row "$s" NOT_RUN; done
grep -qE '^\| machine \| FAIL \| .*sees no CUDA device \(devices: 0' <<<"$output" || fail "[nodevice] the missing device is not named"
grep -q '^devices: 0' <<<"$output" || fail "[nodevice] the versions (devices: 0) are not printed"
has 'sepconv device check FAILED'

echo "== 4. stub GPU machine"
stubs="$work/stubs"
mkdir -p "$stubs/bin" "$stubs/bundle" "$stubs/ldd-missing" "$stubs/ldd-fallback" "$work/empty"
# nvidia-smi: STUB_SMI=fail fails as it does without a driver; else one GPU.
cat >"$stubs/bin/nvidia-smi" <<'STUB'
#!/usr/bin/env bash
if [ "${STUB_SMI:-}" = fail ]; then
  echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."
  exit 9
fi
echo "NVIDIA Stub GPU 80GB, 999.99, 81559 MiB"
STUB
# test_parity / test_layer_gpu: gtest-like output. STUB_LOADER=1: fails to start as the dynamic
# loader does unless LD_LIBRARY_PATH holds STUB_LIBDIR. STUB_DEVICES: devices reported (1);
# STUB_LT: the cuBLASLt version reported (13.1.0, as built against).
# STUB_MODE=fail fails the parity run, STUB_MODE=slow sleeps in it. STUB_HUGE=pass passes the
# huge tests, STUB_HUGE=slow sleeps in the first, else they skip for lack of memory.
cat >"$stubs/bundle/test_parity" <<'STUB'
#!/usr/bin/env bash
if [ "${STUB_LOADER:-}" = 1 ] && [[ ":${LD_LIBRARY_PATH:-}:" != *":${STUB_LIBDIR:-/none}:"* ]]; then
  echo "$(basename "$0"): error while loading shared libraries: libcublasLt.so.13: cannot open shared object file: No such file or directory" >&2
  exit 127
fi
case "$*" in
  *--sepconv-versions*)
    printf 'sepconv: 0.1.0\nCUDA runtime: 13.0 (stub)\nCUDA driver: %s\ncuBLASLt: %s (stub; built against 13.1.0; its CUDA runtime 13000)\ndevices: %s\n' \
      "$( [ "${STUB_DEVICES:-1}" = 0 ] && echo none || echo '13.0 (stub)')" "${STUB_LT:-13.1.0}" "${STUB_DEVICES:-1}"
    [ "${STUB_DEVICES:-1}" = 0 ] || echo 'device 0: Stub GPU, sm_90'
    exit 0 ;;
  *--gtest_list_tests*) printf 'Stub.\n  A\n  B\n'; exit 0 ;;
  *=-\*Parity*)
    case "${STUB_MODE:-}" in
      fail)
        printf '[ RUN      ] ParityShape.MatchesReference/k1024_cl_f32\nx.cpp:9: Failure\nValue of: problems[i].empty()\n[  FAILED  ] ParityShape.MatchesReference/k1024_cl_f32, where GetParam() = k1024_cl_f32 (5 ms)\n[  PASSED  ] 9 tests.\n[  FAILED  ] 1 test, listed below:\n[  FAILED  ] ParityShape.MatchesReference/k1024_cl_f32, where GetParam() = k1024_cl_f32\n'
        exit 1 ;;
      slow) printf '[ RUN      ] ParityShape.MatchesReference/long_sleep\n'; exec sleep 60 ;;
    esac
    printf '[ RUN      ] ParityShape.MatchesReference/x\n[       OK ] ParityShape.MatchesReference/x (1 ms)\n[  PASSED  ] 10 tests.\n'; exit 0 ;;
  *ParityHuge*)
    if [ "${STUB_HUGE:-}" = slow ]; then
      printf '[ RUN      ] ParityHuge.ChannelsLastMoreThan2Pow31Elements\n'; exec sleep 60
    fi
    if [ "${STUB_HUGE:-}" = pass ]; then
      printf '[ RUN      ] ParityHuge.A\n[   INFO   ] channels_last: x (1, 16777219, 130) = 2181038470 elements; upload 0.5 s, forward 0.011 s, NaN scan 0.0 s, 7 windows 0.8 s, total 4.2 s\n[       OK ] ParityHuge.A (4200 ms)\n[ RUN      ] ParityHuge.B\n[   INFO   ] channels_first: x (1, 130, 16777219) = 2181038470 elements; upload 0.5 s, forward 0.009 s, NaN scan 0.0 s, 7 windows 1.1 s, total 3.9 s\n[       OK ] ParityHuge.B (3900 ms)\n[  PASSED  ] 2 tests.\n'
      exit 0
    fi
    printf '[ RUN      ] ParityHuge.A\nx.cpp:1: Skipped\nParityHuge: needs 27.5 GiB of device memory\n[  SKIPPED ] ParityHuge.A (1 ms)\n[  PASSED  ] 0 tests.\n[  SKIPPED ] 1 test, listed below:\n[  SKIPPED ] ParityHuge.A\n'; exit 0 ;;
  *ParityPaths*) printf '[ RUN      ] Paths/ParityPaths.MatchesReference/x\n[       OK ] Paths/ParityPaths.MatchesReference/x (1 ms)\n[  PASSED  ] 2 tests.\n'; exit 0 ;;
  *) printf '[  PASSED  ] 3 tests.\n'; exit 0 ;;
esac
STUB
cp "$stubs/bundle/test_parity" "$stubs/bundle/test_layer_gpu"
# compute-sanitizer: runs the program (the last two arguments), then its summary. STUB_SAN=clean:
# every tool clean; refuse_all: every tool refused; slow: memcheck sleeps; mixed (default):
# racecheck refused, synccheck rejects --kernel-name once, initcheck finds an error under
# STUB_MODE=fail.
cat >"$stubs/bin/compute-sanitizer" <<'STUB'
#!/usr/bin/env bash
tool=$2
mode=${STUB_SAN:-mixed}
if [ "$mode" = refuse_all ]; then echo "========= Error: Device not supported"; exit 1; fi
if [ "$mode" = slow ] && [ "$tool" = memcheck ]; then exec sleep 60; fi
if [ "$mode" = mixed ]; then
  case "$tool" in
    racecheck) echo "========= Error: Device not supported"; exit 1 ;;
    synccheck) if [[ "$*" == *--kernel-name* ]]; then echo "Unrecognized option: --kernel-name"; exit 1; fi ;;
  esac
fi
"${@: -2}"
rc=$?
if [ "$tool" = initcheck ] && [ "${STUB_MODE:-}" = fail ]; then
  echo "========= Uninitialized __global__ memory read of size 4 bytes"; echo "========= ERROR SUMMARY: 1 error"; exit 86
fi
echo "========= ERROR SUMMARY: 0 errors"
exit $rc
STUB
cat >"$stubs/bundle/sepconv_bench" <<'STUB'
#!/usr/bin/env bash
[ "${1:-}" = --help ] && { echo "usage: sepconv_bench [options]"; exit 0; }
[ "$1" = --out ] && mkdir -p "$2" && echo '{}' >"$2/sepconv.json"
STUB
# ldd that cannot resolve libcublasLt.so.13.
cat >"$stubs/ldd-missing/ldd" <<'STUB'
#!/usr/bin/env bash
printf '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibcublasLt.so.13 => not found\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f00)\n'
STUB
# ldd that resolves libcublasLt.so.13 only once LD_LIBRARY_PATH holds STUB_LIBDIR.
cat >"$stubs/ldd-fallback/ldd" <<'STUB'
#!/usr/bin/env bash
if [[ ":${LD_LIBRARY_PATH:-}:" == *":$STUB_LIBDIR:"* ]]; then
  printf '\tlibcublasLt.so.13 => %s/libcublasLt.so.13 (0x00007f00)\n' "$STUB_LIBDIR"
else
  printf '\tlibcublasLt.so.13 => not found\n'
fi
STUB
chmod +x "$stubs"/bin/* "$stubs"/bundle/* "$stubs"/ldd-*/ldd
P="PATH=$stubs/bin:$PATH"
B=(--bundle "$stubs/bundle")

echo "-- a. device missing"
check a-smi-fails "$P" STUB_SMI=fail STUB_DEVICES=0 -- "${B[@]}"
want_rc 1
row machine FAIL
for s in "${all_stages[@]}"; do row "$s" NOT_RUN; done
grep -qE "^\| machine \| FAIL \| .*nvidia-smi failed \(exit status 9\): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver" <<<"$output" ||
  fail "[a-smi-fails] the failing nvidia-smi is not named in the machine row"
grep -qE '^\| machine \| FAIL \| .*test_parity sees no CUDA device \(devices: 0' <<<"$output" || fail "[a-smi-fails] devices: 0 is not named"
has "[device_check] machine: MISSING: nvidia-smi failed"

check a-hidden "$P" STUB_DEVICES=0 CUDA_VISIBLE_DEVICES= -- "${B[@]}"
want_rc 1
row machine FAIL
row parity NOT_RUN
grep -qE "^\| machine \| FAIL \| .*CUDA_VISIBLE_DEVICES='' hides the GPU nvidia-smi lists \(NVIDIA Stub GPU 80GB" <<<"$output" ||
  fail "[a-hidden] CUDA_VISIBLE_DEVICES hiding the device is not named"

check a-dry "$P" STUB_SMI=fail STUB_DEVICES=0 -- "${B[@]}" --dry-run
want_rc 0
for s in machine "${all_stages[@]}"; do row "$s" SKIPPED; done
has 'dry run, no device needed: nvidia-smi failed (exit status 9)'

echo "-- b. library or binary missing"
check b-loader "$P" STUB_LOADER=1 -- "${B[@]}"
want_rc 1
row machine FAIL
for s in "${all_stages[@]}"; do row "$s" NOT_RUN; done
grep -qE '^\| machine \| FAIL \| [0-9]+ \| missing or too old library libcublasLt\.so\.13: test_parity cannot start \(.*libcublasLt\.so\.13: cannot open shared object file' <<<"$output" ||
  fail "[b-loader] the library the loader could not open is not named"
grep -qE '^\| parity \| NOT_RUN \| 0 \| not run: the machine check failed \(.*libcublasLt' <<<"$output" ||
  fail "[b-loader] the NOT_RUN rows do not say why"

check b-ldd "PATH=$stubs/ldd-missing:$stubs/bin:$PATH" SEPCONV_LIB_SEARCH="$work/empty" PYTHONPATH="$work/empty" -- "${B[@]}"
want_rc 1
row machine FAIL
row parity NOT_RUN
grep -qE '^\| machine \| FAIL \| .*missing library libcublasLt\.so\.13 \(ldd: not found; searched ' <<<"$output" ||
  fail "[b-ldd] the library ldd cannot find is not named"

# A dry run checks the libraries too: a missing one FAILS it.
check b-ldd-dry "PATH=$stubs/ldd-missing:$stubs/bin:$PATH" SEPCONV_LIB_SEARCH="$work/empty" PYTHONPATH="$work/empty" -- "${B[@]}" --dry-run
want_rc 1
row machine FAIL
has 'missing library libcublasLt.so.13'

mkdir -p "$stubs/partial"
cp "$stubs/bundle/test_parity" "$stubs/bundle/sepconv_bench" "$stubs/partial/"
check b-no-binary "$P" -- --bundle "$stubs/partial"
want_rc 1
row machine FAIL
row graph FAIL
row parity PASS
grep -qE "^\| machine \| FAIL \| .*missing binary $stubs/partial/test_layer_gpu" <<<"$output" || fail "[b-no-binary] the missing binary is not named"

check b-empty-bundle "$P" -- --bundle "$work/empty"
want_rc 1
row machine FAIL
row parity NOT_RUN
has "missing binary $work/empty/test_parity"

# The fallback: libcublasLt in a Python wheel, CUDA 13's layout (nvidia/cu13/lib) and CUDA 12's
# (nvidia/cublas/lib).
if command -v python3 >/dev/null; then
  for layout in cu13 cublas; do
    site="$work/site-$layout"
    libdir="$site/nvidia/$layout/lib"
    mkdir -p "$libdir"
    : >"$libdir/libcublasLt.so.13"
    check "b-wheel-$layout" "PATH=$stubs/ldd-fallback:$stubs/bin:$PATH" SEPCONV_LIB_SEARCH="$work/empty" \
      PYTHONPATH="$site" STUB_LOADER=1 STUB_LIBDIR="$libdir" STUB_SAN=clean STUB_HUGE=pass -- "${B[@]}"
    want_rc 0
    for s in machine "${all_stages[@]}"; do row "$s" PASS; done
    has "libcublasLt.so.13: not on the RUNPATH, found in $libdir"
    has "libcublasLt used: libcublasLt.so.13 => $libdir/libcublasLt.so.13"
    grep -qF "libcublasLt used: libcublasLt.so.13 => $libdir/libcublasLt.so.13" "$work/b-wheel-$layout"/*.md ||
      fail "[b-wheel-$layout] the libcublasLt used is not in the results file"
  done
else
  echo "(no python3: the wheel fallback is not checked)"
fi

echo "-- c. a stage failing"
check c-fail "$P" STUB_MODE=fail -- "${B[@]}"
want_rc 1
row machine PASS
row parity FAIL
row huge SKIPPED
row graph PASS
row sanitizers FAIL
row bench PASS
has '1 failed, first ParityShape.MatchesReference/k1024_cl_f32'
has 'first failures in parity.log'
has 'initcheck FAIL (ERROR SUMMARY: 1 error)'
has 'ParityHuge: needs 27.5 GiB'

echo "-- d. a stage over its limit"
check d-timeout "$P" STUB_MODE=slow STUB_SAN=slow STUB_HUGE=slow SEPCONV_CHECK_BUDGET_PARITY=1 \
  SEPCONV_CHECK_BUDGET_HUGE=1 SEPCONV_CHECK_BUDGET_SANITIZERS=1 -- "${B[@]}"
want_rc 1
row parity TIMEOUT
row huge TIMEOUT
has 'stopped by its 1 s limit during ParityHuge.ChannelsLastMoreThan2Pow31Elements'
has 'limit: SEPCONV_CHECK_BUDGET_HUGE=1'
row sanitizers TIMEOUT
row graph PASS
row bench PASS
has 'stopped by its 1 s limit during ParityShape.MatchesReference/long_sleep'
has 'memcheck TIMEOUT (stopped by its 1 s limit before its first test (still loading))'
has 'limit: SEPCONV_CHECK_BUDGET_PARITY=1'
has 'sepconv device check FAILED'

# The total spent: the stages after the slow one are NOT_RUN (the slow one is TIMEOUT, or NOT_RUN
# itself when a busy machine took over a second to check the machine).
check d-budget "$P" STUB_MODE=slow SEPCONV_CHECK_BUDGET=6 SEPCONV_CHECK_BUDGET_PARITY=2 -- "${B[@]}"
want_rc 1
grep -qE '^\| parity \| (TIMEOUT|NOT_RUN) \| ' <<<"$output" || fail "[d-budget] stage parity is not TIMEOUT or NOT_RUN"
for s in huge graph sanitizers bench; do row "$s" NOT_RUN; done
has 'no time left'

echo "-- e. all green, a refused sanitizer"
check e-green "$P" STUB_SAN=clean STUB_HUGE=pass -- "${B[@]}"
want_rc 0
for s in machine "${all_stages[@]}"; do row "$s" PASS; done
has 'channels_last 4.2 s, channels_first 3.9 s'
has 'sepconv device check passed: stub-gpu-80gb'
ls "$work/e-green"/*-stub-gpu-80gb.md >/dev/null 2>&1 || fail "[e-green] no <date>-stub-gpu-80gb.md"

check e-refused "$P" STUB_LT=13.0.2 -- "${B[@]}" --stages parity,sanitizers
want_rc 0
has 'cuBLASLt 13.0.2 is older than the 13.1.0 the bundle was built against'
row parity PASS
row sanitizers PASS
for s in huge graph bench; do row "$s" SKIPPED; done
has 'racecheck UNAVAILABLE (refused: Error: Device not supported)'
has 'synccheck PASS'
has 'every kernel (no --kernel-name)'

check e-all-refused "$P" STUB_SAN=refuse_all -- "${B[@]}" --stages sanitizers
want_rc 0
row sanitizers UNAVAILABLE

echo
[ "$problems" = 0 ] && echo "device_check scripts: all checks passed"
exit "$problems"
