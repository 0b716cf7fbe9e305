#!/usr/bin/env python3
"""`empo plan` for the training step that train_step_bench times, as one JSON line.

The bench runs SEQUENCES sequences of PROMPT + COMPLETION tokens in one forward/backward pass;
the plan is asked for a run whose micro-batch is exactly that: num_generations=2 (the config's
minimum) x per_device_train_batch_size=SEQUENCES/2 sequences, micro_batch_size=SEQUENCES.
peak_bytes = weights + gradients + optimizer + activations: what the step holds (the rollout's
keys/values and the runtime constant are not part of the bench's peak).

Usage: plan_row.py EMPO SHAPE SEQUENCES PROMPT COMPLETION WORK_DIR  (needs no torch, no GPU)
"""
import json
import os
import subprocess
import sys

SHAPES = {  # hidden, layers, heads, kv heads, intermediate (Qwen2.5's config.json)
    "qwen2.5-0.5b": (896, 24, 14, 2, 4864),
    "qwen2.5-1.5b": (1536, 28, 12, 2, 8960),
}


def main():
    empo, shape, sequences, prompt, completion, work = sys.argv[1:7]
    sequences = int(sequences)
    if sequences < 2 or sequences % 2:
        raise SystemExit("plan_row.py: SEQUENCES must be even (num_generations=2)")
    hidden, layers, heads, kv_heads, intermediate = SHAPES[shape]
    folder = os.path.join(work, "plan-" + shape)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as out:
        json.dump({"model_type": "qwen2", "hidden_size": hidden, "num_hidden_layers": layers,
                   "num_attention_heads": heads, "num_key_value_heads": kv_heads,
                   "intermediate_size": intermediate, "vocab_size": 151936,
                   "max_position_embeddings": 32768, "rope_theta": 1e6, "rms_norm_eps": 1e-6,
                   "tie_word_embeddings": True, "torch_dtype": "bfloat16"}, out)
    config = os.path.join(folder, "plan.yaml")
    with open(config, "w") as out:
        out.write(f"model_name_or_path: {folder}\ntrain_file: unused.jsonl\ndevice: cuda\n")
    command = [empo, "plan", "--config", config, "--json", "num_generations=2",
               f"per_device_train_batch_size={sequences // 2}", f"micro_batch_size={sequences}",
               f"max_prompt_length={prompt}", f"max_completion_length={completion}"]
    print(" ".join(command), file=sys.stderr, flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(result.returncode)
    plan = json.loads(result.stdout)
    terms = plan["per_rank_bytes"]
    peak = sum(terms.get(key, 0) for key in ("weights", "gradients", "optimizer", "activations"))
    print(json.dumps({"impl": "empo plan", "shape": shape, "sequences": sequences,
                      "tokens_per_sequence": int(prompt) + int(completion), "peak_bytes": peak,
                      "per_rank_bytes": terms}), flush=True)


if __name__ == "__main__":
    main()
