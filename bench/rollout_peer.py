"""The peers of bench/rollout_bench: Hugging Face transformers generate() and a plain eager
PyTorch decode loop (a static KV cache per row, the prompt's keys/values copied into its G rows,
inverse-CDF sampling), on the model folder and prompt ids the C++ bench wrote.

Usage: rollout_peer.py CASE.json  ->  one JSON line {"transformers": {...}, "eager": {...}}.
Tokens are counted as the engine counts them: each row's tokens up to and including its first
EOS (rows a static batch keeps computing after EOS are not counted).
"""
import json
import math
import sys
import time

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def useful_tokens(new_tokens, eos):
    count = 0
    for row in new_tokens.tolist():
        for token in row:
            count += 1
            if token == eos:
                break
    return count


def best_of(case, generate):
    """A warm-up, then the fastest of case["repeats"] timed runs (the C++ side times the same way)."""
    generate()
    best = None
    for _ in range(case["repeats"]):
        start = time.perf_counter()
        new_tokens = generate()
        seconds = time.perf_counter() - start
        if best is None or seconds < best["seconds"]:
            best = {"seconds": seconds, "tokens": useful_tokens(new_tokens, case["eos_token_id"])}
    return best


def run_transformers(case, prompts):
    model = AutoModelForCausalLM.from_pretrained(case["model"], dtype=torch.float32)
    model.eval()
    pad = case["pad_token_id"]
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, prompt in enumerate(prompts):  # left padding, as generate() wants
        ids[row, width - len(prompt):] = torch.tensor(prompt)
        mask[row, width - len(prompt):] = 1

    def once():
        torch.manual_seed(0)
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, do_sample=True,
                                 temperature=case["temperature"], top_k=0, top_p=1.0,
                                 max_new_tokens=case["max_new_tokens"],
                                 num_return_sequences=case["G"],
                                 eos_token_id=case["eos_token_id"], pad_token_id=pad)
        return out[:, width:]

    return best_of(case, once)


class Eager:
    """Qwen2 in plain PyTorch ops: RMSNorm, RoPE, grouped-query attention, SwiGLU."""

    def __init__(self, folder):
        config = json.load(open(folder + "/config.json"))
        self.w = load_file(folder + "/model.safetensors")
        self.layers = config["num_hidden_layers"]
        self.heads = config["num_attention_heads"]
        self.kv_heads = config["num_key_value_heads"]
        self.head_dim = config.get("head_dim") or config["hidden_size"] // self.heads
        self.eps = config["rms_norm_eps"]
        self.theta = config.get("rope_theta", 10000.0)
        self.lm_head = self.w.get("lm_head.weight", self.w["model.embed_tokens.weight"])

    def norm(self, x, weight):
        return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def rope(self, x, positions):  # x (B, H, T, D), positions (B, T)
        half = self.head_dim // 2
        frequency = 1.0 / self.theta ** (torch.arange(half, dtype=torch.float32) * 2 / self.head_dim)
        angles = positions.float().unsqueeze(-1) * frequency  # (B, T, D/2)
        cos, sin = angles.cos().unsqueeze(1), angles.sin().unsqueeze(1)
        first, second = x[..., :half], x[..., half:]
        return torch.cat([first * cos - second * sin, second * cos + first * sin], -1)

    def linear(self, x, name):
        bias = self.w.get(name + ".bias")
        return torch.nn.functional.linear(x, self.w[name + ".weight"], bias)

    def forward(self, ids, positions, cache, length, key_mask):
        """ids (B, T) at cache slots [length, length + T); key_mask (B, length + T)."""
        B, T = ids.shape
        x = self.w["model.embed_tokens.weight"][ids]
        S = length + T
        causal = torch.arange(S).unsqueeze(0) <= (torch.arange(T) + length).unsqueeze(1)  # (T, S)
        own = torch.arange(S).unsqueeze(0) == (torch.arange(T) + length).unsqueeze(1)  # (T, S)
        # A padding query sees its own slot, so no row is all -inf (NaN would reach the values).
        visible = ((causal.unsqueeze(0) & key_mask.unsqueeze(1)) | own).unsqueeze(1)  # (B, 1, T, S)
        for i in range(self.layers):
            p = f"model.layers.{i}."
            h = self.norm(x, self.w[p + "input_layernorm.weight"])
            q = self.linear(h, p + "self_attn.q_proj").view(B, T, self.heads, -1).transpose(1, 2)
            k = self.linear(h, p + "self_attn.k_proj").view(B, T, self.kv_heads, -1).transpose(1, 2)
            v = self.linear(h, p + "self_attn.v_proj").view(B, T, self.kv_heads, -1).transpose(1, 2)
            q, k = self.rope(q, positions), self.rope(k, positions)
            cache[i][0][:, :, length:S] = k
            cache[i][1][:, :, length:S] = v
            keys = cache[i][0][:, :, :S].repeat_interleave(self.heads // self.kv_heads, 1)
            values = cache[i][1][:, :, :S].repeat_interleave(self.heads // self.kv_heads, 1)
            scores = q @ keys.transpose(-1, -2) / math.sqrt(self.head_dim)
            scores = scores.masked_fill(~visible, float("-inf"))
            out = (scores.softmax(-1) @ values).transpose(1, 2).reshape(B, T, -1)
            x = x + self.linear(out, p + "self_attn.o_proj")
            h = self.norm(x, self.w[p + "post_attention_layernorm.weight"])
            gate = self.linear(h, p + "mlp.gate_proj")
            x = x + self.linear(torch.nn.functional.silu(gate) * self.linear(h, p + "mlp.up_proj"),
                                p + "mlp.down_proj")
        return torch.nn.functional.linear(self.norm(x[:, -1], self.w["model.norm.weight"]),
                                          self.lm_head)

    def generate(self, case, prompts):
        G, N = case["G"], case["max_new_tokens"]
        eos, temperature = case["eos_token_id"], case["temperature"]
        width = max(len(p) for p in prompts)
        P = len(prompts)
        ids = torch.full((P, width), case["pad_token_id"], dtype=torch.long)
        key_mask = torch.zeros((P, width), dtype=torch.bool)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt):] = torch.tensor(prompt)
            key_mask[row, width - len(prompt):] = True
        positions = (key_mask.long().cumsum(1) - 1).clamp(min=0)
        cache = [[torch.zeros(P, self.kv_heads, width + N, self.head_dim) for _ in range(2)]
                 for _ in range(self.layers)]
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            logits = self.forward(ids, positions, cache, 0, key_mask)
            expand = torch.arange(P).repeat_interleave(G)  # the prompt's keys/values into G rows
            cache = [[tensor[expand] for tensor in layer] for layer in cache]
            logits, key_mask = logits[expand], key_mask[expand]
            position = positions[expand, -1:] + 1
            done = torch.zeros(P * G, dtype=torch.bool)
            new_tokens = []
            for step in range(N):
                probabilities = (logits / temperature).softmax(-1)
                u = torch.rand(P * G, 1, generator=generator)
                cdf = probabilities.cumsum(-1)
                token = torch.searchsorted(cdf, u * cdf[:, -1:], right=True)
                token = token.clamp(max=logits.shape[-1] - 1)
                new_tokens.append(token)
                done |= token.squeeze(1) == eos
                if bool(done.all()) or step + 1 == N:
                    break
                key_mask = torch.cat([key_mask, torch.ones(P * G, 1, dtype=torch.bool)], 1)
                logits = self.forward(token, position, cache, width + step, key_mask)
                position = position + 1
        return torch.cat(new_tokens, 1)


def run_eager(case, prompts):
    model = Eager(case["model"])
    return best_of(case, lambda: model.generate(case, prompts))


def main():
    case = json.load(open(sys.argv[1]))
    torch.set_num_threads(case["threads"])
    prompts = case["prompts"]
    result = {"transformers": run_transformers(case, prompts), "eager": run_eager(case, prompts)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
