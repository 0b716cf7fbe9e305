#!/usr/bin/env bash
# Reproduces the README's demo tables on CPU: EMPO vs supervised GRPO over three seeds, a
# 200-step accuracy curve with and without the collapse guard, and the failure case (a start
# where greedy beats maj@G) with and without the guard. Prints Markdown (empo report).
#   scripts/demo_experiments.sh [OUT_DIR]      (default runs/experiments; ~25 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
EMPO=${EMPO:-build/empo}
OUT=${1:-runs/experiments}
mkdir -p "$OUT"
export EMPO_THREADS=1  # the demo model runs fastest on one thread; two runs share the 2 cores

# The guard: label-free mechanisms only (KL to the starting policy, a decaying learning rate,
# the entropy band's lower bound, the stop rule on semantic entropy + reward saturation, and a
# KL budget: stop once the policy has moved too far from where it started).
GUARD=(beta=0.04 lr_scheduler_type=cosine "entropy_band=[0.05,1.0]" guard_stop_rule=true
       guard_entropy_floor=0.15 guard_reward_ceiling=0.85 guard_patience=5 guard_max_kl=0.1)

# Two runs at a time, each logging to its folder.
run() {
  local name=$1
  shift
  [[ -f "$OUT/$name/results.json" ]] && return 0  # done in an earlier call
  mkdir -p "$OUT/$name"
  "$EMPO" demo --output-dir "$OUT/$name" "$@" > "$OUT/$name/demo.log" 2>&1
}
for seed in 0 1 2; do
  run "empo-seed$seed" --seed "$seed" &
  run "grpo-seed$seed" --seed "$seed" --reward supervised &
  wait
done
run empo-200 --steps 200 --eval-every 20 &
run empo-200-guarded --steps 200 --eval-every 20 "${GUARD[@]}" &
wait
run collapse --model models/adder-early --steps 60 --eval-every 10 learning_rate=5e-4 &
run collapse-guarded --model models/adder-early --steps 60 --eval-every 10 learning_rate=5e-4 "${GUARD[@]}" &
wait

"$EMPO" report --markdown "$OUT"/empo-seed* "$OUT"/grpo-seed* "$OUT"/empo-200* "$OUT"/collapse* --curves \
  | tee "$OUT/report.md"
