"""The whole DAG on a smoke-sized configuration, in a temporary copy of the project.

Runs ``dvc repro`` end to end (real vLLM rollouts, real TRL training, real lm-eval), validates every
artifact against its schema, then checks what DVC would rerun: nothing on a second run, and after a
change of ``search.temperature`` the rollouts and what follows them, never M0, the sets or M1.
"""

from __future__ import annotations

import json

import pytest
import yaml

from psrlm.params import load_params
from schemas import (
    AnswerEvalRow,
    EFTRecord,
    EvalMetrics,
    IFTRecord,
    JudgeEvalRow,
    PreferencePair,
    Problem,
    RolloutMetrics,
    SearchPath,
    SearchEvalMetrics,
    SolutionEFTRecord,
    SolutionRolloutMetrics,
)
from schemas.rollout import ROLLOUT_TABLES
from schemas.solutions import SOLUTION_TABLES
from schemas.table import read_jsonl, read_parquet
from tests.conftest import run, stages_run


@pytest.mark.pipeline
def test_every_artifact_matches_its_schema(project, monkeypatch):
    monkeypatch.chdir(project)
    p = load_params()
    for split in ("pretrain", "sft", "search", "test"):
        assert read_jsonl(p.problems_file(split), Problem)
    assert read_parquet(p.set_file("ift"), IFTRecord)
    assert read_parquet(p.set_file("eft_train"), EFTRecord)
    assert read_parquet(p.set_file("eft_test"), EFTRecord)
    for it in p.iterations:
        tables = {name: read_parquet(p.rollout_dir(it) / f"{name}.parquet", model)
                  for name, model in ROLLOUT_TABLES.items()}
        assert len(tables["paths"]) == p.iterations[it].num_problems
        assert tables["candidates"] and tables["rounds"]
        read_parquet(p.pairs_file(it), PreferencePair)  # may be empty for an untrained smoke model
        RolloutMetrics.model_validate_json(p.metrics_file("rollout", it).read_text())
        assert (p.model_dir(it) / "config.json").exists()
    assert read_parquet(p.set_file("solution_eft_train"), SolutionEFTRecord)
    for it, cfg in p.srlm.iterations.items():  # the SRLM arm: whole solutions, self-scored
        tables = {name: read_parquet(p.rollout_dir(it) / f"{name}.parquet", model)
                  for name, model in SOLUTION_TABLES.items()}
        assert len(tables["solutions"]) == cfg.num_problems * p.srlm.width
        pairs = read_parquet(p.pairs_file(it), PreferencePair)
        assert all(x.chosen_final and x.rejected_final for x in pairs)
        metrics = SolutionRolloutMetrics.model_validate_json(p.metrics_file("rollout", it).read_text())
        assert metrics.pairs == len(pairs) and metrics.solutions == len(tables["solutions"])
        assert metrics.sampled_tokens > 0
        assert (p.model_dir(it) / "config.json").exists()
    for m in [*p.evaluate.models, *p.srlm.iterations]:
        metrics = EvalMetrics.model_validate_json(p.metrics_file("eval", m).read_text())
        assert metrics.problems == p.problems.splits.test
        assert len(read_jsonl(p.eval_dir(m) / "answers.jsonl", AnswerEvalRow)) == metrics.problems
        assert read_parquet(p.eval_dir(m) / "judge.parquet", JudgeEvalRow)
    for m in p.evaluate.search_models:
        searched = SearchEvalMetrics.model_validate_json(p.metrics_file("eval", f"{m}-search").read_text())
        assert set(searched.tasks) == set(p.evaluate.tasks)
        for task, t in searched.tasks.items():  # one folder of search tables per task
            paths = read_parquet(p.test_search_dir(m, task) / "paths.parquet", SearchPath)
            assert t.problems == len(paths) == p.evaluate.search_limit
            assert t.search_accuracy == sum(x.correct for x in paths) / len(paths)
    summary = json.loads(p.summary_file("json").read_text())
    assert set(summary) == {*p.evaluate.models, *p.srlm.iterations}
    assert all(summary[m].get("solution_level") for m in p.srlm.iterations)
    assert all(RolloutMetrics.model_validate_json(p.metrics_file("rollout", it).read_text()).sampled_tokens
               for it in p.iterations)
    assert all("search_accuracy" in summary[m] for m in p.evaluate.search_models)


@pytest.mark.pipeline
def test_second_repro_reruns_nothing(project):
    assert stages_run(project) == set()
    assert "up to date" in run(["dvc", "status"], project)


@pytest.mark.pipeline
def test_temperature_change_reruns_rollouts_and_what_follows_only(project):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["search"]["temperature"] = 0.9
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # the stages whose own inputs changed: the rollouts, and test-time search (it searches with the same params)
    assert stages_run(project, "--dry") == {"rollout@m2", "rollout@m3", "test_search@m3"}
    pairs_before = {it: (project / f"data/pairs/{it}.parquet").read_bytes() for it in ("m2", "m3")}
    metrics = sorted((project / "data" / "metrics").glob("[er]*/*.json"))  # eval/, rollout/: what summary reads
    metrics_before = [m.read_bytes() for m in metrics]
    rerun = stages_run(project)  # and, for real, what follows them
    assert {"rollout@m2", "pairs@m2", "rollout@m3", "pairs@m3", "test_search@m3"} <= rerun
    for it in ("m2", "m3"):  # DPO reruns when its pairs changed (an untrained smoke model may find none)
        changed = (project / f"data/pairs/{it}.parquet").read_bytes() != pairs_before[it]
        assert not changed or f"dpo@{it}" in rerun
    # the summary reruns when a metric it reads changed (with an untrained smoke model they may not)
    assert ([m.read_bytes() for m in metrics] == metrics_before) or "summary" in rerun
    assert not rerun & {"problems", "base_model", "sets", "sft", "evaluate@m0", "evaluate@m1"}
