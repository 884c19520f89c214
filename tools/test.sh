#!/usr/bin/env bash
# Builds and runs sepconv's whole test suite (the README's test command; CI runs exactly this).
#
#   1. the main build: library (shared), kernels for one architecture, tests, tools, examples;
#      every test runs, GPU tests skip with a message where no device exists;
#   2. the host code (reference, validation, plans, emulator, CLI) built without nvcc under
#      AddressSanitizer + UndefinedBehaviorSanitizer, and its CPU tests run there;
#   3. the simulated device (SEPCONV_SIMULATED_DEVICE=ON, no nvcc): the GPU API, its tests, the
#      parity suite's CI selection, the example and the CLI's GPU path, every kernel through
#      checked memory (labels sim, cli, consumer; the CPU-only tests ran in step 1);
#   4. the fuzz smoke: the file readers' libFuzzer targets (tests/fuzz: .npy, Keras config JSON,
#      HDF5, .keras zip) built with clang under ASan + UBSan, each fuzzed FUZZ_SECONDS (default 15).
#
# Environment: JOBS (default: all cores), SEPCONV_CUDA_ARCHITECTURES (default 90-real: CI builds
# one architecture to keep nvcc's time down; the library's own default is 80-real;90-real;90-virtual),
# BUILD_DIR (default build-test), SKIP_SANITIZERS=1 to skip step 2, SKIP_SIMULATED=1 to skip step 3,
# SKIP_FUZZ=1 to skip step 4.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/tools/install_deps.sh"
export PATH="$PATH:/usr/local/cuda/bin"

jobs=${JOBS:-$(nproc)}
build=${BUILD_DIR:-build-test}
arch=${SEPCONV_CUDA_ARCHITECTURES:-90-real}

echo "== main build ($build, CUDA architectures $arch) =="
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
  -DCMAKE_CUDA_ARCHITECTURES="$arch"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"

if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== host code under AddressSanitizer + UndefinedBehaviorSanitizer ($build-asan) =="
  # The sweeps that repeat one code path over many cases run in step 1 only (here they would take
  # minutes of the 30 the whole run may): the emulator's 500 random configurations and golden
  # cases (its variants, fixed cases and planted bugs stay), the reference against every golden
  # case, and every Keras layer through the CLI (its errors, chunks and backward stay).
  asan_sweeps='^(Seeds/ForwardEmulator|Keras/ForwardEmulatorGolden|Keras/GoldenForward|Keras/CliKerasLayer|Keras/Sepconv1dGolden)\.'
  san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  cmake -S . -B "$build-asan" -DCMAKE_BUILD_TYPE=Debug -DSEPCONV_ENABLE_CUDA=OFF \
    -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" -DCMAKE_SHARED_LINKER_FLAGS="$san"
  cmake --build "$build-asan" -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$build-asan" --output-on-failure -j "$jobs" -L cpu -LE consumer \
      -E "$asan_sweeps"
fi
if [ "${SKIP_SIMULATED:-0}" != 1 ]; then
  echo "== the GPU path on the simulated device ($build-sim) =="
  # (The bench folder builds only sepconv_stream_bench here: its host-time run is label sim.)
  cmake -S . -B "$build-sim" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
    -DSEPCONV_SIMULATED_DEVICE=ON -DSEPCONV_BUILD_BENCH=ON
  cmake --build "$build-sim" -j "$jobs"
  ctest --test-dir "$build-sim" --output-on-failure -j "$jobs" -L 'sim|cli|consumer'
fi
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz smoke: the file readers' libFuzzer targets under ASan + UBSan ($build-fuzz) =="
  cmake -S . -B "$build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DSEPCONV_ENABLE_CUDA=OFF -DSEPCONV_BUILD_FUZZERS=ON -DSEPCONV_BUILD_TESTS=OFF \
    -DSEPCONV_BUILD_BENCH=OFF -DSEPCONV_BUILD_EXAMPLES=OFF
  cmake --build "$build-fuzz" -j "$jobs" --target sepconv_fuzzers
  "$root/tests/fuzz/smoke.sh" "$build-fuzz" "${FUZZ_SECONDS:-15}"
fi
echo "== all tests passed =="
