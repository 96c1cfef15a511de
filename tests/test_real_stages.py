"""The real-math data path through the stages themselves: problems (GSM8K + MATH train, GSM8K test,
benchmark files), sets (IFT from real solutions, EFT from GSM8K perturbations and PRMBench) and the
evaluation of a model on two benchmark tasks through lm-eval, on a smoke-sized configuration.

Reads the offline copies in ``../shared/data`` (``problems.real.data_root``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from psrlm.modeling import save_model
from schemas import AnswerEvalRow, EFTRecord, EvalMetrics, IFTRecord, Problem
from schemas.table import read_jsonl, read_parquet
from tests.conftest import ROOT, merge

DATA_ROOT = (ROOT.parent / "shared" / "data").resolve()

REAL = {
    "problems": {"source": "real", "splits": {"pretrain": 0, "sft": 40, "search": 10, "test": 20, "eft": 30},
                 "real": {"data_root": str(DATA_ROOT), "train": ["gsm8k", "math"], "test": "gsm8k",
                          "eft": ["gsm8k", "prmbench"], "duplicates": "drop"}},  # MATH train repeats one problem
    "sets": {"ift_problems": 20, "eft_train_problems": 20, "eft_test_problems": 10,
             "ift_operations": None, "ift_other_problems": 0,
             "ift_other_steps": None},  # real IFT keeps every problem, as the real profiles
    "iterations": {"m2": {"parent": "m1", "first_problem": 0, "num_problems": 5}},
    "srlm": {"iterations": {}, "eft": False},  # the step arm alone, as the real profiles ship
    "pairs": {"keep": "all"},  # the paper's rule, as the real profiles ship (proven reads the toy judge)
    "dpo": {"gate": None},  # keep every model (the paper's), as the real profiles ship
    "evaluate": {"models": ["m0"], "backend": "hf", "max_gen_tokens": 8, "limit": 3, "tasks": ["gsm8k", "math500"],
                 "m0_judge_shots": 3,
                 "search_models": []},
}


def stage(cwd: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PSRLM_NO_PROGRESS": "1"}
    proc = subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stderr


@pytest.mark.skipif(not DATA_ROOT.is_dir(), reason=f"the offline data copies are not at {DATA_ROOT}")
def test_real_problems_sets_and_benchmark_evaluation(tmp_path, tiny_lm):
    model, tokenizer = tiny_lm
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), REAL)
    params["model"]["base"] = str(save_model(model, tokenizer, tmp_path / "data" / "models" / "m0"))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    stage(tmp_path, "stages.problems")
    problems = tmp_path / "data" / "problems"
    sft = read_jsonl(problems / "sft.jsonl", Problem)
    assert len(sft) == 40 and {p.source for p in sft} <= {"gsm8k", "math"}
    assert all(p.steps for p in sft)  # reference solutions cut into steps
    test = read_jsonl(problems / "test.jsonl", Problem)
    assert len(test) == 20 and all(p.id.startswith("gsm8k/") for p in test)
    assert not {p.id for p in sft} & {p.id for p in read_jsonl(problems / "search.jsonl", Problem)}
    assert len(read_jsonl(problems / "bench-math500.jsonl", Problem)) == 500
    assert len(read_jsonl(problems / "bench-gsm8k.jsonl", Problem)) == 1319

    stage(tmp_path, "stages.sets")
    sets = tmp_path / "data" / "sets"
    ift = read_parquet(sets / "ift.parquet", IFTRecord)
    assert len(ift) == 20 and all(r.steps[0].startswith("Step 1: ") and "\\boxed{" in r.steps[-1] for r in ift)
    eft_train = read_parquet(sets / "eft_train.parquet", EFTRecord)
    eft_test = read_parquet(sets / "eft_test.parquet", EFTRecord)
    assert {r.verdict for r in eft_train} == {"A", "B"}  # both orders
    assert any(r.problem_id.startswith("gsm8k/") for r in eft_train) and len(eft_train) > 100  # + PRMBench
    assert {r.source for r in eft_test} == {r.source for r in eft_train} == {"gsm8k", "prmbench"}
    assert not {r.problem_id for r in eft_train} & {r.problem_id for r in eft_test}  # split by problem
    eft = read_jsonl(problems / "eft.jsonl", Problem)  # GSM8K problems for EFT alone
    assert len(eft) == 30 and not {p.id for p in eft} & {p.id for p in sft}

    stage(tmp_path, "stages.evaluate", "m0")
    metrics = EvalMetrics.model_validate_json((tmp_path / "data" / "metrics" / "eval" / "m0.json").read_text())
    assert set(metrics.tasks) == {"gsm8k", "math500"} and metrics.problems == 6
    answers = read_jsonl(tmp_path / "data" / "eval" / "m0" / "answers.jsonl", AnswerEvalRow)
    assert {a.task for a in answers} == {"gsm8k", "math500"}
    assert metrics.judge_examples == min(len(eft_test), 2 * 3)  # evaluate.limit also bounds the judge examples
    assert metrics.judge_shots == 3  # M0 judged 3-shot (paper Table 3), its examples from EFT train
    assert set(metrics.judge_accuracy_by_source) == {r.source for r in eft_test[:6]}


def test_base_model_from_a_directory_is_copied_not_loaded(tmp_path, tiny_lm):
    """``model.base`` as a local directory (a hub id goes through the same copy, from the hub cache):
    M0 is the stored files byte for byte, and the parameter count comes from the weight headers."""
    import json

    from psrlm.modeling import parameter_count

    model, tokenizer = tiny_lm
    source = save_model(model, tokenizer, tmp_path / "elsewhere" / "base")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["model"]["base"] = str(source)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    stage(tmp_path, "stages.base_model")
    m0 = tmp_path / "data" / "models" / "m0"
    assert sorted(f.name for f in m0.iterdir()) == sorted(f.name for f in source.iterdir())
    assert all((m0 / f.name).read_bytes() == f.read_bytes() for f in source.iterdir())
    metrics = json.loads((tmp_path / "data" / "metrics" / "train" / "m0.json").read_text())
    assert metrics["parameters"] == parameter_count(model) and metrics["source"] == str(source)
