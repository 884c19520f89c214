#!/usr/bin/env bash
# The GPU check: runs the prebuilt bundle (.gpu-bundle/, made by tools/build_gpu_bundle.sh) ON a
# machine with a GPU, from the repository root, building nothing, most valuable stage first, each
# under its own time limit, under five minutes in all:
#   machine     preflight: the bundle's binaries are there, their shared libraries resolve
#               (cuBLASLt is searched for in the CUDA folders and the Python wheels when the
#               RUNPATH misses it), test_parity starts, nvidia-smi lists a GPU and the CUDA runtime
#               sees a device. A missing binary, library or device is a FAIL naming it, and then
#               no GPU stage runs (each is NOT_RUN)
#   1. parity      the GPU/CPU parity suite (test_parity, all but *ParityGraph.* and ParityHuge.*)
#   2. huge        forwards on tensors of more than 2^31 elements (ParityHuge.*)
#   3. graph       CUDA-graph capture and replay (LayerGpu.CapturedGraph*, *ParityGraph.*)
#   4. sanitizers  compute-sanitizer, the four tools side by side, each on a few *ParityPaths.*
#                  cases under its own timeout: memcheck (5 paths), racecheck and synccheck
#                  (sepconv's own kernels, 2 paths), initcheck (2 paths); UNAVAILABLE when the
#                  tool is missing or the machine refuses it
#   5. bench       sepconv_bench, bench/compare_torch.py, bench/report.py
#
#   tools/device_check.sh [--bundle DIR] [--stages a,b,...] [--dry-run] OUT_DIR
#
# OUT_DIR receives the full logs and <date>-<card>.md (the device, the versions, the libcublasLt
# used and the summary; commit it as bench/results/<date>-<card>.md): at most 8 files, one folder
# deep. The summary table (stage, status, seconds, detail) is printed last. Statuses: PASS; FAIL;
# TIMEOUT (stopped by its limit: it tested nothing complete); NOT_RUN (the machine check failed,
# or no time was left); UNAVAILABLE (compute-sanitizer missing or refused: never a failure);
# SKIPPED (not selected, a dry run, or every test of the stage skipped itself with its reason).
# Exit status: 0 when no stage is FAIL, TIMEOUT or NOT_RUN; 1 otherwise (a machine without a GPU,
# a missing library or binary included); 2 for a usage error.
# --bundle DIR  the binaries (default .gpu-bundle; a build folder's tests/ works too, its
#               sepconv_bench is then taken from ../bench/)
# --stages      run only these stages (comma-separated names above); the others are SKIPPED
# --dry-run     for a machine without a GPU: check the binaries and their libraries, run nothing
#               but --sepconv-versions and --gtest_list_tests, print each stage's command, limit
#               and number of tests; a missing device is then SKIPPED, not a failure
# Environment: SEPCONV_CHECK_BUDGET total seconds (default 290); SEPCONV_CHECK_BUDGET_<STAGE>
# (PARITY, HUGE, GRAPH, SANITIZERS, BENCH) one stage's seconds; SEPCONV_LIB_SEARCH folders
# (colon-separated) searched for a missing library instead of the CUDA folders and /usr, /opt.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }
all_stages=(parity huge graph sanitizers bench)
bundle=.gpu-bundle
stages_selected=$(IFS=,; echo "${all_stages[*]}")
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
for s in ${stages_selected//,/ }; do
  [[ " ${all_stages[*]} " == *" $s "* ]] || { echo "device_check: unknown stage '$s' (stages: ${all_stages[*]})" >&2; exit 2; }
done

# ---- time ------------------------------------------------------------------------------------
# Each stage's limit, sized from what it does (estimates for an H200 machine: 16 cores, ~4 TB/s,
# pinned host copies ~20 GB/s; not yet measured, so about twice the expected time where the
# estimate is loose). The first run's seconds column is the measurement to size them again from.
#   machine     no limit of its own: nvidia-smi (15 s at most) and --sepconv-versions (30 s at most
#               each) under their own timeouts; about 3 s on a healthy machine.
#   parity 80   ~1,200 small forwards (golden, random, activation, shape and path groups) checked
#               against the float64 host reference on 16 threads, which is the bottleneck: the
#               docs/gpu-check.md estimates under 60 s on an H100; a third more for the first measured run.
#   huge 45     two tests, each: x of 2^24 x 130 float32 (8.7 GB) generated on the device and y
#               scanned for NaN there (~20 GB of traffic, ~10 ms); the forward moves ~35 GB on the
#               device (~10 ms); 7 sampled windows through the host reference (~1 s): ~2 s each,
#               plus ~3 s to start the process and load cuBLASLt: ~10 s, the rest a margin for
#               the first measured run.
#   graph 20    two processes (~3 s each to start and load cuBLASLt) and a few small captured
#               forwards checked on sampled windows (~2 s each): ~10 s, twice that.
#   sanitizers 90  loading cuBLASLt under a tool alone can take ~60 s, so the four tools would
#               need 4 x 60 s one after the other: they run side by side (each process single-
#               threaded at heart, 16 cores, tiny forwards on one GPU), each under this limit:
#               ~60 s + its 2-5 small cases (~2-5 s each instrumented) = ~75 s, 90 s the limit.
#   bench 50    sepconv_bench: the ceilings (a 1 GiB copy, an 8192^3 GEMM per mode, ~2 s) and 60
#               rows x 23 runs (the slowest, shape e fp32 pointwise, 74 ms a run: ~4 s; most
#               rows under 1 ms) ~15 s; compare_torch.py: importing torch (~5-10 s) and the same
#               rows with cuDNN autotuning ~20 s; report.py ~1 s: ~40 s.
# Stages 80 + 45 + 20 + 90 + 50 = 285 s plus the machine check = the 290 s default of
# SEPCONV_CHECK_BUDGET; a stage killed at its limit gets 5 s more (timeout -k 5): the whole run
# ends by ~300 s, so the device tool's timeout_s 330 leaves a rerun inside a 15-minute lease.
# Whatever is left of the total is a stage's limit when that is less than its own; a stage that
# would start with under 5 s left is NOT_RUN. The order puts first what matters most per second:
# parity (the broadest correctness check), then the cheap checks nothing else makes (huge: 64-bit
# offsets; graph: capture), then the sanitizers (the longest and least certain), then bench
# (timings, not correctness): what an overrun squeezes out is the least valuable.
int_env() {  # int_env NAME DEFAULT: the variable's value, a whole number of seconds
  local v=${!1:-$2}
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "device_check: $1 must be a whole number of seconds (1 or more), not '$v'" >&2; exit 2; }
  echo "$v"
}
total_budget=$(int_env SEPCONV_CHECK_BUDGET 290) || exit 2
declare -A own_limit
for pair in parity:80 huge:45 graph:20 sanitizers:90 bench:50; do
  own_limit[${pair%%:*}]=$(int_env "SEPCONV_CHECK_BUDGET_$(tr '[:lower:]' '[:upper:]' <<<"${pair%%:*}")" "${pair#*:}") || exit 2
done

mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
rm -f "$out"/parity.log "$out"/sanitizers.log "$out"/graph_huge.log "$out"/bench/bench.log
scratch=$(mktemp -d) || exit 2
trap 'rm -rf "$scratch"' EXIT

export SEPCONV_GOLDEN_DIR="$root/tests/data/golden"
export PYTHONUNBUFFERED=1
# Only the kernels a run uses are loaded (CUDA's default since 12.2; said here so that a machine
# setting EAGER cannot make every process, under a sanitizer above all, load all of cuBLASLt).
export CUDA_MODULE_LOADING=${CUDA_MODULE_LOADING:-LAZY}
start=$(date +%s)
deadline=$((start + total_budget))
parity_bin="$bundle/test_parity"
layer_bin="$bundle/test_layer_gpu"
bench_bin="$bundle/sepconv_bench"
[ -e "$bench_bin" ] || [ ! -x "$bundle/../bench/sepconv_bench" ] || bench_bin="$bundle/../bench/sepconv_bench"

say() { echo "[device_check] $*"; }
join() { local IFS=$'\x1f'; local s="$*"; echo "${s//$'\x1f'/; }"; }  # join A B ...: "A; B; ..."
now() { date +%s; }
# Seconds a stage may take: its own limit, or what is left before the deadline.
budget() { local left=$((deadline - $(now))); [ "$1" -lt "$left" ] && echo "$1" || echo "$((left > 0 ? left : 0))"; }
selected() { [[ ",$stages_selected," == *",$1,"* ]]; }

names=() statuses=() seconds=() details=()
record() { names+=("$1"); statuses+=("$2"); seconds+=("$3"); details+=("$4"); say "$1: $2 in $3 s — $4"; }

# ---- the machine -------------------------------------------------------------------------------
# The binaries the selected stages need (test_parity always: it reports the versions and devices).
needed=("$parity_bin")
selected graph && needed+=("$layer_bin")
selected bench && needed+=("$bench_bin")
present=()
missing_bins=()
for b in "${needed[@]}"; do
  if [ -x "$b" ]; then present+=("$b"); else missing_bins+=("$b"); fi
done

# Folders where a missing library may be: SEPCONV_LIB_SEARCH, or the CUDA toolkit's; then the
# Python wheels' (CUDA 13: site-packages/nvidia/cu13/lib; CUDA 12: nvidia/cublas/lib and the
# like), in sys.path order.
lib_dirs() {
  if [ -n "${SEPCONV_LIB_SEARCH:-}" ]; then
    tr ':' '\n' <<<"$SEPCONV_LIB_SEARCH"
  else
    printf '%s\n' /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda-13*/lib64 \
      /usr/local/cuda*/targets/x86_64-linux/lib
  fi
  command -v python3 >/dev/null && timeout 20 python3 - 2>/dev/null <<'PY'
import glob, os, site, sys
roots = [p for p in sys.path if p and os.path.isdir(p)]
try:
    roots += site.getsitepackages() + [site.getusersitepackages()]
except Exception:
    pass
seen = set()
for r in roots:
    for sub in ("nvidia/cu13/lib", "nvidia/cublas/lib", "nvidia/cu1[0-9]/lib", "nvidia/*/lib"):
        for d in sorted(glob.glob(os.path.join(r, sub))):
            if d not in seen:
                seen.add(d)
                print(d)
PY
}
# The libraries ldd cannot resolve for the present binaries, one per line.
unresolved_libs() {
  local b
  for b in "${present[@]}"; do
    ldd "$b" 2>/dev/null | sed -n 's/^[[:space:]]*\([^[:space:]]*\) => not found.*/\1/p'
  done | sort -u
}

machine_t0=$(now)
machine_problems=()   # each names what is missing; any of them fails the machine check
device_problems=()    # no device: a failure, except in a dry run
lib_notes=()
bundle_problems=()    # a missing binary: a failure too, but only its own stages cannot run
for b in "${missing_bins[@]}"; do
  bundle_problems+=("missing binary $b (run tools/build_gpu_bundle.sh on the build machine and carry .gpu-bundle)")
done
have_ldd=1
command -v ldd >/dev/null || { have_ldd=0; lib_notes+=("no ldd: libraries not listed"); }
if [ "$have_ldd" = 1 ] && [ ${#present[@]} -gt 0 ]; then
  for lib in $(unresolved_libs); do
    found=
    while IFS= read -r dir; do
      [ -n "$dir" ] && compgen -G "$dir/$lib*" >/dev/null && { found=$dir; break; }
    done < <(lib_dirs)
    if [ -z "$found" ] && [ -z "${SEPCONV_LIB_SEARCH:-}" ]; then
      hit=$(timeout 10 find /usr /opt -name "$lib*" -not -type d 2>/dev/null | head -n 1)
      [ -n "$hit" ] && found=$(dirname "$hit")
    fi
    if [ -n "$found" ]; then
      export LD_LIBRARY_PATH="$found${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      lib_notes+=("$lib: not on the RUNPATH, found in $found (added to LD_LIBRARY_PATH)")
    fi
  done
  searched="the RUNPATH, ${SEPCONV_LIB_SEARCH:-/usr/local/cuda*}, the Python wheels (nvidia/cu13/lib, nvidia/cublas/lib)"
  [ -n "${SEPCONV_LIB_SEARCH:-}" ] || searched="$searched, /usr and /opt"
  for lib in $(unresolved_libs); do
    machine_problems+=("missing library $lib (ldd: not found; searched $searched)")
  done
fi
# The libcublasLt the binaries load, as ldd resolves it (after any LD_LIBRARY_PATH above).
cublaslt=
if [ "$have_ldd" = 1 ] && [ -x "$parity_bin" ]; then
  cublaslt=$(ldd "$parity_bin" 2>/dev/null | sed -n 's/^[[:space:]]*\(libcublasLt[^[:space:]]*\) => \([^[:space:]]*\).*/\1 => \2/p' | head -n 1)
  target=${cublaslt#*=> }
  [ -n "$cublaslt" ] && [ -e "$target" ] && cublaslt="$cublaslt ($(readlink -f "$target"))"
fi

# A binary's first loader error (missing or too old shared library), if any.
# shellcheck disable=SC2016  # the backquote is the loader's: version `libX.so.N' not found
loader_error() { grep -m 1 -E 'error while loading shared libraries|cannot open shared object file|version `[^`]*'"'"' not found|symbol lookup error|undefined symbol' <<<"$1"; }
# cannot_start BINARY LOADER_LINE: the problem, naming the library first.
cannot_start() {
  local lib
  lib=$(grep -oE 'lib[A-Za-z0-9_+-]*\.so(\.[0-9]+)*' <<<"$2" | head -n 1)
  echo "missing or too old library ${lib:-?}: $(basename "$1") cannot start (${2:0:240})"
}
versions=
devices=
if [ -x "$parity_bin" ]; then
  versions=$(timeout -k 5 30 "$parity_bin" --sepconv-versions 2>&1)
  rc=$?
  if [ "$rc" != 0 ]; then
    err=$(loader_error "$versions")
    if [ -n "$err" ]; then
      machine_problems+=("$(cannot_start "$parity_bin" "$err")")
    elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      machine_problems+=("$parity_bin --sepconv-versions did not finish in 30 s")
    else
      machine_problems+=("$parity_bin --sepconv-versions: exit status $rc: $(tail -n 1 <<<"$versions" | cut -c1-200)")
    fi
  else
    devices=$(sed -n 's/^devices: \([0-9]*\).*/\1/p' <<<"$versions" | head -n 1)
    # "cuBLASLt: 13.0.2 (...; built against 13.1.0; ...)": an older library than the headers the
    # bundle was built with may lack a function (a loader error later, named in its stage).
    lt_run=$(sed -n 's/^cuBLASLt: \([0-9.]*\) .*/\1/p' <<<"$versions" | head -n 1)
    lt_built=$(sed -n 's/^cuBLASLt: .*built against \([0-9.]*\).*/\1/p' <<<"$versions" | head -n 1)
    if [ -n "$lt_run" ] && [ -n "$lt_built" ] && [ "$lt_run" != "$lt_built" ] &&
       [ "$(printf '%s\n' "$lt_run" "$lt_built" | sort -V | head -n 1)" = "$lt_run" ]; then
      lib_notes+=("cuBLASLt $lt_run is older than the $lt_built the bundle was built against")
    fi
  fi
fi
# The other binaries must start too (a loader error there is the same missing library).
for b in "${present[@]}"; do
  [ "$b" = "$parity_bin" ] && continue
  if [ "$b" = "$bench_bin" ]; then probe=$(timeout -k 5 30 "$b" --help 2>&1); else probe=$(timeout -k 5 30 "$b" --sepconv-versions 2>&1); fi
  err=$(loader_error "$probe")
  [ -z "$err" ] || machine_problems+=("$(cannot_start "$b" "$err")")
done

# The device: nvidia-smi must list one, and the CUDA runtime must see it.
gpu_line=
if ! command -v nvidia-smi >/dev/null; then
  device_problems+=("nvidia-smi not found (no NVIDIA driver on this machine)")
else
  smi=$(timeout -k 5 15 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)
  rc=$?
  if [ "$rc" != 0 ]; then
    device_problems+=("nvidia-smi failed (exit status $rc): $(grep -m 1 . <<<"$smi" | cut -c1-200)")
  elif ! grep -q '[^[:space:]]' <<<"$smi"; then
    device_problems+=("nvidia-smi lists no GPU")
  else
    gpu_line=$(head -n 1 <<<"$smi")
  fi
fi
if [ -n "$versions" ] && [ -z "$devices" ] && [ ${#machine_problems[@]} = 0 ]; then
  machine_problems+=("$parity_bin --sepconv-versions printed no 'devices:' line")
elif [ "${devices:-}" = 0 ]; then
  why="test_parity sees no CUDA device (devices: 0; $(grep -m 1 '^CUDA driver:' <<<"$versions"))"
  if [ -n "${CUDA_VISIBLE_DEVICES+set}" ] && [ -n "$gpu_line" ]; then
    why="$why: CUDA_VISIBLE_DEVICES='$CUDA_VISIBLE_DEVICES' hides the GPU nvidia-smi lists ($gpu_line)"
  elif [ -n "${CUDA_VISIBLE_DEVICES+set}" ]; then
    why="$why (CUDA_VISIBLE_DEVICES='$CUDA_VISIBLE_DEVICES')"
  elif [ -n "$gpu_line" ]; then
    why="$why although nvidia-smi lists $gpu_line"
  fi
  device_problems+=("$why")
fi

card=$(sed 's/,.*//; s/^NVIDIA //I' <<<"${gpu_line:-no gpu}" | tr '[:upper:]' '[:lower:]' | tr -cs 'a-z0-9' '-' | sed 's/^-*//; s/-*$//')
# machine_ok=0: no GPU stage can run (no device, a library or test_parity missing).
machine_ok=1
[ -x "$parity_bin" ] || machine_ok=0
[ ${#machine_problems[@]} = 0 ] || machine_ok=0
[ ${#device_problems[@]} = 0 ] || [ "$dry" = 1 ] || machine_ok=0
all_problems=("${bundle_problems[@]}" "${machine_problems[@]}")
[ "$dry" = 1 ] || all_problems+=("${device_problems[@]}")
# What stops the GPU stages, for their rows: the first missing library, start or device problem.
blocking=("${machine_problems[@]}")
[ "$dry" = 1 ] || blocking+=("${device_problems[@]}")
blocking+=("${bundle_problems[@]}")
machine_reason=${blocking[0]:-}
if [ ${#all_problems[@]} -gt 0 ]; then
  for p in "${all_problems[@]}"; do say "machine: MISSING: $p"; done
  record machine FAIL "$(( $(now) - machine_t0 ))" "$(join "${all_problems[@]}")"
elif [ ${#device_problems[@]} -gt 0 ]; then
  record machine SKIPPED "$(( $(now) - machine_t0 ))" "dry run, no device needed: $(join "${device_problems[@]}"); the binaries start; libcublasLt ${cublaslt:-not listed by ldd}"
else
  record machine PASS "$(( $(now) - machine_t0 ))" "$devices device(s): ${gpu_line:-?}; libcublasLt ${cublaslt:-not listed by ldd}${lib_notes[*]:+; $(join "${lib_notes[@]}")}"
fi

result_head="$scratch/result-head.md"
result_md="$out/$(date -u +%Y-%m-%d)-${card:-no-gpu}.md"
{
  echo "# sepconv device check, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo '```'
  echo "nvidia-smi (name, driver, memory): ${gpu_line:-none}"
  [ -n "$versions" ] && echo "$versions"
  echo "libcublasLt used: ${cublaslt:-not listed by ldd}"
  for n in "${lib_notes[@]}"; do echo "library: $n"; done
  echo "CUDA_VISIBLE_DEVICES: ${CUDA_VISIBLE_DEVICES-unset}; CUDA_MODULE_LOADING: $CUDA_MODULE_LOADING"
  echo "budget: $total_budget s; limits: parity ${own_limit[parity]}, huge ${own_limit[huge]}, graph ${own_limit[graph]}, sanitizers ${own_limit[sanitizers]}, bench ${own_limit[bench]}"
  [ -f "$bundle/BUNDLE.txt" ] && sed 's/^/bundle: /' "$bundle/BUNDLE.txt"
  echo "repository: $(git rev-parse --short HEAD 2>/dev/null || echo 'no git metadata')"
  echo '```'
} >"$result_head"
cat "$result_head"

# ---- stages ------------------------------------------------------------------------------------
# Sets STATUS and DETAIL from a GoogleTest binary's exit code and log. The machine check has seen
# a device, so a binary that finds none (exit 77) FAILS.
classify_gtest() {
  local rc=$1 log=$2 limit=${3:-?} passed skipped failed err last_run
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
  last_run=$(grep '^\[ RUN      \]' "$log" | tail -n 1 | sed 's/^\[ RUN      \] //')
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
    77) STATUS=FAIL; DETAIL="the binary found no usable device: $(grep -m 1 'SKIPPED' "$log" | cut -c1-200)" ;;
    124|137) STATUS=TIMEOUT
      DETAIL="stopped by its ${limit} s limit during ${last_run:-start-up}; $(grep -c '^\[       OK \]' "$log") tests passed before" ;;
    *)
      failed=$(sed -n '/listed below:$/,$p' "$log" | grep -E '^\[  FAILED  \] [A-Za-z]')
      err=$(loader_error "$(cat "$log")")
      STATUS=FAIL
      if [ -n "$failed" ]; then
        DETAIL="$(wc -l <<<"$failed") failed, first $(head -n 1 <<<"$failed" | sed 's/^\[  FAILED  \] //; s/,.*//')"
      elif [ -n "$err" ]; then
        DETAIL="cannot start: $(cut -c1-200 <<<"$err")"
      else
        DETAIL="exit status $rc$( [ "$rc" -gt 128 ] && echo " (signal $((rc - 128)))"), last test ${last_run:-none}"
      fi ;;
  esac
}

# Worst of several parts' statuses.
combine() {
  local s
  for s in FAIL TIMEOUT NOT_RUN PASS UNAVAILABLE SKIPPED; do
    [[ " $* " == *" $s "* ]] && { echo "$s"; return; }
  done
  echo SKIPPED
}

# run_gtest_part LOG LIMIT BINARY ARGS... : one binary run, streamed into the log; sets STATUS and
# DETAIL.
run_gtest_part() {
  local log=$1 limit=$2 rc part
  shift 2
  part=$(mktemp -p "$scratch")
  echo "== $* (limit $limit s)" >>"$log"
  timeout -k 5 "$limit" "$@" 2>&1 | tee -a "$log" >"$part"
  rc=${PIPESTATUS[0]}
  echo "== exit status $rc" >>"$log"
  classify_gtest "$rc" "$part" "$limit"
  rm -f "$part"
}

# The number of tests of BINARY a filter selects (no device needed).
count_tests() { timeout 30 "$1" --gtest_list_tests "--gtest_filter=$2" 2>/dev/null | grep -c '^  '; }

# The sanitizer subsets: a few ParityPaths cases each (tests/gpu/parity_case.cpp, path_cases()).
paths() { local f='' c; for c in "$@"; do f="$f${f:+:}*ParityPaths.*/$c"; done; echo "$f"; }
sanitizer_tools=(memcheck racecheck synccheck initcheck)
declare -A sanitizer_filter=(
  # out-of-bounds and misaligned accesses: channels_last and channels_first sliding tiles, a 16-bit
  # strided one, the tap-chunked path and the softmax row reduction
  [memcheck]=$(paths sliding_cl_f32_relu_bias_epilogue sliding_cf_f32_gelu_ones_row strided_cl_f16_silu tap_chunked_cl_f32 softmax_rows_cl_tf32)
  # shared-memory races and barriers of sepconv's kernels: the depthwise tiles (tap-chunked) and the
  # row kernel's block reduction
  [racecheck]=$(paths tap_chunked_cf_f32 softmax_rows_cl_tf32)
  [synccheck]=$(paths tap_chunked_cf_f32 softmax_rows_cl_tf32)
  # uninitialized reads: D with the bias's ones row and its padded leading dimension; a forward in
  # workspace chunks
  [initcheck]=$(paths sliding_cf_f32_gelu_ones_row workspace_chunks_cf_f16)
)

# Runs a stage: not selected, NOT_RUN after a failed machine check, FAIL without its binaries, a
# dry run (the command, the limit and how many tests each filter selects), NOT_RUN with no time
# left, else its function with its limit; records the result.
# stage NAME FUNCTION "COMMAND SHOWN" BINARY:FILTER...
stage() {
  local name=$1 fn=$2 shown=$3 limit t0 b spec counts='' n
  shift 3
  if ! selected "$name"; then record "$name" SKIPPED 0 "not selected (--stages)"; return; fi
  if [ "$machine_ok" = 0 ]; then record "$name" NOT_RUN 0 "not run: the machine check failed (${machine_reason:0:100})"; return; fi
  for spec in "$@"; do
    b=${spec%%:*}
    [ -x "$b" ] || { record "$name" FAIL 0 "missing binary $b"; return; }
  done
  limit=$(budget "${own_limit[$name]}")
  if [ "$dry" = 1 ]; then
    for spec in "$@"; do
      [[ "$spec" == *:* ]] || continue
      n=$(count_tests "${spec%%:*}" "${spec#*:}")
      if [ "${n:-0}" = 0 ]; then record "$name" FAIL 0 "dry run: --gtest_filter=${spec#*:} selects no test of ${spec%%:*}"; return; fi
      counts="$counts${counts:+, }$n tests"
    done
    record "$name" SKIPPED 0 "dry run: $shown (limit $limit s${counts:+; $counts})"
    return
  fi
  if [ $((deadline - $(now))) -lt 5 ]; then
    record "$name" NOT_RUN 0 "no time left: under 5 s left of the $total_budget s budget (SEPCONV_CHECK_BUDGET)"
    return
  fi
  t0=$(now)
  say "$name: running (limit $limit s)"
  STATUS=FAIL DETAIL="did not report"
  "$fn" "$limit"
  [ "$STATUS" != TIMEOUT ] || DETAIL="$DETAIL [limit: SEPCONV_CHECK_BUDGET_$(tr '[:lower:]' '[:upper:]' <<<"$name")=${own_limit[$name]}, SEPCONV_CHECK_BUDGET=$total_budget]"
  record "$name" "$STATUS" "$(( $(now) - t0 ))" "$DETAIL"
}

parity_filter='-*ParityGraph.*:ParityHuge.*'
parity_stage() { run_gtest_part "$out/parity.log" "$1" "$parity_bin" "--gtest_filter=$parity_filter"; }

huge_stage() {
  local times
  run_gtest_part "$out/graph_huge.log" "$1" "$parity_bin" '--gtest_filter=ParityHuge.*'
  # The tests' own timings ("[   INFO   ] channels_last: ... total 7.1 s").
  times=$(sed -n 's/^\[   INFO   \] \([a-z_]*\): .*total \([0-9.]* s\).*/\1 \2/p' "$out/graph_huge.log" | paste -sd, - | sed 's/,/, /g')
  [ -z "$times" ] || DETAIL="$DETAIL ($times)"
}

graph_stage() {
  local log="$out/graph_huge.log" half=$(( $1 / 2 )) s1 d1
  run_gtest_part "$log" "$half" "$layer_bin" '--gtest_filter=LayerGpu.CapturedGraph*'
  s1=$STATUS d1=$DETAIL
  run_gtest_part "$log" "$(( $1 - half ))" "$parity_bin" '--gtest_filter=*ParityGraph.*'
  DETAIL="test_layer_gpu: $s1 ($d1); ParityGraph: $STATUS ($DETAIL)"
  STATUS=$(combine "$s1" "$STATUS")
}

# sanitizer_tool TOOL LIMIT LOG RESULT: one tool on its subset; writes "STATUS<tab>DETAIL" to RESULT.
sanitizer_tool() {
  local tool=$1 limit=$2 log=$3 result=$4 filter_args=() rc part summary refused status detail last_run
  # racecheck and synccheck look at sepconv's own kernels (their shared memory and barriers), not
  # cuBLASLt's.
  case $tool in racecheck|synccheck) filter_args=(--kernel-name kns=sepconv) ;; esac
  part="$log.part"
  while :; do
    echo "== compute-sanitizer --tool $tool ${filter_args[*]} --gtest_filter=${sanitizer_filter[$tool]} (limit $limit s)" >>"$log"
    # Four tools share the host: a quarter of its threads each for the reference.
    SEPCONV_TEST_THREADS=${SEPCONV_TEST_THREADS:-4} timeout -k 5 "$limit" "$sanitizer" --tool "$tool" \
      --error-exitcode 86 --print-limit 20 "${filter_args[@]}" "$parity_bin" \
      "--gtest_filter=${sanitizer_filter[$tool]}" >"$part" 2>&1
    rc=$?
    cat "$part" >>"$log"
    echo "== exit status $rc" >>"$log"
    if [ "$rc" != 0 ] && [ ${#filter_args[@]} -gt 0 ] && grep -qiE 'unrecognized|unknown option|invalid option' "$part"; then
      filter_args=()  # an older or newer compute-sanitizer: check every kernel instead
      continue
    fi
    break
  done
  summary=$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$part" | tail -n 1 | sed 's/^========= //')
  refused=$(grep -m 1 -iE 'not supported|unsupported|permission|ERR_NVGPUCTRPERM|failed to initiali[sz]e|LibraryNotLoaded|error 999|cudaErrorUnknown|unable to (find|connect)' "$part")
  case $rc in
    0)
      classify_gtest 0 "$part" "$limit"
      status=$STATUS
      if [ "$STATUS" = PASS ]; then detail="${summary:-ok}, $DETAIL"; else detail=$DETAIL; fi ;;
    86) status=FAIL; detail=${summary:-errors} ;;
    124|137)
      status=TIMEOUT
      last_run=$(grep '^\[ RUN      \]' "$part" | tail -n 1 | sed 's/^\[ RUN      \] //')
      if [ -n "$last_run" ]; then detail="stopped by its $limit s limit during $last_run"
      else detail="stopped by its $limit s limit before its first test (still loading)"; fi ;;
    *)
      if [ -n "$refused" ]; then
        status=UNAVAILABLE; refused=${refused#========= }; detail="refused: ${refused:0:80}"
      elif [ "$rc" = 77 ]; then
        status=UNAVAILABLE; detail="no usable device under the tool: $(grep -m 1 SKIPPED "$part" | cut -c1-80)"
      else
        classify_gtest "$rc" "$part" "$limit"
        status=FAIL; detail=$DETAIL
      fi ;;
  esac
  [ "${filter_args[*]}" = "" ] && [[ $tool == racecheck || $tool == synccheck ]] && detail="$detail; every kernel (no --kernel-name)"
  printf '%s\t%s\n' "$status" "$detail" >"$result"
}

sanitizers_stage() {
  local limit=$1 log="$out/sanitizers.log" dir tool pids=() parts=() stage_details=() t0 st dt
  sanitizer=$(command -v compute-sanitizer || compgen -G '/usr/local/cuda*/bin/compute-sanitizer' || compgen -G '/opt/nvidia/*/compute-sanitizer/compute-sanitizer')
  sanitizer=$(head -n 1 <<<"$sanitizer")
  if [ -z "$sanitizer" ]; then STATUS=UNAVAILABLE; DETAIL="compute-sanitizer not found"; return; fi
  dir=$(mktemp -d -p "$scratch")
  t0=$(now)
  for tool in "${sanitizer_tools[@]}"; do
    sanitizer_tool "$tool" "$limit" "$dir/$tool.log" "$dir/$tool.result" &
    pids+=($!)
  done
  wait "${pids[@]}"
  : >"$log"
  for tool in "${sanitizer_tools[@]}"; do
    cat "$dir/$tool.log" >>"$log" 2>/dev/null
    IFS=$'\t' read -r st dt <"$dir/$tool.result" 2>/dev/null || { st=FAIL; dt="did not report"; }
    parts+=("$st")
    stage_details+=("$tool $st ($dt)")
  done
  STATUS=$(combine "${parts[@]}")
  DETAIL="side by side, $(( $(now) - t0 )) s: $(join "${stage_details[@]}")"
}

bench_stage() {
  local log="$out/bench/bench.log" end=$(( $(now) + $1 )) rc left
  mkdir -p "$out/bench"
  echo "== $bench_bin --out $out/bench (limit $1 s)" >"$log"
  timeout -k 5 "$1" "$bench_bin" --out "$out/bench" >>"$log" 2>&1
  rc=$?
  case $rc in
    0) STATUS=PASS; DETAIL="sepconv_bench ok" ;;
    124|137) STATUS=TIMEOUT; DETAIL="sepconv_bench stopped by its $1 s limit"; return ;;
    *) STATUS=FAIL; DETAIL="sepconv_bench exit status $rc"; return ;;
  esac
  if [ ! -f bench/compare_torch.py ] || ! command -v python3 >/dev/null; then
    DETAIL="$DETAIL; torch comparison UNAVAILABLE (no bench/compare_torch.py or python3)"
  else
    left=$(( end - $(now) ))
    if [ "$left" -lt 1 ]; then STATUS=TIMEOUT; DETAIL="$DETAIL; no time left for compare_torch"; return; fi
    echo "== python3 bench/compare_torch.py (limit $left s)" >>"$log"
    timeout -k 5 "$left" python3 bench/compare_torch.py --sepconv "$out/bench/sepconv.json" \
      --out "$out/bench" >>"$log" 2>&1
    rc=$?
    case $rc in
      0) DETAIL="$DETAIL; compare_torch ok" ;;
      124|137) STATUS=TIMEOUT; DETAIL="$DETAIL; compare_torch stopped by its $left s limit"; return ;;
      *) STATUS=FAIL; DETAIL="$DETAIL; compare_torch exit status $rc"; return ;;
    esac
  fi
  if [ -f bench/report.py ] && command -v python3 >/dev/null; then
    echo "== python3 bench/report.py" >>"$log"
    # report.py writes a markdown file in about a second: at least 5 s even past the limit.
    timeout -k 5 "$(( end - $(now) > 5 ? end - $(now) : 5 ))" python3 bench/report.py --no-copies "$out/bench" >>"$log" 2>&1
    rc=$?
    if [ "$rc" = 0 ]; then DETAIL="$DETAIL; report ok"; else STATUS=FAIL; DETAIL="$DETAIL; report.py exit status $rc"; fi
  fi
}

stage parity parity_stage "$parity_bin --gtest_filter=$parity_filter" "$parity_bin:$parity_filter"
stage huge huge_stage "$parity_bin --gtest_filter=ParityHuge.*" "$parity_bin:ParityHuge.*"
stage graph graph_stage "$layer_bin --gtest_filter=LayerGpu.CapturedGraph*; $parity_bin --gtest_filter=*ParityGraph.*" \
  "$layer_bin:LayerGpu.CapturedGraph*" "$parity_bin:*ParityGraph.*"
san_shown=() san_specs=()
for t in "${sanitizer_tools[@]}"; do
  kn=; [[ $t == racecheck || $t == synccheck ]] && kn=' --kernel-name kns=sepconv'
  san_shown+=("compute-sanitizer --tool $t$kn $parity_bin --gtest_filter=${sanitizer_filter[$t]}")
  san_specs+=("$parity_bin:${sanitizer_filter[$t]}")
done
stage sanitizers sanitizers_stage "side by side: $(join "${san_shown[@]}")" "${san_specs[@]}"
stage bench bench_stage "$bench_bin --out $out/bench; python3 bench/compare_torch.py ...; python3 bench/report.py $out/bench" "$bench_bin"

# ---- results -----------------------------------------------------------------------------------
bad=0
table="| stage | status | seconds | detail |
|---|---|---|---|"
for i in "${!names[@]}"; do
  case ${statuses[$i]} in FAIL|TIMEOUT|NOT_RUN) bad=$((bad + 1)) ;; esac
  table="$table
| ${names[$i]} | ${statuses[$i]} | ${seconds[$i]} | ${details[$i]//|//} |"
done
{
  cat "$result_head"
  echo
  echo "## Summary ($(( $(now) - start )) s)"
  echo
  echo "$table"
  for f in "$out"/bench/*.md; do [ -f "$f" ] && { echo; cat "$f"; }; done
} >"$result_md"

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
if [ "$bad" = 0 ]; then verdict="passed"; else verdict="FAILED: $bad stage(s) FAIL, TIMEOUT or NOT_RUN"; fi
echo "sepconv device check $verdict: ${card:-no gpu}, $(( $(now) - start )) s, results in $result_md"
echo "$table"
[ "$bad" = 0 ]
