"""The rollout benchmark runs end to end on the smoke project's M1: both paths search, both judge
modes are timed, and it ends with its summary line. Timings are printed, never asserted."""

from __future__ import annotations

import re
import sys

import pytest

from tests.conftest import run

SUMMARY = re.compile(r"^speedup_vs_naive=(\d+\.\d) direct_vs_explain=(\d+\.\d) knockout_vs_round_robin=(\d\.\d\d)$",
                     re.MULTILINE)


@pytest.mark.pipeline
def test_benchmark_prints_both_paths_and_its_summary_line(project):
    out = run([sys.executable, "-m", "benchmarks.rollout_speed", "--model", "data/models/m1", "--problems", "3",
               "--warmup", "1", "--width", "4", "--judge-prompts", "16"], project)
    lines = out.splitlines()
    engine = next(line for line in lines if line.startswith("engine (vLLM"))
    naive = next(line for line in lines if line.startswith("naive loop"))
    for line in (engine, naive):
        steps = int(re.search(r"(\d+) searched steps", line).group(1))
        assert steps >= 3  # every problem searched at least one step
    judged = [line for line in lines if line.startswith("judge explain") or line.startswith("judge direct")]
    assert len(judged) == 2 and all("judge prompts of the search" in line for line in judged)
    assert re.search(r"judge direct: .*\(0\.0 tokens decoded", out)
    summary = SUMMARY.search(out)  # the last line of stdout (run() appends stderr after it)
    assert summary, out[-2000:]
    assert float(summary.group(3)) < 1.0  # knockout asks fewer than round robin's 12 at w = 4
