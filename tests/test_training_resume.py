"""Training resume: SFT killed part-way (SIGKILL) resumes from its last checkpoint on the rerun, and
ends with the same weights as an uninterrupted run.

Uses M0 and the sets of the smoke project of ``test_pipeline``; M1 goes to a folder of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

STEPS, SAVE_EVERY = 120, 20


def sft(cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PSRLM_NO_PROGRESS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen([sys.executable, "-m", "stages.sft"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.mark.pipeline
def test_killed_sft_resumes_from_its_checkpoint(project, tmp_path):
    params = yaml.safe_load((project / "params.yaml").read_text())
    models = tmp_path / "models"
    (models / "m0").mkdir(parents=True)
    for f in (project / "data" / "models" / "m0").iterdir():
        (models / "m0" / f.name).write_bytes(f.read_bytes())
    params["paths"] |= {"models": str(models), "sets": str(project / "data" / "sets"), "metrics": str(tmp_path / "metrics")}
    params["sft"] |= {"max_steps": STEPS, "save_steps": SAVE_EVERY, "logging_steps": 10}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    log, _ = sft(tmp_path).communicate(timeout=600)  # the uninterrupted run
    assert "resuming" not in log
    reference = load_file(models / "m1" / "model.safetensors")

    proc = sft(tmp_path)
    deadline, saved = time.time() + 300, []
    while time.time() < deadline and proc.poll() is None and not saved:
        saved = [p for p in models.glob(".m1.checkpoints-*/checkpoint-*") if (p / "trainer_state.json").exists()]
        time.sleep(0.05)
    assert saved, "no checkpoint was written before the run ended"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = max(int(p.name.rsplit("-", 1)[1]) for p in models.glob(".m1.checkpoints-*/checkpoint-*"))
    assert killed_at < STEPS

    log, _ = sft(tmp_path).communicate(timeout=600)
    assert "resuming training from" in log, log[-3000:]
    metrics = json.loads((tmp_path / "metrics" / "train" / "m1.json").read_text())
    assert metrics["steps"] == STEPS and metrics["resumed_from_step"] >= killed_at > 0
    assert not list(models.glob(".m1.checkpoints-*"))  # cleaned up once M1 is saved
    resumed = load_file(models / "m1" / "model.safetensors")
    assert reference.keys() == resumed.keys()
    for name, tensor in reference.items():
        assert torch.allclose(tensor, resumed[name], atol=1e-6), f"{name} differs from the uninterrupted run"
