"""What each stage reads of the params and writes is what ``dvc.yaml`` declares (``psrlm/trace.py``).

The smoke pipeline (``project`` in ``tests/conftest.py``) runs every stage with ``PSRLM_TRACE`` set; its
trace is checked against each stage's ``params`` and ``outs`` by ``tests.test_dag.trace_gaps`` (the rules:
its comment). The trace itself is tested here on hand-made reads and writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from psrlm.params import Strict, load_params
from psrlm.trace import Trace
from tests.test_dag import instances, trace_gaps

ROOT = Path(__file__).resolve().parents[1]


def test_the_trace_records_the_keys_read_and_the_files_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = load_params(ROOT / "params.yaml")
    (tmp_path / "data").mkdir()
    for name in ("kept.txt", "changed.txt", "removed.txt"):
        (tmp_path / "data" / name).write_text("x")
    trace = Trace(params)
    try:
        assert params.iteration("m3").parent == "m2"  # one entry of iterations, one field of it
        assert "m2" not in params.srlm.iterations  # a lookup alone reads nothing
        params.search.model_dump(exclude={"max_in_flight", "top_p"})
        assert params.problems.toy.for_split("search").operand_max  # through a model_copy
        assert params.pairs_file("m2") == Path("data/pairs/m2.parquet")  # through a helper: paths.pairs
        assert load_params(ROOT / "params.yaml").grading.fallback  # a second load (lm-eval task code)
        assert params.evaluate.models
        (tmp_path / "data" / "changed.txt").write_text("xy")
        (tmp_path / "data" / "removed.txt").unlink()
        (tmp_path / "data" / "models" / ".m2.tmp").mkdir(parents=True)  # a work folder, gone by the end
        (tmp_path / "data" / "models" / ".m2.tmp" / "w.bin").write_text("w")
        (tmp_path / "data" / "models" / ".m2.tmp").rename(tmp_path / "data" / "models" / "m2")
    finally:
        trace.save(tmp_path / "trace.jsonl", "dpo@m2")
    assert "__getattribute__" not in Strict.__dict__  # saved: tracing is off again
    record = json.loads((tmp_path / "trace.jsonl").read_text())
    assert record == {
        "stage": "dpo@m2",
        "reads": ["evaluate.models", "grading.fallback", "iterations.m3.parent", "paths.pairs",
                  "problems.toy.operand_max", "problems.toy.split_ops", "search.max_rollbacks",
                  "search.max_step_tokens", "search.max_steps", "search.step_end", "search.temperature",
                  "search.width"],
        "writes": ["data/changed.txt", "data/models/m2/w.bin"],
        "removed": ["data/removed.txt"],
    }
    params.seed  # noqa: B018 (not traced any more)
    assert "seed" not in trace.reads


def test_going_over_iterations_reads_all_of_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = load_params(ROOT / "params.yaml")
    trace = Trace(params)
    try:
        names = sorted(params.iterations)
        spans = {m: it.num_problems for m, it in params.iterations.items()}
    finally:
        trace.save(tmp_path / "trace.jsonl", "summary")
    assert names == sorted(spans)
    assert trace.reads == {"iterations", *(f"iterations.{m}.num_problems" for m in names)}


@pytest.mark.pipeline
def test_every_stage_reads_its_declared_params_and_writes_its_declared_outs(project):
    """The trace of the smoke run holds every stage of the DAG once and matches ``dvc.yaml``; a copy of
    ``dvc.yaml`` without a param or an out that a stage uses does not."""
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    raw = yaml.safe_load((project / "params.yaml").read_text())
    runs = [json.loads(line) for line in (project.parent / "trace.jsonl").read_text().splitlines()]
    assert sorted(r["stage"] for r in runs) == sorted(i for n, s in stages.items() for i, *_ in instances(n, s, raw))
    found = trace_gaps(stages, raw, runs)
    assert not found, "the stages' reads and writes do not match dvc.yaml:\n" + yaml.safe_dump(found)
    broken = yaml.safe_load(yaml.safe_dump(stages))
    broken["rollout"]["do"]["params"].remove("search")
    broken["summary"]["params"].remove("iterations")
    broken["sets"]["outs"] = []
    found = trace_gaps(broken, raw, runs)
    assert set(found) == {"rollout@m2", "rollout@m3", "summary", "sets"}
    assert "search.width" in found["rollout@m2"]["params read, not declared"]
    assert "iterations" in found["summary"]["params read, not declared"]
    assert "data/sets/ift.parquet" in found["sets"]["written outside its outs"]
