#!/usr/bin/env python3
"""Checks of bench/gpu/summary.py and device.py that need no GPU and no torch (a CTest):
the summary prints every table from partial, malformed and missing rows, and the device's
limits come from its name, an unknown name has none unless the environment gives them."""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import device  # noqa: E402
import summary  # noqa: E402


def run_summary(steps, rows):
    with tempfile.TemporaryDirectory() as folder:
        steps_path = os.path.join(folder, "steps.tsv")
        results_path = os.path.join(folder, "results.jsonl")
        with open(steps_path, "w") as out:
            out.writelines("\t".join(step) + "\n" for step in steps)
        with open(results_path, "w") as out:
            out.writelines((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)
        printed = io.StringIO()
        sys.argv = ["summary.py", steps_path, results_path]
        with contextlib.redirect_stdout(printed):
            summary.main()
        return printed.getvalue()


class Summary(unittest.TestCase):
    def setUp(self):
        for name in ("HBM_BYTES_PER_S", "PEAK_TFLOPS"):
            os.environ.pop(name, None)

    def test_prints_every_table_from_partial_rows(self):
        text = run_summary(
            [("version", "ran", "0", "", "logs/version.log"),
             ("train-empo-qwen2.5-0.5b", "failed", "90", "timed out after 90 s", "logs/t.log"),
             ("rollout-empo-7b@64", "skipped", "", "40 s of the 560 s budget left, it needs 60 s", "")],
            [{"impl": "device", "name": "NVIDIA H100 80GB HBM3", "torch": "2.11.0+cu130"},
             "{not json", "plain text",
             {"impl": "empo plan", "shape": "qwen2.5-0.5b", "peak_bytes": 2**31},
             {"impl": "pytorch-eager", "shape": "qwen2.5-0.5b", "step_seconds": 0.5,
              "tokens_per_second": 16384.0},  # no tflops, no peak
             # A rollout row of impl "empo" has no step_seconds: not a training row.
             {"impl": "empo", "shape": "0.5b", "batch": 256, "long_tail": False,
              "tokens_per_second": 1000.0, "parameters": 494032768, "mean_context": 256,
              "kv_bytes_per_token": 12288},
             {"impl": "transformers-static-compiled", "shape": "7b", "batch": 64,
              "long_tail": False, "skipped": "warm-up took 90 s, more than the 40 s left"}])
        self.assertIn("| train-empo-qwen2.5-0.5b | failed | 90 | timed out after 90 s |", text)
        self.assertIn("| rollout-empo-7b@64 | skipped | - |", text)
        self.assertIn("1 failed, 1 ran, 1 skipped", text)
        self.assertIn("datasheet of H100", text)
        self.assertIn("| qwen2.5-0.5b | pytorch-eager | 0.500 | 16,384 | - | - | - | 2.00 |", text)
        self.assertIn("| 0.5b @ 256 | 1,000 | - | - |", text)
        self.assertIn("skipped: warm-up took 90 s", text)
        self.assertNotIn("| 0.5b | empo |", text)  # the rollout row is not in the training table

    def test_no_rows_at_all(self):
        text = run_summary([], [])
        for heading in ("## Steps", "## Device", "## Training step", "## Rollouts"):
            self.assertIn(heading, text)
        self.assertIn("no GPU seen", text)


class Limits(unittest.TestCase):
    def setUp(self):
        for name in ("HBM_BYTES_PER_S", "PEAK_TFLOPS"):
            os.environ.pop(name, None)

    def test_from_the_name(self):
        self.assertEqual(device.limits("NVIDIA H100 80GB HBM3")[:2], (3.35e12, 989.0))
        self.assertEqual(device.limits("NVIDIA H200")[:2], (4.8e12, 989.0))
        self.assertEqual(device.limits("NVIDIA H100 PCIe")[0], 2.0e12)

    def test_unknown_has_none_unless_the_environment_says(self):
        bandwidth, peak, source = device.limits("NVIDIA A100-SXM4-80GB")
        self.assertIsNone(bandwidth)
        self.assertIsNone(peak)
        self.assertIn("unknown device", source)
        self.assertIn("HBM_BYTES_PER_S", source)
        os.environ["HBM_BYTES_PER_S"] = "2.0e12"
        self.assertEqual(device.limits("NVIDIA A100-SXM4-80GB")[0], 2.0e12)
        self.assertEqual(device.limits("NVIDIA H200")[0], 2.0e12)  # the override wins
        del os.environ["HBM_BYTES_PER_S"]


if __name__ == "__main__":
    unittest.main()
