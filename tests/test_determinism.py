"""Determinism on the CPU: two runs of the smoke pipeline from fresh copies record the same hash for
every artifact in ``dvc.lock`` (problems, sets, every model, rollouts, pairs, evaluations, report).

Only the wall-time files (``metrics/timing``, declared ``cache: false``) may differ.
"""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import fresh_copy, run


def artifact_hashes(lock: dict) -> dict[str, str]:
    out = {}
    for stage, body in lock["stages"].items():
        for entry in body.get("outs", []):
            if "/timing/" not in entry["path"]:
                out[f"{stage}: {entry['path']}"] = entry["md5"]
    return out


@pytest.mark.pipeline
def test_two_fresh_runs_give_identical_artifact_hashes(project, tmp_path):
    first = artifact_hashes(yaml.safe_load((project.parent / "first.dvc.lock").read_text()))
    second_dir = fresh_copy(tmp_path)
    run(["dvc", "repro"], second_dir)
    second = artifact_hashes(yaml.safe_load((second_dir / "dvc.lock").read_text()))
    assert first.keys() == second.keys()
    assert len(first) > 20
    differ = sorted(k for k in first if first[k] != second[k])
    assert not differ, f"artifacts differ between two runs with the same params: {differ}"
