"""The evaluation benchmark runs the evaluate stage's work on the smoke project's M1 through both backends and
compares them; greedy decoding of one model answers the same through both. Timings are printed, never asserted."""

from __future__ import annotations

import re
import sys

import pytest

from tests.conftest import run

SUMMARY = re.compile(r"^data/models/m1 vllm_vs_hf=(\d+\.\d\d) same_responses=(\d\.\d{3}) same_verdicts=(\d\.\d{3}) "
                     r"same_accuracy=(True|False)$", re.MULTILINE)


@pytest.mark.pipeline
def test_eval_benchmark_times_both_backends_and_compares_their_answers(project):
    out = run([sys.executable, "-m", "benchmarks.eval_speed", "--model", "data/models/m1"], project)
    for backend in ("hf", "vllm"):
        line = next(line for line in out.splitlines() if line.startswith(f"data/models/m1 {backend}:"))
        assert re.search(r"answers [\d.]+ s \(12 problems, accuracy [\d.]+\), judge [\d.]+ s \(12 pairs\)", line), line
    summary = SUMMARY.search(out)
    assert summary, out[-2000:]
    assert float(summary.group(2)) >= 0.8  # greedy decoding: the same text through either backend (near-ties aside)
