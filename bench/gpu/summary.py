#!/usr/bin/env python3
"""bench/gpu/run.sh's summary: the steps (ran / failed / skipped, why, log), then the training and
rollout tables from whatever result rows exist. Every field may be missing (a step that failed or
was skipped leaves none, a row may lack a key): such cells print "-". Needs no torch.

Usage: summary.py STEPS_TSV RESULTS_JSONL
STEPS_TSV: name <TAB> status <TAB> seconds <TAB> reason <TAB> log, one step a line.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from device import limits  # noqa: E402


def cell(row, key, spec="", scale=1.0):
    value = row.get(key) if row else None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "-" if value is None else str(value)
    return format(value * scale, spec)


def read_rows(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as lines:
        for line in lines:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def steps_table(path):
    print("| step | result | seconds | reason | log |")
    print("|---|---|---|---|---|")
    counts = {}
    if os.path.exists(path):
        with open(path) as lines:
            table = [(line.rstrip("\n").split("\t") + [""] * 5)[:5] for line in lines]
        for fields in table:
            name, status, seconds, reason, log = fields
            counts[status] = counts.get(status, 0) + 1
            print(f"| {name} | {status} | {seconds or '-'} | {reason or '-'} | {log or '-'} |")
    print("\n" + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) if counts else "no steps")


def main():
    steps_path, results_path = sys.argv[1], sys.argv[2]
    rows = read_rows(results_path)
    print("## Steps\n")
    steps_table(steps_path)

    device = next((r for r in rows if r.get("impl") == "device"), {})
    name = device.get("name")
    bandwidth, peak, source = limits(name)
    print(f"\n## Device\n\n{name or 'no GPU seen'} (torch {device.get('torch', '-')}); "
          f"HBM {cell({'b': bandwidth}, 'b', '.3g')} B/s, bf16 peak {cell({'p': peak}, 'p', '.0f')} "
          f"TFLOP/s: {source}")
    for check in (r for r in rows if "check" in r):
        print(f"\n{check['check']} ({check.get('device', '-')}): passed {check.get('passed', '-')}, "
              f"empo max error {cell(check, 'empo_bf16_max_error', '.4g')}, transformers "
              f"{cell(check, 'transformers_bf16_max_error', '.4g')}")

    # Training rows have step_seconds (rollout rows of impl "empo" do not).
    training = [r for r in rows if r.get("impl") in ("empo", "pytorch-eager") and "step_seconds" in r]
    plan = {r.get("shape"): r for r in rows if r.get("impl") == "empo plan"}
    print("\n## Training step (fwd + bwd + AdamW)\n")
    print("| shape | impl | step s | tokens/s | TFLOP/s | MFU | peak GiB | plan GiB |")
    print("|---|---|---|---|---|---|---|---|")
    shapes = sorted({r.get("shape") for r in training} | set(plan), key=str)
    for shape in shapes:
        for r in [r for r in training if r.get("shape") == shape] or [{"shape": shape}]:
            tflops = r.get("tflops")
            mfu = f"{100 * tflops / peak:.1f}%" if peak and isinstance(tflops, (int, float)) else "-"
            print(f"| {shape} | {r.get('impl', '-')} | {cell(r, 'step_seconds', '.3f')} "
                  f"| {cell(r, 'tokens_per_second', ',.0f')} | {cell(r, 'tflops', '.0f')} | {mfu} "
                  f"| {cell(r, 'peak_bytes', '.2f', 2**-30)} "
                  f"| {cell(plan.get(shape), 'peak_bytes', '.2f', 2**-30)} |")
        ours = next((r for r in training if r.get("shape") == shape and r.get("impl") == "empo"), None)
        eager = next((r for r in training if r.get("shape") == shape
                      and r.get("impl") == "pytorch-eager"), None)
        if ours and eager and ours.get("tokens_per_second") and eager.get("tokens_per_second"):
            print(f"| {shape} | empo / eager | | {ours['tokens_per_second'] / eager['tokens_per_second']:.2f}x "
                  "| | | | |")

    def key(r):
        return (r.get("shape"), r.get("batch"), bool(r.get("long_tail")))

    ours = {key(r): r for r in rows if r.get("impl") == "empo" and "long_tail" in r}
    peers = {key(r): r for r in rows if r.get("impl") == "transformers-static-compiled"}
    print("\n## Rollouts (prompt 128, sampling)\n")
    print("| shape @ batch | empo tok/s | transformers tok/s | ratio | bandwidth bound tok/s | share "
          "| graphs tok/s | graphs captured | graphs = eager samples | first logprob diff |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k in sorted(set(ours) | set(peers), key=str):
        r, p = ours.get(k, {}), peers.get(k, {})
        name = f"{k[0]} @ {k[1]}" + (" long tail" if k[2] else "")
        ratio = bound = share = "-"
        speed, peer_speed = r.get("tokens_per_second"), p.get("tokens_per_second")
        if speed and peer_speed:
            ratio = f"{speed / peer_speed:.2f}x"
        # Per decode step every weight is read once and every live row reads its keys/values.
        try:
            step_bytes = r["parameters"] * 2 + r["batch"] * r["mean_context"] * r["kv_bytes_per_token"]
            if bandwidth:
                bound_value = r["batch"] / (step_bytes / bandwidth)
                bound = f"{bound_value:,.0f}"
                share = f"{100 * speed / bound_value:.0f}%" if speed else "-"
        except (KeyError, TypeError, ZeroDivisionError):
            pass
        peer_cell = cell(p, "tokens_per_second", ",.0f") if "skipped" not in p else f"skipped: {p['skipped']}"
        print(f"| {name} | {cell(r, 'tokens_per_second', ',.0f')} | {peer_cell} | {ratio} | {bound} "
              f"| {share} | {cell(r, 'graphs_tokens_per_second', ',.0f')} "
              f"| {cell(r, 'graphs_captured_buckets')} "
              f"| {cell(r, 'graphs_identical_samples', '.0f', 100)}{'%' if 'graphs_identical_samples' in r else ''} "
              f"| {cell(r, 'graphs_first_logprob_max_difference', '.3g')} |")


if __name__ == "__main__":
    main()
