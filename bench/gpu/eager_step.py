#!/usr/bin/env python3
"""The PyTorch eager peer of bench/train_step_bench.cpp: the same Qwen2 shape, batch and loss
(GRPO: -advantage * token log-prob, sequence mean of token means), one transformers forward,
backward and torch.optim.AdamW step per iteration. Prints one JSON line with the same keys.

Usage: eager_step.py key=value ... (shape, sequences, prompt, completion, steps, warmup)
"""
import json
import sys
import time

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

SHAPES = {  # hidden, layers, heads, kv heads, intermediate, vocab (Qwen2.5's config.json)
    "qwen2.5-0.5b": (896, 24, 14, 2, 4864, 151936),
    "qwen2.5-1.5b": (1536, 28, 12, 2, 8960, 151936),
}


def main():
    options = {"shape": "qwen2.5-0.5b", "sequences": "8", "prompt": "256", "completion": "768",
               "steps": "5", "warmup": "2", "attn": "sdpa"}
    for argument in sys.argv[1:]:
        key, value = argument.split("=", 1)
        if key not in options:
            raise SystemExit(f"eager_step.py: unknown key {key}")
        options[key] = value
    hidden, layers, heads, kv_heads, intermediate, vocab = SHAPES[options["shape"]]
    sequences, prompt, completion = (int(options[k]) for k in ("sequences", "prompt", "completion"))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    config = Qwen2Config(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=kv_heads, intermediate_size=intermediate,
                         vocab_size=vocab, max_position_embeddings=32768, rope_theta=1e6,
                         tie_word_embeddings=True, attn_implementation=options["attn"])
    torch.manual_seed(1)
    model = Qwen2ForCausalLM(config).to(device=device, dtype=dtype)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6)
    T = prompt + completion
    ids = torch.randint(0, vocab, (sequences, T), device=device)
    advantages = torch.tensor([1.0 if i % 2 == 0 else -1.0 for i in range(sequences)],
                              device=device)

    def step():
        logits = model(input_ids=ids).logits[:, prompt - 1:-1].float()  # (B, K, V)
        logprobs = torch.log_softmax(logits, -1).gather(-1, ids[:, prompt:, None]).squeeze(-1)
        loss = -(advantages[:, None] * logprobs).mean(-1).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(int(options["warmup"])):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    steps = int(options["steps"])
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / steps
    head_dim = hidden // heads
    matmul_parameters = sum(p.numel() for p in model.parameters())  # tied: lm_head counted once
    tokens = sequences * T
    flops = tokens * (6.0 * matmul_parameters + 12.0 * layers * heads * head_dim * T)
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else 0
    print(json.dumps({"impl": "pytorch-eager", "shape": options["shape"], "device": device,
                      "dtype": str(dtype).replace("torch.", ""), "sequences": sequences,
                      "tokens_per_sequence": T, "step_seconds": seconds,
                      "tokens_per_second": tokens / seconds, "tflops": flops / seconds / 1e12,
                      "peak_bytes": peak}), flush=True)


if __name__ == "__main__":
    main()
