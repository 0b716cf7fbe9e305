#!/usr/bin/env bash
# Runs every libFuzzer target in BIN_DIR from its seed corpus in fuzz/corpus/<target>/ (read
# only: new inputs go to a scratch folder). Exits 1 on the first finding, whose input is left in
# fuzz-findings/ to add to the corpus once fixed.
# BUDGET is "<N>s" (explore for N seconds from a random seed) or "<N>runs" (N mutations from seed
# 1: the same inputs on every machine, so that CI's verdict does not depend on its speed).
# Usage: fuzz/run.sh BIN_DIR BUDGET [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=$1
budget=$2
shift 2
case "$budget" in
  *runs) limit=(-runs="${budget%runs}" -seed=1) ;;
  *s) limit=(-max_total_time="${budget%s}") ;;
  *) echo "fuzz/run.sh: BUDGET must be <N>s or <N>runs, got '$budget'" >&2; exit 2 ;;
esac
targets=("$@")
if ((${#targets[@]} == 0)); then
  for source in fuzz/*_fuzz.cpp; do
    name=$(basename "$source" .cpp)
    targets+=("${name%_fuzz}")
  done
fi
mkdir -p fuzz-findings
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
  echo "== fuzz $target for $budget"
  mkdir -p "$scratch/$target"
  # -timeout: one input over 10 s is a finding (a hang); -rss_limit_mb: so is a blow-up.
  if ! "$bin_dir/${target}_fuzz" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="fuzz-findings/${target}-" \
      "$scratch/$target" "fuzz/corpus/$target" >"$scratch/$target.log" 2>&1; then
    tail -n 60 "$scratch/$target.log"
    echo "fuzz: $target found a problem; its input is in fuzz-findings/" >&2
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$scratch/$target.log" |
    tr '\n' ' '
  echo
done
