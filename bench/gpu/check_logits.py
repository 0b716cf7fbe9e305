#!/usr/bin/env python3
"""bf16 log-probs of a random Qwen2 model: empo (`empo score`) against transformers.

Writes a random Qwen2 model with transformers (bf16 safetensors), scores the same random
sequences with transformers in bf16 and in float32 and with `empo score` in bf16 on the GPU,
and passes when empo's bf16 error against the float32 reference is at most twice transformers'
own bf16 error (plus 0.02 nats): bf16 rounding is the only difference allowed. The JSON line
names the device it ran on.

Usage: check_logits.py EMPO_BINARY WORK_DIR [DEVICE]   (DEVICE: cuda, the default, or cpu: the
same check on the host, for bench/gpu/run.sh --dry-run)
"""
import json
import os
import subprocess
import sys

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def token_logprobs(model, ids):
    with torch.no_grad():
        logits = model(input_ids=ids).logits.float()
    return torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None]).squeeze(-1)


def main():
    empo, work = sys.argv[1], sys.argv[2]
    device = sys.argv[3] if len(sys.argv) > 3 else "cuda"
    folder = os.path.join(work, "random-qwen2")
    config = Qwen2Config(hidden_size=512, num_hidden_layers=4, num_attention_heads=8,
                         num_key_value_heads=2, intermediate_size=1376, vocab_size=4096,
                         max_position_embeddings=1024, tie_word_embeddings=False)
    torch.manual_seed(0)
    reference = Qwen2ForCausalLM(config).eval()
    # transformers 5 writes safetensors only (its safe_serialization argument is gone) and
    # names the load dtype `dtype` (torch_dtype is deprecated).
    reference.to(torch.bfloat16).save_pretrained(folder)
    reference = Qwen2ForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids = torch.randint(0, config.vocab_size, (4, 256))
    fp32 = token_logprobs(reference.to(device), ids.to(device)).cpu()
    bf16 = token_logprobs(reference.to(torch.bfloat16), ids.to(device)).cpu()
    with open(os.path.join(work, "sequences.jsonl"), "w") as out:
        for row in ids.tolist():
            out.write(json.dumps({"input_ids": row}) + "\n")
    scored = os.path.join(work, "empo_scores.jsonl")
    subprocess.run([empo, "score", "--model", folder, "--input", os.path.join(work, "sequences.jsonl"),
                    "--output", scored, "--device", device, "--dtype", "bfloat16"], check=True)
    with open(scored) as lines:
        ours = torch.tensor([json.loads(line)["logprobs"] for line in lines])
    hf_error = (bf16 - fp32).abs().max().item()
    our_error = (ours - fp32).abs().max().item()
    passed = our_error <= 2 * hf_error + 0.02
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    print(json.dumps({"check": "bf16 logprobs vs transformers", "device": name,
                      "empo_bf16_max_error": our_error,
                      "transformers_bf16_max_error": hf_error, "passed": passed}), flush=True)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
