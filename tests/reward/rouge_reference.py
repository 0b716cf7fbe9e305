"""ROUGE-L precision, recall and F1 of (candidate, reference) pairs by Google's rouge-score
package (the one free-form EMPO code uses), without stemming. Reads a JSON list of
[candidate, reference] pairs from argv[1]; prints a JSON list of [precision, recall, f1].
Exits 77 when rouge-score cannot be imported, so the calling test can skip."""
import json
import sys

try:
    from rouge_score import rouge_scorer
except ImportError as error:
    print(f"rouge-score is not importable: {error}", file=sys.stderr)
    sys.exit(77)

scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
with open(sys.argv[1], encoding="utf-8") as file:
    pairs = json.load(file)
scores = []
for candidate, reference in pairs:
    score = scorer.score(reference, candidate)["rougeL"]  # score(target, prediction)
    scores.append([score.precision, score.recall, score.fmeasure])
print(json.dumps(scores))
