"""transformers generate() on the GPU shapes of `rollout_bench --gpu` (bench/gpu/run.sh): a random
Qwen2.5-shaped model in bf16, prompts of 128 tokens, sampling at T = 1, with a static cache and a
compiled forward (the fastest generate() configuration), on the same prompt ids.

Usage: rollout_peer.py SHAPE BATCH [long-tail] [--time-left SECONDS]  ->  one JSON line.
--time-left: the wall time bench/gpu/run.sh has left for this run; when the warm-up (compile
included, a bound on the timed run) took longer than what then remains, the line says so
("skipped") instead of the run being killed without a result.
"""
import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM, Qwen2Config

SHAPES = {"0.5b": (896, 24, 14, 2, 4864), "1.5b": (1536, 28, 12, 2, 8960),
          "7b": (3584, 28, 28, 4, 18944)}


def main():
    started = time.perf_counter()
    arguments = sys.argv[1:]
    time_left = None
    if "--time-left" in arguments:
        at = arguments.index("--time-left")
        time_left = float(arguments[at + 1])
        del arguments[at:at + 2]
    shape, batch = arguments[0], int(arguments[1])
    long_tail = len(arguments) > 2 and arguments[2] == "long-tail"
    hidden, layers, heads, kv_heads, intermediate = SHAPES[shape]
    config = Qwen2Config(vocab_size=151936, hidden_size=hidden, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=kv_heads,
                         intermediate_size=intermediate, max_position_embeddings=32768,
                         rope_theta=1e6, tie_word_embeddings=shape != "7b")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).cuda().eval()
    G = 8 if long_tail else 1
    prompts = [[(i * 7919 + t * 104729) % 151936 for t in range(128)] for i in range(batch // G)]
    ids = torch.tensor(prompts, device="cuda")
    eos = list(range(0, 151936, 200)) if long_tail else None
    new_tokens = 1024 if long_tail else 256
    model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=False)

    def once():
        with torch.no_grad():
            return model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True,
                                  temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=new_tokens,
                                  min_new_tokens=0, num_return_sequences=G, eos_token_id=eos,
                                  pad_token_id=0, cache_implementation="static")[:, 128:]

    warm_start = time.perf_counter()
    once()  # compile and warm up
    torch.cuda.synchronize()
    warm_up = time.perf_counter() - warm_start
    if time_left is not None and time.perf_counter() - started + warm_up > time_left:
        print(json.dumps({"impl": "transformers-static-compiled", "shape": shape, "batch": batch,
                          "long_tail": long_tail, "warm_up_seconds": warm_up,
                          "skipped": f"warm-up took {warm_up:.0f} s, more than the "
                                     f"{time_left - (time.perf_counter() - started):.0f} s left"}))
        return
    start = time.perf_counter()
    out = once()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    stops = set(eos or [])
    tokens = 0
    for row in out.tolist():
        for token in row:
            tokens += 1
            if token in stops:
                break
    print(json.dumps({"impl": "transformers-static-compiled", "shape": shape, "batch": batch,
                      "long_tail": long_tail, "tokens": tokens, "seconds": seconds,
                      "tokens_per_second": tokens / seconds}))


if __name__ == "__main__":
    main()
