"""The whole DAG on a smoke-sized configuration, in a temporary copy of the project.

Runs ``dvc repro`` end to end (real vLLM rollouts, real TRL training, real lm-eval), validates every
artifact against its schema, then checks what DVC would rerun: nothing on a second run, and after a
change of ``search.temperature`` the rollouts and what follows them, never M0, the sets or M1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from psrlm.params import load_params
from schemas import AnswerEvalRow, EFTRecord, EvalMetrics, IFTRecord, JudgeEvalRow, PreferencePair, Problem, RolloutMetrics
from schemas.rollout import ROLLOUT_TABLES
from schemas.table import read_jsonl, read_parquet

ROOT = Path(__file__).resolve().parents[1]

SMOKE = {
    "problems": {"splits": {"pretrain": 300, "sft": 120, "search": 24, "test": 12}},
    "model": {"tiny": {"vocab_size": 400, "hidden_size": 64, "num_layers": 1, "num_heads": 2, "num_kv_heads": 2,
                       "intermediate_size": 64, "max_position_embeddings": 512}},
    "pretrain": {"max_steps": 4, "batch_size": 8},
    "sets": {"ift_problems": 60, "eft_train_problems": 60, "eft_test_problems": 6},
    "sft": {"max_steps": 4, "batch_size": 8},
    "generation": {"vllm": {"max_model_len": 512, "cpu_kvcache_gib": 1}},
    "search": {"width": 3, "max_steps": 3, "max_step_tokens": 16, "max_in_flight": 8},
    "judge": {"max_tokens": 16},
    "iterations": {"m2": {"parent": "m1", "first_problem": 0, "num_problems": 8},
                   "m3": {"parent": "m2", "first_problem": 8, "num_problems": 8}},
    "dpo": {"max_steps": 2, "batch_size": 4},
    "evaluate": {"models": ["m0", "m1", "m2", "m3"], "max_gen_tokens": 24},
}


def merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) and k != "iterations" else v
    return out


def run(cmd: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "PSRLM_NO_PROGRESS": "1"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    return proc.stdout + proc.stderr


def stages_run(cwd: Path, *args: str) -> set[str]:
    out = run(["dvc", "repro", *args], cwd)
    return {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project (tracked and new files, no outputs) with the smoke params, reproduced."""
    dest = tmp_path_factory.mktemp("project")
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file() and not f.startswith("data/"):
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), SMOKE)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q"], dest)
    run(["dvc", "repro"], dest)
    return dest


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
    for m in p.evaluate.models:
        metrics = EvalMetrics.model_validate_json(p.metrics_file("eval", m).read_text())
        assert metrics.problems == p.problems.splits.test
        assert len(read_jsonl(p.eval_dir(m) / "answers.jsonl", AnswerEvalRow)) == metrics.problems
        assert read_parquet(p.eval_dir(m) / "judge.parquet", JudgeEvalRow)
    summary = json.loads(p.summary_file("json").read_text())
    assert set(summary) == set(p.evaluate.models)


@pytest.mark.pipeline
def test_second_repro_reruns_nothing(project):
    assert stages_run(project) == set()
    assert "up to date" in run(["dvc", "status"], project)


@pytest.mark.pipeline
def test_temperature_change_reruns_rollouts_and_what_follows_only(project):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["search"]["temperature"] = 0.9
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert stages_run(project, "--dry") == {"rollout@m2", "rollout@m3"}  # the stages whose own inputs changed
    pairs_before = {it: (project / f"data/pairs/{it}.parquet").read_bytes() for it in ("m2", "m3")}
    rerun = stages_run(project)  # and, for real, what follows them
    assert {"rollout@m2", "pairs@m2", "rollout@m3", "pairs@m3", "summary"} <= rerun
    for it in ("m2", "m3"):  # DPO reruns when its pairs changed (an untrained smoke model may find none)
        changed = (project / f"data/pairs/{it}.parquet").read_bytes() != pairs_before[it]
        assert not changed or f"dpo@{it}" in rerun
    assert not rerun & {"problems", "base_model", "sets", "sft", "evaluate@m0", "evaluate@m1"}
