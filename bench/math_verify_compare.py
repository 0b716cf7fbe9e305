#!/usr/bin/env python3
"""empo's math equivalence side by side with Hugging Face math-verify, in one run.

    pip install math-verify
    python3 bench/math_verify_compare.py [--build build] [--questions 100] [--samples 8]

Pairs of answers that real producers wrote:
  * the demo model (models/adder) sampled with `empo generate` on held-out questions: each
    sample's answer against the golden answer and against the group's first answer (what
    a supervised reward and EMPO's clustering compare);
  * the 1,517 ground truths of data/benchmarks: each against rewritten forms of itself
    (LaTeX spelling, spacing, a label "x = ...", delimiters) and against the next answer
    in the file.

Agreement: empo's verdicts (`empo grade`) against math_verify.verify(parse(a), parse(b))
with a as the gold, as TRL and open-r1 call it. Every disagreement is listed by kind.
Speed, on the same pairs, parse included on both sides: math-verify in this process;
empo in-process through build/bench/equivalence_bench (BM_ComparePairsFile). The machine
is printed with the numbers.
"""
import argparse
import collections
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = ["aime24", "amc23", "math500", "minerva_math", "olympiadbench"]


def read_jsonl(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def hash_dollar(text):
    """The demo task's answer: between the last '#' and the next '$' (empo's hash_dollar)."""
    hash_at = text.rfind("#")
    if hash_at < 0:
        return ""
    dollar = text.find("$", hash_at + 1)
    return "" if dollar < 0 else text[hash_at + 1 : dollar].strip()


def demo_model_pairs(build, questions, samples, workdir):
    rows = read_jsonl(os.path.join(ROOT, "data/adder/test.jsonl"))[:questions]
    prompts = os.path.join(workdir, "prompts.jsonl")
    completions = os.path.join(workdir, "completions.jsonl")
    write_jsonl(prompts, [{"prompt": row["question"]} for row in rows])
    subprocess.run(
        [os.path.join(build, "empo"), "generate", "--model", os.path.join(ROOT, "models/adder"),
         "--input", prompts, "--output", completions, "--n", str(samples),
         "--temperature", "1", "--max-new-tokens", "48", "--seed", "0"],
        check=True, stderr=subprocess.DEVNULL)
    answers = collections.defaultdict(list)
    for line in read_jsonl(completions):
        answers[line["index"]].append(hash_dollar(line["completion"]))
    pairs = []
    for index, row in enumerate(rows):
        group = answers[index]
        for answer in group:
            if answer:
                pairs.append(("demo model vs golden", row["answer"], answer))
        for answer in group[1:]:
            if answer and group[0]:
                pairs.append(("demo model vs first sample", group[0], answer))
    return pairs


def rewrite_spelling(answer):
    """\\dfrac -> \\frac, \\left( \\right) dropped, spaces around + = and before commands."""
    text = answer.replace("\\dfrac", "\\frac").replace("\\left(", "(").replace("\\right)", ")")
    out = " "
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out += " \\" + text[i + 1]
            i += 2
            continue
        out += " " + text[i] + " " if text[i] in "+=" else text[i]
        i += 1
    return out


def ground_truth_pairs():
    answers = []
    for name in BENCHMARKS:
        for row in read_jsonl(os.path.join(ROOT, "data/benchmarks", name + ".jsonl")):
            answers.extend(row["reward_model"]["ground_truth"])
    pairs = []
    for i, answer in enumerate(answers):
        pairs.append(("ground truth vs its rewrite", answer, rewrite_spelling(answer)))
        if not any(mark in answer for mark in "=,$"):
            pairs.append(("ground truth vs labelled", answer, "x = " + answer))
        pairs.append(("ground truth vs next answer", answer, answers[(i + 1) % len(answers)]))
    return pairs


def math_verify_verdicts(pairs):
    from math_verify import parse, verify  # noqa: PLC0415 (optional dependency)

    def as_latex(answer):  # math-verify reads LaTeX in delimiters ("\\$" is currency)
        return answer if re.search(r"(?<!\\)\$", answer) else "$" + answer + "$"

    verdicts = []
    started = time.perf_counter()
    for _, a, b in pairs:
        verdicts.append(bool(verify(parse(as_latex(a)), parse(as_latex(b)))))
    return verdicts, len(pairs) / (time.perf_counter() - started)


def empo_verdicts(build, pairs, workdir):
    source = os.path.join(workdir, "pairs.jsonl")
    graded = os.path.join(workdir, "graded.jsonl")
    write_jsonl(source, [{"a": a, "b": b} for _, a, b in pairs])
    subprocess.run([os.path.join(build, "empo"), "grade", "--input", source, "--output", graded],
                   check=True)
    verdicts = [line["equivalent"] for line in read_jsonl(graded)]
    bench = subprocess.run(
        [os.path.join(build, "bench/equivalence_bench"), "--benchmark_filter=BM_ComparePairsFile",
         "--benchmark_format=json", "--benchmark_min_time=2"],
        check=True, capture_output=True, text=True, env={**os.environ, "EMPO_PAIRS_FILE": source})
    result = json.loads(bench.stdout)["benchmarks"][0]
    return verdicts, result["items_per_second"]


def machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--questions", type=int, default=100, help="demo model questions")
    parser.add_argument("--samples", type=int, default=8, help="samples per question")
    parser.add_argument("--show", type=int, default=8, help="disagreements shown per kind")
    args = parser.parse_args()
    try:
        import math_verify  # noqa: F401, PLC0415
    except ImportError:
        sys.exit("math-verify is not installed: pip install math-verify")

    with tempfile.TemporaryDirectory() as workdir:
        pairs = demo_model_pairs(args.build, args.questions, args.samples, workdir)
        pairs += ground_truth_pairs()
        ours, our_rate = empo_verdicts(args.build, pairs, workdir)
    theirs, their_rate = math_verify_verdicts(pairs)

    by_source = collections.defaultdict(lambda: [0, 0])
    differences = collections.defaultdict(list)
    for (source, a, b), mine, reference in zip(pairs, ours, theirs):
        by_source[source][0] += 1
        by_source[source][1] += mine == reference
        if mine != reference:
            kind = "empo equal, math-verify not" if mine else "math-verify equal, empo not"
            differences[(source, kind)].append((a, b))

    agreed = sum(mine == reference for mine, reference in zip(ours, theirs))
    print(f"machine: {machine()}")
    print(f"pairs: {len(pairs)}; agreement {100.0 * agreed / len(pairs):.1f}% ({agreed})")
    for source, (count, same) in sorted(by_source.items()):
        print(f"  {source}: {count} pairs, agreement {100.0 * same / count:.1f}%")
    print(f"empo: {our_rate:,.0f} comparisons/s (in-process, parse included, 1 thread)")
    print(f"math-verify: {their_rate:,.1f} comparisons/s (verify(parse(a), parse(b)))")
    print(f"ratio: {our_rate / their_rate:,.0f}x")
    for (source, kind), cases in sorted(differences.items()):
        print(f"\n{source} -- {kind}: {len(cases)}")
        for a, b in cases[: args.show]:
            print(f"  [{a}]  vs  [{b}]")


if __name__ == "__main__":
    main()
