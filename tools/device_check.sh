#!/usr/bin/env bash
# The GPU check: runs the prebuilt bundle (.gpu-bundle/, made by tools/build_gpu_bundle.sh) on a
# machine with a GPU, from the repository root, building nothing, most valuable stage first, each
# under its own time limit, five minutes in all:
#   1. parity      the GPU/CPU parity suite (test_parity, all but *ParityGraph.* and ParityHuge.*)
#   2. sanitizers  compute-sanitizer memcheck, racecheck, initcheck, synccheck on *ParityPaths.*
#                  (one small forward per kernel path); UNAVAILABLE when the tool is missing or
#                  the machine refuses it
#   3. graph       CUDA-graph capture and replay (LayerGpu.CapturedGraph*, *ParityGraph.*)
#   4. huge        forwards on tensors of more than 2^31 elements (ParityHuge.*)
#   5. bench       sepconv_bench, bench/compare_torch.py, bench/report.py, when the bundle has
#                  the benchmark
#
#   tools/device_check.sh [--bundle DIR] [--stages a,b,...] [--dry-run] OUT_DIR
#
# OUT_DIR receives the full logs and <date>-<card>.md (the device, the versions and the summary;
# commit it as bench/results/<date>-<card>.md): at most 8 files, one folder deep. The summary table
# (stage, PASS / FAIL / UNAVAILABLE / TIMEOUT / SKIPPED, seconds, detail) is printed last. Exit
# status: 1 when a stage FAILED, else 0 (a machine without a GPU skips every GPU stage).
# --bundle DIR  the binaries (default .gpu-bundle; a build folder's tests/ works too)
# --stages      run only these stages (comma-separated names above); the others are SKIPPED
# --dry-run     run nothing but the bundle's --sepconv-versions; print each stage's command
# Environment: SEPCONV_CHECK_BUDGET total seconds (default 295).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }
bundle=.gpu-bundle
stages_selected=parity,sanitizers,graph,huge,bench
dry=0
out=
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle=${2:?--bundle needs a folder}; shift 2 ;;
    --stages) stages_selected=${2:?--stages needs a list}; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage ;;
    -*) echo "device_check: unknown option $1" >&2; usage ;;
    *) [ -z "$out" ] || usage; out=$1; shift ;;
  esac
done
[ -n "$out" ] || usage
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
rm -f "$out"/parity.log "$out"/sanitizers.log "$out"/graph_huge.log "$out"/bench/bench.log

export SEPCONV_GOLDEN_DIR="$root/tests/data/golden"
export PYTHONUNBUFFERED=1
start=$(date +%s)
deadline=$((start + ${SEPCONV_CHECK_BUDGET:-295}))
parity_bin="$bundle/test_parity"
layer_bin="$bundle/test_layer_gpu"
bench_bin="$bundle/sepconv_bench"

say() { echo "[device_check] $*"; }
now() { date +%s; }
# Seconds a stage may take: its budget, or what is left before the deadline.
budget() { local left=$((deadline - $(now))); [ "$1" -lt "$left" ] && echo "$1" || echo "$((left > 0 ? left : 0))"; }

# ---- the machine -------------------------------------------------------------------------------
# cuBLASLt comes from the GPU machine: when the bundle's RUNPATH misses it, look where CUDA and the
# Python wheels keep it.
if [ -x "$parity_bin" ] && ldd "$parity_bin" 2>/dev/null | grep -q 'libcublasLt.*not found'; then
  for dir in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/local/cuda*/targets/x86_64-linux/lib \
             "$(python3 -c 'import nvidia.cublas as m; print(list(m.__path__)[0] + "/lib")' 2>/dev/null)" \
             "$(dirname "$(timeout 20 find /usr /opt -name 'libcublasLt.so.13*' 2>/dev/null | head -n 1)")"; do
    if [ -n "$dir" ] && ls "$dir"/libcublasLt.so.13* >/dev/null 2>&1; then
      export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      break
    fi
  done
fi

gpu_line=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
card=$(sed 's/,.*//; s/^NVIDIA //I' <<<"${gpu_line:-no gpu}" | tr '[:upper:]' '[:lower:]' | tr -cs 'a-z0-9' '-' | sed 's/^-*//; s/-*$//')
versions=
devices=0
if [ -x "$parity_bin" ]; then
  versions=$("$parity_bin" --sepconv-versions 2>&1)
  devices=$(sed -n 's/^devices: \([0-9]*\).*/\1/p' <<<"$versions" | head -n 1)
  devices=${devices:-0}
fi
cublaslt=$( { ldd "$parity_bin" 2>/dev/null | grep cublasLt; } | sed 's/^[[:space:]]*//')
result_md="$out/$(date -u +%Y-%m-%d)-${card:-no-gpu}.md"
{
  echo "# sepconv device check, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo '```'
  echo "nvidia-smi (name, driver, memory): ${gpu_line:-none}"
  echo "$versions"
  echo "libcublasLt: ${cublaslt:-?}"
  [ -f "$bundle/BUNDLE.txt" ] && sed 's/^/bundle: /' "$bundle/BUNDLE.txt"
  echo "repository: $(git rev-parse --short HEAD 2>/dev/null || echo 'no git metadata')"
  echo '```'
} >"$result_md.head"
cat "$result_md.head"

# ---- stages ------------------------------------------------------------------------------------
names=() statuses=() seconds=() details=()
record() { names+=("$1"); statuses+=("$2"); seconds+=("$3"); details+=("$4"); say "$1: $2 in $3 s — $4"; }
selected() { [[ ",$stages_selected," == *",$1,"* ]]; }

# Sets STATUS and DETAIL from a GoogleTest binary's exit code and log.
classify_gtest() {
  local rc=$1 log=$2 passed skipped failed
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
  case $rc in
    0)
      if [ "${passed:-0}" = 0 ] && [ "${skipped:-0}" != 0 ]; then
        STATUS=SKIPPED
        DETAIL=$(grep -m 1 -E '^[A-Za-z]+: (needs|SKIPPED)' "$log" || echo "$skipped tests skipped")
      elif [ "${passed:-0}" = 0 ]; then
        STATUS=FAIL
        DETAIL="no test ran (does the filter match any?)"
      else
        STATUS=PASS
        DETAIL="${passed:-0} tests passed${skipped:+, $skipped skipped}"
      fi ;;
    77) STATUS=SKIPPED; DETAIL=$(grep -m 1 'SKIPPED' "$log" || echo "no device") ;;
    124|137) STATUS=TIMEOUT
      DETAIL="stopped by its time limit during $(grep '^\[ RUN      \]' "$log" | tail -n 1 | sed 's/^\[ RUN      \] //')" ;;
    *)
      failed=$(sed -n '/listed below:$/,$p' "$log" | grep -E '^\[  FAILED  \] [A-Za-z]')
      STATUS=FAIL
      if [ -n "$failed" ]; then
        DETAIL="$(wc -l <<<"$failed") failed, first $(head -n 1 <<<"$failed" | sed 's/^\[  FAILED  \] //; s/,.*//')"
      else
        DETAIL="exit status $rc$( [ "$rc" -gt 128 ] && echo " (signal $((rc - 128)))"), last test $(grep '^\[ RUN      \]' "$log" | tail -n 1 | sed 's/^\[ RUN      \] //')"
      fi ;;
  esac
}

# Worst of several parts' statuses: FAIL > TIMEOUT > PASS > UNAVAILABLE > SKIPPED.
combine() {
  local s
  for s in FAIL TIMEOUT PASS UNAVAILABLE SKIPPED; do
    [[ " $* " == *" $s "* ]] && { echo "$s"; return; }
  done
  echo SKIPPED
}

# run_gtest_part LOG LIMIT BINARY ARGS... : one binary run, streamed into the log; sets STATUS and
# DETAIL.
run_gtest_part() {
  local log=$1 limit=$2 rc part
  shift 2
  part=$(mktemp)
  echo "== $* (limit $limit s)" >>"$log"
  timeout -k 5 "$limit" "$@" 2>&1 | tee -a "$log" >"$part"
  rc=${PIPESTATUS[0]}
  echo "== exit status $rc" >>"$log"
  classify_gtest "$rc" "$part"
  rm -f "$part"
}

# Runs a stage function with its budget, unless it is not selected, the bundle lacks a binary, or
# this is a dry run; records the result.
stage() {
  local name=$1 limit=$2 fn=$3 t0
  shift 3
  if ! selected "$name"; then record "$name" SKIPPED 0 "not selected (--stages)"; return; fi
  if [ ! -x "$parity_bin" ]; then record "$name" FAIL 0 "no $parity_bin: run tools/build_gpu_bundle.sh and carry .gpu-bundle"; return; fi
  limit=$(budget "$limit")
  if [ "$dry" = 1 ]; then record "$name" SKIPPED 0 "dry run: $* (limit $limit s)"; return; fi
  if [ "$devices" = 0 ]; then record "$name" SKIPPED 0 "no CUDA device"; return; fi
  if [ "$limit" -lt 5 ]; then record "$name" SKIPPED 0 "no time left in the ${SEPCONV_CHECK_BUDGET:-295} s budget"; return; fi
  t0=$(now)
  say "$name: running (limit $limit s)"
  STATUS=FAIL DETAIL="did not report"
  "$fn" "$limit"
  record "$name" "$STATUS" "$(( $(now) - t0 ))" "$DETAIL"
}

parity_stage() {
  run_gtest_part "$out/parity.log" "$1" "$parity_bin" '--gtest_filter=-*ParityGraph.*:ParityHuge.*'
}

sanitizer_tool() {
  local tool=$1 limit=$2 log=$3 filter_args=() rc
  # racecheck and synccheck look at sepconv's own kernels (their shared memory and barriers), not
  # cuBLASLt's.
  case $tool in racecheck|synccheck) filter_args=(--kernel-name kns=sepconv) ;; esac
  while :; do
    echo "== compute-sanitizer --tool $tool ${filter_args[*]} (limit $limit s)" >>"$log"
    local part
    part=$(mktemp)
    timeout -k 5 "$limit" "$sanitizer" --tool "$tool" --error-exitcode 86 --print-limit 20 \
      "${filter_args[@]}" "$parity_bin" '--gtest_filter=*ParityPaths.*' 2>&1 | tee -a "$log" >"$part"
    rc=${PIPESTATUS[0]}
    echo "== exit status $rc" >>"$log"
    if [ "$rc" != 0 ] && [ ${#filter_args[@]} -gt 0 ] && grep -qiE 'unrecognized|unknown option|invalid option' "$part"; then
      filter_args=()  # an older or newer compute-sanitizer: check every kernel instead
      rm -f "$part"
      continue
    fi
    break
  done
  local summary
  summary=$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$part" | tail -n 1 | sed 's/^========= //')
  case $rc in
    0) T_STATUS=PASS; T_DETAIL=${summary:-ok} ;;
    86) T_STATUS=FAIL; T_DETAIL=${summary:-errors} ;;
    77) T_STATUS=SKIPPED; T_DETAIL="no device under the sanitizer" ;;
    124|137) T_STATUS=TIMEOUT; T_DETAIL="over $limit s" ;;
    *)
      local refused
      refused=$(grep -m 1 -iE 'not supported|unsupported|permission|ERR_NVGPUCTRPERM|failed to initiali[sz]e|LibraryNotLoaded|error 999|cudaErrorUnknown|unable to (find|connect)' "$part")
      if [ -n "$refused" ]; then
        T_STATUS=UNAVAILABLE; T_DETAIL="refused: $(sed 's/^========= //' <<<"$refused" | cut -c1-80)"
      else
        classify_gtest "$rc" "$part"
        T_STATUS=FAIL; T_DETAIL="$DETAIL"
      fi ;;
  esac
  rm -f "$part"
}

sanitizers_stage() {
  local log="$out/sanitizers.log" stage_end=$(( $(now) + $1 )) tools=(memcheck racecheck initcheck synccheck)
  local parts=() details=() i left t0
  : >"$log"
  sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda-*/bin/compute-sanitizer /opt/nvidia/*/compute-sanitizer/compute-sanitizer 2>/dev/null | head -n 1)
  if [ -z "$sanitizer" ]; then STATUS=UNAVAILABLE; DETAIL="compute-sanitizer not found"; return; fi
  for i in "${!tools[@]}"; do
    left=$(( (stage_end - $(now)) / (${#tools[@]} - i) ))
    if [ "$left" -lt 3 ]; then parts+=(TIMEOUT); details+=("${tools[$i]} no time"); continue; fi
    t0=$(now)
    sanitizer_tool "${tools[$i]}" "$left" "$log"
    parts+=("$T_STATUS")
    details+=("${tools[$i]} $T_STATUS $(( $(now) - t0 ))s${T_DETAIL:+ ($T_DETAIL)}")
  done
  STATUS=$(combine "${parts[@]}")
  DETAIL=$(IFS=';'; echo "${details[*]}" | sed 's/;/; /g')
}

graph_stage() {
  local log="$out/graph_huge.log" half=$(( $1 / 2 )) s1 d1
  run_gtest_part "$log" "$half" "$layer_bin" '--gtest_filter=LayerGpu.CapturedGraph*'
  s1=$STATUS d1=$DETAIL
  run_gtest_part "$log" "$(( $1 - half ))" "$parity_bin" '--gtest_filter=*ParityGraph.*'
  DETAIL="test_layer_gpu: $s1 ($d1); ParityGraph: $STATUS ($DETAIL)"
  STATUS=$(combine "$s1" "$STATUS")
}

huge_stage() {
  run_gtest_part "$out/graph_huge.log" "$1" "$parity_bin" '--gtest_filter=ParityHuge.*'
}

bench_stage() {
  local log="$out/bench/bench.log" end=$(( $(now) + $1 )) rc
  mkdir -p "$out/bench"
  if [ ! -x "$bench_bin" ]; then STATUS=SKIPPED; DETAIL="no sepconv_bench in the bundle"; return; fi
  echo "== $bench_bin --out $out/bench" >"$log"
  timeout -k 5 "$1" "$bench_bin" --out "$out/bench" >>"$log" 2>&1
  rc=$?
  case $rc in
    0) STATUS=PASS; DETAIL="sepconv_bench ok" ;;
    124|137) STATUS=TIMEOUT; DETAIL="sepconv_bench over $1 s"; return ;;
    *) STATUS=FAIL; DETAIL="sepconv_bench exit status $rc"; return ;;
  esac
  if [ ! -f bench/compare_torch.py ] || ! command -v python3 >/dev/null; then
    DETAIL="$DETAIL; torch comparison UNAVAILABLE (no bench/compare_torch.py or python3)"
  else
    echo "== python3 bench/compare_torch.py" >>"$log"
    timeout -k 5 "$(( end - $(now) ))" python3 bench/compare_torch.py --sepconv "$out/bench/sepconv.json" \
      --out "$out/bench" >>"$log" 2>&1
    rc=$?
    case $rc in
      0) DETAIL="$DETAIL; compare_torch ok" ;;
      124|137) STATUS=TIMEOUT; DETAIL="$DETAIL; compare_torch over its time"; return ;;
      *) STATUS=FAIL; DETAIL="$DETAIL; compare_torch exit status $rc"; return ;;
    esac
  fi
  if [ -f bench/report.py ] && command -v python3 >/dev/null; then
    echo "== python3 bench/report.py" >>"$log"
    timeout -k 5 "$(( end - $(now) > 5 ? end - $(now) : 5 ))" python3 bench/report.py --no-copies "$out/bench" >>"$log" 2>&1
    rc=$?
    [ "$rc" = 0 ] && DETAIL="$DETAIL; report ok" || { STATUS=FAIL; DETAIL="$DETAIL; report.py exit status $rc"; }
  fi
}

stage parity 100 parity_stage "$parity_bin --gtest_filter=-*ParityGraph.*:ParityHuge.*"
stage sanitizers 60 sanitizers_stage "compute-sanitizer --tool {memcheck,racecheck,initcheck,synccheck} $parity_bin --gtest_filter=*ParityPaths.*"
stage graph 20 graph_stage "$layer_bin --gtest_filter=LayerGpu.CapturedGraph*; $parity_bin --gtest_filter=*ParityGraph.*"
stage huge 40 huge_stage "$parity_bin --gtest_filter=ParityHuge.*"
stage bench 90 bench_stage "$bench_bin --out $out/bench; python3 bench/compare_torch.py ...; python3 bench/report.py $out/bench"

# ---- results -----------------------------------------------------------------------------------
failed=0
table="| stage | status | seconds | detail |
|---|---|---|---|"
for i in "${!names[@]}"; do
  [ "${statuses[$i]}" = FAIL ] && failed=$((failed + 1))
  table="$table
| ${names[$i]} | ${statuses[$i]} | ${seconds[$i]} | ${details[$i]//|//} |"
done
{
  cat "$result_md.head"
  echo
  echo "## Summary ($(( $(now) - start )) s)"
  echo
  echo "$table"
  for f in "$out"/bench/*.md; do [ -f "$f" ] && { echo; cat "$f"; }; done
} >"$result_md"
rm -f "$result_md.head"

# The first failures of each failed stage, before the summary.
for log in "$out"/parity.log "$out"/sanitizers.log "$out"/graph_huge.log; do
  [ -f "$log" ] || continue
  lines=$(grep -E -A4 '(: Failure$|^\[  FAILED  \] [A-Za-z].*\(|========= (Invalid|Race|Uninitialized|Barrier|Program hit))' "$log" | head -n 40)
  [ -n "$lines" ] && { echo "---- first failures in $(basename "$log") ----"; echo "$lines"; }
done
# The device tool returns files under 16 MiB: keep the head and the tail of a longer log.
find "$out" -type f -size +15M | while read -r big; do
  { head -c 7M "$big"; printf '\n[... cut by device_check.sh ...]\n'; tail -c 7M "$big"; } >"$big.cut" &&
    mv "$big.cut" "$big"
done
files=$(find "$out" -type f | wc -l)
[ "$files" -le 8 ] || say "warning: $files files under $out (the device tool returns at most 8)"
echo
echo "sepconv device check: ${card:-no gpu}, $(( $(now) - start )) s, results in $result_md"
echo "$table"
[ "$failed" = 0 ]
