#!/usr/bin/env bash
# The one prepared script for a GPU machine (H100/H200, one GPU), under 8 minutes:
#   1. builds the CUDA variant (libtorch 2.x of python3's torch; only the two binaries run here);
#   2. checks empo's bf16 log-probs of a random Qwen2 model against transformers;
#   3. times our training step (fwd + bwd + AdamW, GRPO loss) against the PyTorch eager step of
#      the same shapes, on Qwen2.5-0.5B and 1.5B shapes: tokens/s, MFU and peak memory, with
#      `empo plan`'s prediction of that peak beside it;
#   4. times rollouts (prompt 128 + 256 new tokens, sampling) of our engine, eager and with CUDA
#      graphs (compared sample by sample), against transformers
#      generate() with a static cache and a compiled forward: 0.5B @ 256, 1.5B @ 128, 7B @ 64
#      and an EMPO-shaped long tail (G = 8, 0.5B @ 256, geometric lengths up to 1,024), with the
#      achieved share of the HBM bandwidth bound (HBM_BYTES_PER_S, default H200's 4.8e12).
# Needs: the CUDA toolkit, the Debian packages of scripts/deps.sh, python3 with torch (CUDA)
# and transformers. Results go to $OUT (default bench/gpu/out): results.jsonl and a table.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-bench/gpu/out}
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"
peak_tflops=989  # H100/H200 SXM bf16 dense
jobs=$(nproc)

echo "== build (CUDA variant, -j$jobs)"
start=$SECONDS
make build-torch2 JOBS="$jobs" TARGETS="empo train_step_bench rollout_bench" >"$out/build.log" 2>&1 ||
  { tail -n 40 "$out/build.log"; exit 1; }
echo "built in $((SECONDS - start)) s"
empo=build-torch2/empo
bench=build-torch2/bench/train_step_bench
"$empo" version | tee "$out/version.txt"

echo "== bf16 log-probs against transformers"
python3 bench/gpu/check_logits.py "$empo" "$out" | tee -a "$results"

# `empo plan` for a run whose micro-batch is the bench's batch: weights, gradients, optimizer
# and activations are what the step holds (no rollout, no runtime term in the comparison).
plan_bytes() {  # shape sequences prompt completion -> predicted bytes of the step
  local shape=$1 sequences=$2 prompt=$3 completion=$4 folder="$out/plan-$1"
  mkdir -p "$folder"
  python3 - "$shape" "$folder" <<'PY'
import json, sys
shapes = {"qwen2.5-0.5b": (896, 24, 14, 2, 4864), "qwen2.5-1.5b": (1536, 28, 12, 2, 8960)}
h, l, a, kv, i = shapes[sys.argv[1]]
json.dump({"model_type": "qwen2", "hidden_size": h, "num_hidden_layers": l,
           "num_attention_heads": a, "num_key_value_heads": kv, "intermediate_size": i,
           "vocab_size": 151936, "max_position_embeddings": 32768, "rope_theta": 1e6,
           "rms_norm_eps": 1e-6, "tie_word_embeddings": True, "torch_dtype": "bfloat16"},
          open(sys.argv[2] + "/config.json", "w"))
PY
  printf 'model_name_or_path: %s\ntrain_file: unused.jsonl\ndevice: cuda\n' "$folder" >"$folder/plan.yaml"
  "$empo" plan --config "$folder/plan.yaml" --json num_generations=1 \
    per_device_train_batch_size="$sequences" max_prompt_length="$prompt" \
    max_completion_length="$completion" |
    python3 -c 'import json,sys; b=json.load(sys.stdin)["per_rank_bytes"]; print(b["weights"]+b["gradients"]+b["optimizer"]+b["activations"])'
}

echo "== training step: empo vs PyTorch eager (transformers), same shapes"
for shape in qwen2.5-0.5b qwen2.5-1.5b; do
  args=(shape=$shape sequences=8 prompt=256 completion=768 steps=5 warmup=2)
  "$bench" "${args[@]}" device=cuda | tee -a "$results"
  python3 bench/gpu/eager_step.py "${args[@]}" | tee -a "$results"
  echo "{\"impl\": \"empo plan\", \"shape\": \"$shape\", \"peak_bytes\": $(plan_bytes $shape 8 256 768)}" |
    tee -a "$results"
done

echo "== rollouts: empo vs transformers generate() (static cache, compiled)"
rollout=build-torch2/bench/rollout_bench
for run in "0.5b 256" "1.5b 128" "7b 64" "0.5b 256 long-tail"; do
  # shellcheck disable=SC2086
  timeout 150 "$rollout" --gpu $run | tee -a "$results" || echo "{\"impl\": \"empo\", \"failed\": \"$run\"}"
  # shellcheck disable=SC2086
  timeout 150 python3 bench/gpu/rollout_peer.py $run | tee -a "$results" ||
    echo "{\"impl\": \"transformers-static-compiled\", \"failed\": \"$run\"}"
done

python3 - "$results" "${HBM_BYTES_PER_S:-4.8e12}" <<'PY' | tee "$out/rollouts.md"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
bandwidth = float(sys.argv[2])
ours = {(r["shape"], r["batch"], r["long_tail"]): r for r in rows if r.get("impl") == "empo" and "long_tail" in r}
peer = {(r["shape"], r["batch"], r["long_tail"]): r for r in rows
        if r.get("impl") == "transformers-static-compiled" and "tokens" in r}
print("| shape @ batch | empo tok/s | transformers tok/s | ratio | bandwidth bound tok/s | share |"
      " graphs tok/s | graphs captured | graphs = eager samples | first logprob diff |")
print("|---|---|---|---|---|---|---|---|---|---|")
for key, r in ours.items():
    # Per decode step every weight is read once and every live row reads its keys/values.
    step_bytes = r["parameters"] * 2 + r["batch"] * r["mean_context"] * r["kv_bytes_per_token"]
    bound = r["batch"] / (step_bytes / bandwidth)
    p = peer.get(key)
    ratio = f"{r['tokens_per_second'] / p['tokens_per_second']:.2f}x" if p else "-"
    name = f"{key[0]} @ {key[1]}" + (" long tail" if key[2] else "")
    peer_tok_s = f"{p['tokens_per_second']:,.0f}" if p else "-"
    # CUDA graphs (rollout_cuda_graphs) against the eager path of the same run.
    graphs = (f" {r['graphs_tokens_per_second']:,.0f} | {r['graphs_captured_buckets']} "
              f"| {100 * r['graphs_identical_samples']:.0f}% "
              f"| {r['graphs_first_logprob_max_difference']:.3g} |")
    print(f"| {name} | {r['tokens_per_second']:,.0f} | {peer_tok_s} | {ratio} "
          f"| {bound:,.0f} | {100 * r['tokens_per_second'] / bound:.0f}% |" + graphs)
PY

python3 - "$results" "$peak_tflops" <<'PY' | tee "$out/table.md"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
peak = float(sys.argv[2])
plan = {r["shape"]: r["peak_bytes"] for r in rows if r.get("impl") == "empo plan"}
print("| shape | impl | step s | tokens/s | TFLOP/s | MFU | peak GiB | plan GiB |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    if r.get("impl") not in ("empo", "pytorch-eager"):
        continue
    print(f"| {r['shape']} | {r['impl']} | {r['step_seconds']:.3f} | {r['tokens_per_second']:,.0f} "
          f"| {r['tflops']:.0f} | {100 * r['tflops'] / peak:.1f}% | {r['peak_bytes'] / 2**30:.2f} "
          f"| {plan.get(r['shape'], 0) / 2**30:.2f} |")
for shape in plan:
    ours = [r for r in rows if r.get("impl") == "empo" and r["shape"] == shape]
    eager = [r for r in rows if r.get("impl") == "pytorch-eager" and r["shape"] == shape]
    if ours and eager:
        print(f"\n{shape}: empo / eager tokens/s = {ours[0]['tokens_per_second'] / eager[0]['tokens_per_second']:.2f}x")
PY
