"""The check every end-to-end run ends with (``tests/test_pipeline.py`` on the smoke project,
``tests/test_profiles.py`` on each profile): every output ``dvc.yaml`` declares was written, and every
artifact passes its schema, with the row counts the params ask for."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from psrlm.params import Params, load_params
from schemas import (
    AnswerEvalRow,
    EFTRecord,
    EvalMetrics,
    IFTRecord,
    JudgeEvalRow,
    PreferencePair,
    Problem,
    RolloutMetrics,
    SearchEvalMetrics,
    SearchPath,
    SolutionEFTRecord,
    SolutionRolloutMetrics,
)
from schemas.rollout import ROLLOUT_TABLES
from schemas.solutions import SOLUTION_TABLES
from schemas.table import read_jsonl, read_parquet


def dag_outputs(project: Path) -> list[str]:
    """Every output and metric file of every stage of the project's DAG (``dvc.yaml`` with its params)."""
    from dvc.repo import Repo

    with Repo(str(project)) as repo:
        return sorted(out.def_path for stage in repo.index.stages for out in stage.outs)


def task_problems(p: Params, task: str, limit: int | None) -> int:
    """How many problems of ``task`` an evaluation with ``limit`` answers."""
    return len(read_jsonl(p.task_problems_file(task), Problem)[:limit])


def check_every_artifact(project: Path) -> Params:
    """Assert that a reproduced project holds every artifact of its DAG and that each passes its schema."""
    missing = [out for out in dag_outputs(project) if not (project / out).exists()]
    assert not missing, f"declared in dvc.yaml but not written: {missing}"
    with contextlib.chdir(project):
        p = load_params()
        _check_artifacts(p)
    return p


def _check_artifacts(p: Params) -> None:
    toy = p.problems.source == "toy"
    for split, n in p.problems.splits.model_dump().items():
        if n:
            assert len(read_jsonl(p.problems_file(split), Problem)) == n, split
    for task in p.evaluate.tasks:
        assert read_jsonl(p.task_problems_file(task), Problem), task
    assert read_parquet(p.set_file("ift"), IFTRecord)
    assert read_parquet(p.set_file("eft_train"), EFTRecord)
    assert read_parquet(p.set_file("eft_test"), EFTRecord)
    solution_eft = read_parquet(p.set_file("solution_eft_train"), SolutionEFTRecord)
    assert solution_eft or not toy  # real data: not built yet (README, the SRLM arm)
    for it in p.iterations:
        tables = {name: read_parquet(p.rollout_dir(it) / f"{name}.parquet", model)
                  for name, model in ROLLOUT_TABLES.items()}
        assert len(tables["paths"]) == p.iterations[it].num_problems
        assert tables["candidates"] and tables["rounds"]
        read_parquet(p.pairs_file(it), PreferencePair)  # may be empty for an untrained smoke model
        metrics = RolloutMetrics.model_validate_json(p.metrics_file("rollout", it).read_text())
        assert metrics.sampled_tokens > 0
        assert (p.model_dir(it) / "config.json").exists()
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
    answered = sum(task_problems(p, task, p.evaluate.limit) for task in p.evaluate.tasks)
    for m in [*p.evaluate.models, *p.srlm.iterations]:
        metrics = EvalMetrics.model_validate_json(p.metrics_file("eval", m).read_text())
        assert set(metrics.tasks) == set(p.evaluate.tasks)
        assert metrics.problems == answered
        assert len(read_jsonl(p.answers_file(m), AnswerEvalRow)) == metrics.problems
        assert read_parquet(p.judged_file(m), JudgeEvalRow)
    for m in p.evaluate.search_models:
        searched = SearchEvalMetrics.model_validate_json(p.metrics_file("eval", f"{m}-search").read_text())
        assert set(searched.tasks) == set(p.evaluate.tasks)
        for task, t in searched.tasks.items():  # one folder of search tables per task
            paths = read_parquet(p.test_search_dir(m, task) / "paths.parquet", SearchPath)
            limit = p.evaluate.search_limit or p.evaluate.limit
            assert t.problems == len(paths) == task_problems(p, task, limit)
            assert t.search_accuracy == sum(x.correct for x in paths) / len(paths)
    summary = json.loads(p.summary_file("json").read_text())
    assert set(summary) == {*p.evaluate.models, *p.srlm.iterations}
    assert all(summary[m].get("solution_level") for m in p.srlm.iterations)
    assert all("search_accuracy" in summary[m] for m in p.evaluate.search_models)
