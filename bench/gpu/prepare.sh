#!/usr/bin/env bash
# Builds, here, the binaries bench/gpu/run.sh runs on a lent GPU machine, against the libtorch
# of the torch that machine has (see LENT_TORCH below), and packs them with the non-torch shared
# libraries they need from this machine (Debian 12) into ONE archive that the device tool can
# carry: bench/gpu/prebuilt/empo-gpu.tar.xz (git-ignored). The lent machine has no network, no
# apt and no GiNaC/PCRE2/utf8proc/yaml-cpp/fmt; it has python3 with that torch, its CUDA
# libraries and the NVIDIA driver, which are NOT packed (run.sh points LD_LIBRARY_PATH at them).
#
# Usage: bench/gpu/prepare.sh            (or `make gpu-prebuilt`)
# Environment:
#   EMPO_GPU_TORCH_ROOT  where the torch wheel is unpacked (default: ../torch-<version> beside
#                        the repository, outside it); downloaded with pip when absent
#   CUDA_HOME            the CUDA toolkit to compile against (default /usr/local/cuda)
#   BUILD_DIR            default build-gpu-prebuilt;  JOBS  default 1
# The build is incremental: a second run rebuilds only what changed, then packs again.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

# The lent machines' torch (the device tool's KINDS.md: PyTorch 2.11.0+cu130, Python 3.12).
LENT_TORCH=2.11.0
LENT_PYTHON=3.12
# Shared libraries libtorch_cuda.so needs at link time that this machine's CUDA toolkit lacks;
# only their SONAMEs and symbols are used here (the lent machine has its own copies).
LINK_ONLY_WHEELS=(nvidia-cusparselt-cu13==0.8.0 nvidia-nvshmem-cu13==3.4.5 "nvidia-cufile==1.15.1.6.*")
torch_root=${EMPO_GPU_TORCH_ROOT:-$(dirname "$repo")/torch-$LENT_TORCH}
cuda=${CUDA_HOME:-/usr/local/cuda}
build=${BUILD_DIR:-build-gpu-prebuilt}
jobs=${JOBS:-1}
archive=bench/gpu/prebuilt/empo-gpu.tar.xz

[[ -x $cuda/bin/nvcc ]] || { echo "prepare: no CUDA toolkit at $cuda (set CUDA_HOME)" >&2; exit 1; }
bash scripts/deps.sh  # the Debian packages of the build (a no-op when all are there)

# 1. The lent machine's torch wheel, unpacked outside the repository.
if [[ ! -f $torch_root/torch/lib/libtorch_cuda.so ]]; then
  echo "== downloading torch $LENT_TORCH (cp${LENT_PYTHON/./}, manylinux_2_28) into $torch_root"
  mkdir -p "$torch_root/wheels"
  platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64
             --platform manylinux2014_x86_64)
  python3 -m pip download --no-deps --only-binary=:all: --python-version "$LENT_PYTHON" \
    "${platforms[@]}" -d "$torch_root/wheels" "torch==$LENT_TORCH" "${LINK_ONLY_WHEELS[@]}"
  for wheel in "$torch_root"/wheels/*.whl; do
    python3 -m zipfile -e "$wheel" "$torch_root"
  done
  rm -rf "$torch_root/wheels"
fi
torch_version=$(sed -n "s/^__version__ = '\(.*\)'$/\1/p" "$torch_root/torch/version.py")
torch_cuda=$(sed -n "s/^cuda: .* = '\(.*\)'$/\1/p" "$torch_root/torch/version.py")
[[ $torch_version == "$LENT_TORCH"* && -n $torch_cuda ]] ||
  { echo "prepare: $torch_root holds torch '$torch_version' (cuda '$torch_cuda'), not $LENT_TORCH with CUDA" >&2; exit 1; }
echo "== torch $torch_version (CUDA $torch_cuda) from $torch_root; CUDA toolkit $cuda"

# 2. Only the three programs run.sh runs; no tests. The programs find the packed libraries
# through RUNPATH $ORIGIN/../lib; torch and CUDA come from LD_LIBRARY_PATH on the lent machine.
# rpath-link: the libraries libtorch needs, for the link's check of their symbols.
link_dirs="$torch_root/torch/lib:$cuda/lib64:$cuda/lib"
for dir in "$torch_root"/nvidia/*/lib; do link_dirs+=":$dir"; done
mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DEMPO_BUILD_TESTS=OFF -DEMPO_BUILD_BENCH=ON \
  -DCMAKE_PREFIX_PATH="$torch_root/torch" -DCUDAToolkit_ROOT="$cuda" \
  -DCMAKE_CUDA_COMPILER="$cuda/bin/nvcc" \
  -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH="\$ORIGIN/../lib" \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,--enable-new-dtags -Wl,-rpath-link,$link_dirs" >"$build/configure.log" 2>&1 ||
  { tail -n 30 "$build/configure.log"; exit 1; }
programs=(empo bench/train_step_bench bench/rollout_bench)
echo "== building ${programs[*]} in $build (-j$jobs)"
cmake --build "$build" -j "$jobs" --target empo train_step_bench rollout_bench

# 3. Stage: bin/ (stripped), lib/ (what ldd resolves outside torch, CUDA, the driver and the C
# and C++ runtimes), lib/fallback/ (this machine's libstdc++ and libgcc_s, used by run.sh only
# when the lent machine's are older than the ones these programs were linked against).
stage=$build/stage/empo-gpu
rm -rf "$build/stage"
mkdir -p "$stage/bin" "$stage/lib/fallback"
for program in "${programs[@]}"; do
  strip --strip-unneeded -o "$stage/bin/$(basename "$program")" "$build/$program"
done
export LD_LIBRARY_PATH="$link_dirs"
mapfile -t resolved < <(ldd "$stage"/bin/* | awk '$2 == "=>" && $3 ~ /^\// {print $1 " " $3}' | sort -u)
missing=$(ldd "$stage"/bin/* | grep 'not found' || true)
[[ -z $missing ]] || { echo "prepare: unresolved libraries:"$'\n'"$missing" >&2; exit 1; }
packed=()
for entry in "${resolved[@]}"; do
  name=${entry%% *} path=${entry#* }
  case $name in
    libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | libutil.so.* | ld-linux* | libgomp.so.*) continue ;;
    libstdc++.so.* | libgcc_s.so.*) cp -L "$path" "$stage/lib/fallback/$name"; continue ;;
    libcuda.so.* | libnvidia*) continue ;;
  esac
  case $path in "$torch_root"/* | "$cuda"/* | "$(realpath "$cuda")"/*) continue ;; esac
  cp -L "$path" "$stage/lib/$name"
  packed+=("$name")
done
strip --strip-unneeded "$stage"/lib/*.so* "$stage"/lib/fallback/*.so* 2>/dev/null || true
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit+="+uncommitted"
{
  echo "torch_version=$torch_version"
  echo "torch_cuda=$torch_cuda"
  echo "commit=$commit"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) on $(sed -n "s/^PRETTY_NAME=//p" /etc/os-release | tr -d '"'), glibc $(ldd --version | head -n 1 | awk '{print $NF}')"
  echo "glibcxx_needed=$(objdump -T "$stage"/bin/* 2>/dev/null | grep -o 'GLIBCXX_[0-9.]*' | sort -V | tail -n 1)"
  echo "packed=${packed[*]}"
} >"$stage/MANIFEST"

# 4. One archive.
mkdir -p "$(dirname "$archive")"
tar -C "$build/stage" -cf - empo-gpu | xz -T0 -9 >"$archive.tmp"
mv "$archive.tmp" "$archive"
echo "== $archive: $(du -h "$archive" | cut -f1) (binaries $(du -sh "$stage/bin" | cut -f1), libraries $(du -sh "$stage/lib" | cut -f1))"
cat "$stage/MANIFEST"
