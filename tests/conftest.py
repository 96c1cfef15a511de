import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("PSRLM_NO_PROGRESS", "1")


@pytest.fixture(scope="session")
def tiny_lm():
    """A tiny untrained Qwen2 model and a tokenizer trained on a few toy solutions."""
    from psrlm.modeling import build_tiny_model, train_tokenizer
    from psrlm.params import TinyModel, ToyProblems
    from psrlm.toy import generate_splits

    problems = generate_splits(ToyProblems(), {"a": 200}, seed=0)["a"]
    texts = [p["problem"] + "\n" + "\n".join(f"Step {i + 1}: {s}" for i, s in enumerate(p["steps"])) for p in problems]
    tokenizer = train_tokenizer(texts, 400)
    model = build_tiny_model(TinyModel(hidden_size=64, num_layers=1, num_heads=2, num_kv_heads=2,
                                       intermediate_size=64, max_position_embeddings=256), tokenizer, seed=0)
    return model, tokenizer


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
    "dpo": {"max_steps": 2, "batch_size": 4, "min_pairs": 1, "gate": {"first_problem": 16, "num_problems": 8}},
    "evaluate": {"models": ["m0", "m1", "m2", "m3"], "max_gen_tokens": 24, "search_models": ["m3"], "search_limit": 6},
    # the SRLM arm, one iteration on M2's slice (its rollout, pairs, DPO and evaluation), with its EFT in M1's SFT
    "srlm": {"iterations": {"s2": {"parent": "m1", "first_problem": 0, "num_problems": 8}}, "width": 3,
             "max_tokens": 48, "judge_max_tokens": 16, "max_in_flight": 4, "eft": True},
}


def merge(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``, as ``make profile`` puts a profile on the default."""
    from psrlm.params import overlay

    return overlay(base, over)


def run(cmd: list[str], cwd: Path, **extra_env: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "PSRLM_NO_PROGRESS": "1",
           **extra_env}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    return proc.stdout + proc.stderr


def stages_run(cwd: Path, *args: str) -> set[str]:
    out = run(["dvc", "repro", *args], cwd)
    return {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}


def fresh_copy(dest: Path) -> Path:
    """A copy of the project as a fresh clone has it (tracked and new files, no outputs, no lock) with
    the smoke params."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file() and not f.startswith("data/") and f != "dvc.lock":
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), SMOKE)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q"], dest)
    return dest


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Path:
    """The smoke project, reproduced once. Its first ``dvc.lock`` is kept as ``first.dvc.lock`` beside
    it (tests that change params afterwards change the live one), and what each stage of that run read
    and wrote as ``trace.jsonl`` (``psrlm/trace.py``)."""
    dest = fresh_copy(tmp_path_factory.mktemp("project"))
    run(["dvc", "repro"], dest, PSRLM_TRACE=str(dest.parent / "trace.jsonl"))
    shutil.copy2(dest / "dvc.lock", dest.parent / "first.dvc.lock")
    return dest


