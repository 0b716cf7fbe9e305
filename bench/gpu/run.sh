#!/usr/bin/env bash
# The one prepared script for a lent GPU machine (one H100 or H200, no network), within one run
# call of the device tool (600 s): with carry ["bench/gpu/prebuilt"], `bash bench/gpu/run.sh`.
#   1. unpacks bench/gpu/prebuilt/empo-gpu.tar.xz (bench/gpu/prepare.sh makes it on the
#      development machine against the lent machine's torch, 2.11.0+cu130), points
#      LD_LIBRARY_PATH at this machine's torch and CUDA libraries, checks that ldd resolves
#      everything and that `empo version` runs; if the prebuilt programs cannot load it builds
#      them here (tests off) when the build's dependencies are present;
#   2. checks empo's bf16 log-probs of a random Qwen2 model against transformers;
#   3. times our training step (fwd + bwd + AdamW, GRPO loss) against the PyTorch eager step of
#      the same shapes (Qwen2.5-0.5B and 1.5B): tokens/s, MFU and peak memory, with `empo plan`'s
#      prediction of that peak beside it;
#   4. times rollouts (prompt 128 + 256 new tokens, sampling) of our engine, eager and with CUDA
#      graphs (compared sample by sample), against transformers generate() with a static cache
#      and a compiled forward: 0.5B @ 256, 1.5B @ 128, an EMPO-shaped long tail (G = 8, 0.5B @
#      256, geometric lengths up to 1,024) and, if the time left allows, 7B @ 64; the share of
#      the HBM bandwidth bound comes from the GPU's name (bench/gpu/device.py).
# Every step runs under its own timeout within a total budget (EMPO_GPU_BUDGET, default 560 s)
# and records ran / failed / skipped with the reason and its log; a step that fails does not stop
# the others, a step that needs more time than is left is skipped, and the summary (steps, then
# the training and rollout tables from whatever rows exist) always prints.
#
# Usage: bench/gpu/run.sh [--dry-run] [--no-build]
#   --dry-run   on a machine without a GPU: (re)makes the archive with prepare.sh, unpacks and
#               loads it (the lent machine's torch: EMPO_GPU_TORCH_ROOT, as in prepare.sh), runs
#               what is cheap on the CPU (empo version, empo plan, a tiny training step, the
#               log-prob check on the CPU) and prints every GPU step's command, marked skipped.
#   --no-build  neither prepare.sh (dry run) nor a build on the GPU machine: use what exists.
# Environment: OUT (results, default bench/gpu/out), EMPO_GPU_BUDGET (seconds),
#   HBM_BYTES_PER_S / PEAK_TFLOPS (override the device's datasheet figures), EMPO_TORCH_LIB
#   (torch's lib folder; default that of python3's torch).
set -uo pipefail  # not -e: a failed step is recorded and the script goes on
cd "$(dirname "$0")/../.." || exit 1

dry_run=0 no_build=0
for argument in "$@"; do
  case $argument in
    --dry-run) dry_run=1 ;;
    --no-build) no_build=1 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run.sh: unknown argument $argument (--dry-run, --no-build)" >&2; exit 2 ;;
  esac
done

out=${OUT:-bench/gpu/out}
budget=${EMPO_GPU_BUDGET:-560}
archive=bench/gpu/prebuilt/empo-gpu.tar.xz
scratch=${TMPDIR:-/tmp}/empo-gpu-run  # unpacked programs and test models: not sent back in $OUT
mkdir -p "$out/logs" "$scratch"
out=$(cd "$out" && pwd)
results=$out/results.jsonl
steps=$out/steps.tsv
: >"$results"
: >"$steps"
started=$SECONDS
have_gpu=0
empo="" train_bench="" rollout_bench=""
current=""
child=""

left() { echo $((budget - (SECONDS - started))); }

summary() {
  python3 bench/gpu/summary.py "$steps" "$results" >"$out/summary.md" 2>"$out/logs/summary.log" ||
    echo "(summary.py failed: $out/logs/summary.log)" >>"$out/summary.md"
}

# record NAME STATUS SECONDS REASON LOG
record() {
  local reason=${4//$'\t'/ }
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${reason//$'\n'/ }" "${5#"$out"/}" >>"$steps"
  printf '   -> %s%s\n' "$2" "${4:+: $4}"
  current=""
  summary
}

# The last non-empty line of a log, shortened: the reason a step failed.
last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-160; }

# step NAME NEEDS MIN MAX COMMAND...: runs COMMAND under `timeout` when NEEDS (a list of gpu,
# binary) is met and at least MIN seconds of the budget are left, for at most MAX seconds; its
# JSON lines go to results.jsonl, all its output to logs/NAME.log.
step() {
  local name=$1 needs=$2 min=$3 max=$4
  shift 4
  local log=$out/logs/$name.log
  echo "== $name: $(printf '%q ' "$@")"
  if [[ $needs == *gpu* ]] && ((dry_run)); then
    record "$name" skipped "" "dry run: needs a GPU" ""
    return 0
  fi
  if [[ $needs == *gpu* ]] && ((!have_gpu)); then
    record "$name" skipped "" "no GPU seen (the device step)" ""
    return 0
  fi
  if [[ $needs == *binary* && -z $empo ]]; then
    record "$name" skipped "" "no empo programs (the prebuilt and build steps)" ""
    return 0
  fi
  local remaining
  remaining=$(left)
  if ((remaining < min)); then
    record "$name" skipped "" "${remaining} s of the ${budget} s budget left, it needs ${min} s" ""
    return 0
  fi
  local limit=$((max < remaining ? max : remaining)) begin=$SECONDS code=0
  current=$name
  # In the background and waited for, so that a TERM or INT reaches the trap at once.
  timeout --kill-after=5 "$limit" "$@" >"$log" 2>&1 &
  child=$!
  wait "$child" || code=$?
  child=""
  grep -E '^[{]' "$log" | tee -a "$results"
  local took=$((SECONDS - begin))
  case $code in
    0) record "$name" ran "$took" "" "$log" ;;
    124 | 137) record "$name" failed "$took" "timed out after $limit s" "$log" ;;
    *) tail -n 5 "$log" | sed 's/^/   | /'
       record "$name" failed "$took" "exit $code: $(last_line "$log")" "$log" ;;
  esac
  return 0
}

on_signal() {
  [[ -n $child ]] && kill "$child" 2>/dev/null
  [[ -n $current ]] && record "$current" failed "" "stopped by a signal" "$out/logs/$current.log"
  summary
  cat "$out/summary.md"
  exit 143
}
trap on_signal TERM INT

# --- the programs -------------------------------------------------------------------------------

# Where this machine's torch keeps libtorch. A dry run loads the archive against the torch that
# prepare.sh built it with (the lent machine's version), not against python3's.
torch_lib() {
  if [[ -n ${EMPO_TORCH_LIB:-} ]]; then
    echo "$EMPO_TORCH_LIB"
  elif ((dry_run)); then
    echo "${EMPO_GPU_TORCH_ROOT:-$(dirname "$PWD")/torch-2.11.0}/torch/lib"
  else
    python3 -c 'import os, torch; print(os.path.dirname(torch.__file__) + "/lib")'
  fi
}

# The torch version of a lib folder: its version.py beside it (no import needed).
torch_version_of() { sed -n "s/^__version__ = '\(.*\)'$/\1/p" "$1/../version.py" 2>/dev/null; }

# LD_LIBRARY_PATH for programs linked against torch's lib folder $1: the packed Debian
# libraries, torch, the CUDA libraries of the wheel (nvidia/*), then the toolkit's.
library_path() {
  local path="$scratch/empo-gpu/lib:$1" dir
  for dir in "$1"/../../nvidia/*/lib "${CUDA_HOME:-/usr/local/cuda}/lib64" "${CUDA_HOME:-/usr/local/cuda}/lib"; do
    [[ -d $dir ]] && path+=":$(cd "$dir" && pwd)"
  done
  echo "$path"
}

use_prebuilt() {
  local log=$out/logs/prebuilt.log begin=$SECONDS lib manifest want have
  echo "== prebuilt: unpack $archive, ldd, empo version"
  if [[ ! -f $archive ]]; then
    record prebuilt failed 0 "no $archive: carry bench/gpu/prebuilt (made by bench/gpu/prepare.sh)" ""
    return 1
  fi
  rm -rf "$scratch/empo-gpu"
  if ! timeout 120 tar -C "$scratch" -xJf "$archive" >"$log" 2>&1; then
    record prebuilt failed $((SECONDS - begin)) "cannot unpack $archive" "$log"
    return 1
  fi
  manifest=$scratch/empo-gpu/MANIFEST
  cat "$manifest" >>"$log"
  lib=$(torch_lib 2>>"$log")
  want=$(sed -n 's/^torch_version=//p' "$manifest")
  have=$(torch_version_of "$lib")
  echo "torch lib $lib: $have (the programs were built against $want)" | tee -a "$log"
  if [[ -z $have || $have != "$want" ]]; then
    record prebuilt failed $((SECONDS - begin)) "built for torch $want, this machine's is '${have:-none}' ($lib)" "$log"
    return 1
  fi
  # Not exported: python3's own torch must not see these folders. Each program gets a wrapper
  # that sets them.
  local path missing
  path=$(library_path "$lib")
  missing=$(LD_LIBRARY_PATH=$path ldd "$scratch"/empo-gpu/bin/* 2>&1 | grep -E 'not found' | sort -u)
  if [[ -n $missing ]] && ! grep -qv -E 'GLIBCXX|CXXABI|GCC_' <<<"$missing"; then
    # Only C++ runtime versions: this machine's libstdc++ is older than the build machine's.
    echo "using the packed libstdc++: $missing" | tee -a "$log"
    path=$scratch/empo-gpu/lib/fallback:$path
    missing=$(LD_LIBRARY_PATH=$path ldd "$scratch"/empo-gpu/bin/* 2>&1 | grep -E 'not found' | sort -u)
  fi
  echo "LD_LIBRARY_PATH=$path" >>"$log"
  LD_LIBRARY_PATH=$path ldd "$scratch"/empo-gpu/bin/* >>"$log" 2>&1
  if [[ -n $missing ]]; then
    record prebuilt failed $((SECONDS - begin)) "ldd: $(tr '\n' ' ' <<<"$missing" | cut -c1-200)" "$log"
    return 1
  fi
  mkdir -p "$scratch/empo-gpu/run"
  local program
  for program in empo train_step_bench rollout_bench; do
    printf '#!/bin/sh\nLD_LIBRARY_PATH=%q exec %q "$@"\n' "$path" "$scratch/empo-gpu/bin/$program" \
      >"$scratch/empo-gpu/run/$program"
    chmod +x "$scratch/empo-gpu/run/$program"
  done
  if ! timeout 60 "$scratch/empo-gpu/run/empo" version >>"$log" 2>&1; then
    record prebuilt failed $((SECONDS - begin)) "empo version: $(last_line "$log")" "$log"
    return 1
  fi
  empo=$scratch/empo-gpu/run/empo
  train_bench=$scratch/empo-gpu/run/train_step_bench
  rollout_bench=$scratch/empo-gpu/run/rollout_bench
  record prebuilt ran $((SECONDS - begin)) "$(sed -n 's/^commit=//p' "$manifest" | cut -c1-12), torch $want" "$log"
}

# The fallback on the GPU machine: build the three programs here (tests off), only when the
# build's dependencies are present (the lent image has none of the Debian ones today).
build_here() {
  local log=$out/logs/build.log begin=$SECONDS lacking=() header
  echo "== build: cmake (tests off) of empo train_step_bench rollout_bench in build-torch2"
  command -v cmake >/dev/null || lacking+=(cmake)
  command -v pkg-config >/dev/null && pkg-config --exists ginac libpcre2-8 libutf8proc yaml-cpp fmt ||
    lacking+=("pkg-config: ginac libpcre2-8 libutf8proc yaml-cpp fmt")
  for header in nlohmann/json.hpp CLI/CLI.hpp; do
    [[ -f /usr/include/$header || -f /usr/local/include/$header ]] || lacking+=("$header")
  done
  if ((${#lacking[@]})); then
    record build failed 0 "prebuilt unusable and the build's dependencies are missing: ${lacking[*]}" ""
    return 1
  fi
  local prefix cuda=${CUDA_HOME:-/usr/local/cuda} remaining
  prefix=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
  remaining=$(left)
  # shellcheck disable=SC2016  # $1 and $2 are the inner shell's arguments
  if ! timeout $((remaining > 300 ? 300 : remaining)) bash -c '
      cmake -S . -B build-torch2 -DCMAKE_BUILD_TYPE=Release -DEMPO_BUILD_TESTS=OFF \
        -DCMAKE_PREFIX_PATH="$1" -DCUDAToolkit_ROOT="$2" -DCMAKE_CUDA_COMPILER="$2/bin/nvcc" &&
      cmake --build build-torch2 -j "$(nproc)" --target empo train_step_bench rollout_bench' \
      _ "$prefix" "$cuda" >"$log" 2>&1; then
    tail -n 20 "$log"
    record build failed $((SECONDS - begin)) "$(last_line "$log")" "$log"
    return 1
  fi
  empo=build-torch2/empo
  train_bench=build-torch2/bench/train_step_bench
  rollout_bench=build-torch2/bench/rollout_bench
  record build ran $((SECONDS - begin)) "built here" "$log"
}

# --- the steps ----------------------------------------------------------------------------------

echo "run.sh: budget $budget s, results in $out$( ((dry_run)) && echo ', dry run')"
if ((dry_run)); then
  # Not under the budget: a build from scratch takes long on a development machine.
  if ((no_build)); then
    record build skipped "" "--no-build: the existing $archive" ""
  else
    echo "== build: bash bench/gpu/prepare.sh"
    begin=$SECONDS
    if bash bench/gpu/prepare.sh >"$out/logs/build.log" 2>&1; then
      record build ran $((SECONDS - begin)) "prepare.sh: $(du -h "$archive" | cut -f1) archive" "$out/logs/build.log"
    else
      tail -n 20 "$out/logs/build.log"
      record build failed $((SECONDS - begin)) "prepare.sh: $(last_line "$out/logs/build.log")" "$out/logs/build.log"
    fi
    started=$SECONDS
  fi
  step device gpu 5 60 python3 bench/gpu/device.py
  use_prebuilt
else
  # Not "gpu": this step is what tells whether there is one (it fails without).
  step device none 5 60 python3 bench/gpu/device.py
  grep -q '"impl": "device".*"cuda": true' "$results" && have_gpu=1
  if ! use_prebuilt; then
    if ((no_build)); then
      record build skipped "" "--no-build" ""
    else
      build_here
    fi
  fi
fi

step version binary 1 30 "$empo" version
for shape in qwen2.5-0.5b qwen2.5-1.5b; do
  step "plan-$shape" binary 2 30 python3 bench/gpu/plan_row.py "$empo" "$shape" 8 256 768 "$scratch"
done
if ((dry_run)); then
  # What the CPU can check cheaply: the prebuilt bench runs a step, and the log-prob check (and
  # `empo score`) against python3's transformers, on the CPU.
  step train-step-cpu binary 2 120 "$train_bench" shape=custom hidden=64 layers=2 heads=4 \
    kv_heads=2 intermediate=128 vocab=512 sequences=2 prompt=16 completion=16 steps=1 warmup=0 device=cpu
  step check-logits-cpu binary 5 300 python3 bench/gpu/check_logits.py "$empo" "$scratch" cpu
fi
step check-logits "binary gpu" 20 120 python3 bench/gpu/check_logits.py "$empo" "$scratch"

train() {  # SHAPE
  local args=("shape=$1" sequences=8 prompt=256 completion=768 steps=5 warmup=2)
  step "train-empo-$1" "binary gpu" 20 90 "$train_bench" "${args[@]}" device=cuda
  step "train-eager-$1" gpu 20 90 python3 bench/gpu/eager_step.py "${args[@]}"
}
rollout() {  # SHAPE BATCH [long-tail] MIN_EMPO MIN_PEER
  local case=("$1" "$2") name="$1@$2" min_empo=${*: -2:1} min_peer=${*: -1}
  [[ $3 == long-tail ]] && case+=(long-tail) && name+=-long-tail
  step "rollout-empo-$name" "binary gpu" "$min_empo" 150 "$rollout_bench" --gpu "${case[@]}"
  # The peer compiles first; it is given what is left (at most 180 s) and says so if that
  # cannot cover the timed run.
  local remaining
  remaining=$(left)
  step "rollout-transformers-$name" gpu "$min_peer" 180 python3 bench/gpu/rollout_peer.py \
    "${case[@]}" --time-left $((remaining < 180 ? remaining - 5 : 175))
}
train qwen2.5-0.5b
rollout 0.5b 256 30 60
train qwen2.5-1.5b
rollout 1.5b 128 30 60
rollout 0.5b 256 long-tail 40 80
# Last: 7B needs ~15 GB of random weights made on the device and the longest compile.
rollout 7b 64 60 120

summary
cat "$out/summary.md"
