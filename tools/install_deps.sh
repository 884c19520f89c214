#!/usr/bin/env bash
# Installs the Debian packages sepconv's build and tests need, when they are missing.
# The CUDA toolkit (nvcc, cuBLASLt, CCCL, NVTX3 headers) is expected on PATH / in /usr/local/cuda:
# it is not a Debian package here.
set -euo pipefail

packages=(cmake g++ make libgtest-dev libgmock-dev nlohmann-json3-dev
  libeigen3-dev)  # Eigen: Orthogonal's QR (src/training/initializers.cpp)
# sepconv_keras (Keras model files): the HDF5 C library and libzip, found through pkg-config.
packages+=(pkgconf libhdf5-dev libzip-dev)
# The fuzz smoke (tests/fuzz): clang with libFuzzer and the sanitizer runtimes.
packages+=(clang libclang-rt-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install_deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || {
  echo "install_deps: nvcc not found: install the CUDA toolkit (12.x or 13.x) first" >&2
  exit 1
}
