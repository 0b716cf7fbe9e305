#!/usr/bin/env bash
# Installs exactly what the build needs on Debian 12; does nothing when all is present.
# Usage: scripts/deps.sh [sanitizers]
set -euo pipefail
packages=(
  g++ make cmake ccache clang-format pkg-config
  libtorch-dev libopenblas0-openmp          # tensors/autograd; OpenBLAS (else reference BLAS, ~25x slower)
  libginac-dev                              # symbolic math equivalence
  libgloo-dev                               # collective transport of torch c10d (multi-process training)
  libpcre2-dev libutf8proc-dev              # tokenizer regex and NFC
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# `deps.sh sanitizers` (make fuzz): clang with libFuzzer and the sanitizer runtimes.
if [[ ${1:-} == sanitizers ]]; then packages+=(clang libclang-rt-14-dev); fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) != 0 ]]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
