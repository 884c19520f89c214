#!/usr/bin/env bash
# Builds the GPU bundle on this (GPU-less) build machine: the GPU test binaries, and the benchmark
# when its target exists, built Release for sm_90 with GoogleTest, the CUDA runtime and libstdc++
# linked statically, copied into the ignored folder .gpu-bundle/ with RUNPATHs of $ORIGIN plus the
# CUDA library folders of the GPU machine. cuBLASLt is not bundled: the GPU machine has it.
# tools/device_check.sh then runs the bundle there, building nothing (docs/gpu-check.md).
#
#   tools/build_gpu_bundle.sh
#
# A manual step, never run by CI. It fails when a binary needs an absolute path of this build
# tree at run time (its RUNPATH, or a string other than a source file name compiled in for
# messages), or when the bundle passes SEPCONV_BUNDLE_MAX_MIB (default 48; the whole working tree
# that travels to the GPU machine must stay under 64 MiB).
# Environment: JOBS (default 2), BUILD_DIR (default build-gpu-bundle), SEPCONV_BUNDLE_ARCHS
# (default 90-real: the GPU machines are Hopper).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="$PATH:/usr/local/cuda/bin"

jobs=${JOBS:-2}
build=${BUILD_DIR:-build-gpu-bundle}
archs=${SEPCONV_BUNDLE_ARCHS:-90-real}
max_mib=${SEPCONV_BUNDLE_MAX_MIB:-48}
bundle=.gpu-bundle
# Searched at run time, in order: the bundle itself, then where CUDA 13 keeps cuBLASLt.
runpath='$ORIGIN;/usr/local/cuda/lib64;/usr/local/cuda/targets/x86_64-linux/lib;/usr/local/cuda-13/lib64'
start=$(date +%s)

echo "== configure $build (Release, CUDA architectures $archs, static runtime) =="
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DCMAKE_CUDA_ARCHITECTURES="$archs" -DSEPCONV_STATIC_CUDART=ON \
  -DCMAKE_CUDA_RUNTIME_LIBRARY=Static \
  -DSEPCONV_GOLDEN_DIR=tests/data/golden \
  -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH="$runpath" \
  -DCMAKE_EXE_LINKER_FLAGS="-static-libstdc++ -static-libgcc" \
  -DCMAKE_CXX_FLAGS="-ffile-prefix-map=$root/=" \
  -DCMAKE_CUDA_FLAGS="-Xcompiler=-ffile-prefix-map=$root/=" >/dev/null

targets=(test_parity test_layer_gpu)
# (The target list is read whole first: grep -q would stop reading early and, under pipefail,
# the writer's SIGPIPE would fail the test.)
available_targets=$(cmake --build "$build" --target help)
if grep -qw sepconv_bench <<<"$available_targets"; then
  targets+=(sepconv_bench)
else
  echo "(no sepconv_bench target in this tree: the bundle has no benchmark)"
fi
echo "== build ${targets[*]} (-j$jobs) =="
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

rm -rf "$bundle"
mkdir -p "$bundle"
for t in "${targets[@]}"; do
  binary=$(find "$build" -type f -name "$t" -perm -u+x | head -n 1)
  [ -n "$binary" ] || { echo "error: $t was not built" >&2; exit 1; }
  cp "$binary" "$bundle/$t"
done

echo "== checks =="
status=0
for t in "${targets[@]}"; do
  b="$bundle/$t"
  needed=$(readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  runpath_seen=$(readelf -d "$b" | sed -n 's/.*(R[UN]*PATH).*\[\(.*\)\]/\1/p')
  echo "$t: NEEDED $needed"
  echo "$t: RUNPATH $runpath_seen"
  if grep -qF "$root" <<<"$runpath_seen"; then
    echo "error: $t's RUNPATH names this build tree" >&2
    status=1
  fi
  # Absolute paths of this tree compiled in: source files and their folders (nvcc's line table
  # for compute-sanitizer and Nsight; host code uses relative names, -ffile-prefix-map) are
  # tolerated; anything else (a data folder, the build folder) would be needed at run time and
  # fails the bundle.
  paths=$(strings -a "$b" | grep -F "$root" | sort -u || true)
  sources=$(grep -E '\.(c|cc|cpp|cu|cuh|h|hpp|inl)(:[0-9]+)?$' <<<"$paths" || true)
  folders=$(sed 's|/[^/]*$||' <<<"$sources" | sort -u)
  bad=$(grep -vxF -f <(printf '%s\n' "$sources" "$folders") <<<"$paths" | sed '/^$/d' || true)
  echo "$t: $(sed '/^$/d' <<<"$paths" | wc -l) strings name $root: $(tr '\n' ' ' <<<"$sources")(device line info)"
  if [ -n "$bad" ]; then
    echo "error: $t names paths of this tree that are not source files:" >&2
    head -n 5 <<<"$bad" >&2
    status=1
  fi
  # cuBLASLt comes from the GPU machine; everything else must be the system's.
  unresolved=$(ldd "$b" 2>/dev/null | grep 'not found' || true)
  [ -z "$unresolved" ] || echo "$t: unresolved here: $unresolved"
done
"$bundle/test_parity" --sepconv-versions | sed 's/^/test_parity --sepconv-versions: /'

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit (with uncommitted changes)"; fi
{
  echo "sepconv GPU bundle"
  echo "commit: $commit"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -srm)"
  echo "compilers: $(c++ --version | head -n 1); $(nvcc --version | tail -n 1)"
  echo "CUDA architectures: $archs; static: CUDA runtime, GoogleTest, libstdc++; RUNPATH: $runpath"
  for t in "${targets[@]}"; do
    echo "$t: $(stat -c %s "$bundle/$t") bytes, sha256 $(sha256sum "$bundle/$t" | cut -c1-16)"
  done
} >"$bundle/BUNDLE.txt"

bytes=$(du -sb "$bundle" | cut -f1)
mib=$(( (bytes + 1048575) / 1048576 ))
git check-ignore -q "$bundle" || { echo "error: $bundle is not ignored by git" >&2; status=1; }
echo "== $bundle: $(ls "$bundle" | tr '\n' ' ')— $bytes bytes (~$mib MiB), built in $(( $(date +%s) - start )) s =="
if [ "$mib" -gt "$max_mib" ]; then
  echo "error: the bundle is over $max_mib MiB (the working tree that travels must stay under 64 MiB)" >&2
  status=1
fi
exit $status
