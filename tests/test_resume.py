"""Per-problem resume of the rollout: SIGKILL part-way, rerun, nothing redone, nothing lost, same result.

Uses the smoke project of ``test_pipeline`` (its ``dvc repro`` output is the uninterrupted run). The
killed and resumed runs search two problems at a time instead of eight: with per-request seeds the
result must not depend on how problems are batched either.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import yaml

from schemas.rollout import ROLLOUT_TABLES


def rollout_cmd(cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "PSRLM_NO_PROGRESS": "1"}
    return subprocess.Popen([sys.executable, "-m", "stages.rollout", "m2"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@contextlib.contextmanager
def two_in_flight(project: Path):
    """The rollout searches two problems at a time (so it writes shards before it ends), then back to 8."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["search"]["max_in_flight"] = 2
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        yield
    finally:
        params["search"]["max_in_flight"] = 8
        (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def kill_after_first_shard(project: Path) -> int:
    """Start the m2 rollout, SIGKILL it once it has saved a shard; returns the shards saved."""
    proc = rollout_cmd(project)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not list(project.glob("data/rollouts/.m2.partial-*/shard-*")):
        time.sleep(0.1)
    assert list(project.glob("data/rollouts/.m2.partial-*/shard-*")), "no shard was written before the stage ended"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return len(list(project.glob("data/rollouts/.m2.partial-*/shard-*")))


@pytest.mark.pipeline
def test_killed_rollout_resumes_without_redoing_or_losing_problems(project):
    out = project / "data" / "rollouts" / "m2"
    reference = {name: pl.read_parquet(out / f"{name}.parquet") for name in ROLLOUT_TABLES}
    with two_in_flight(project):
        saved = kill_after_first_shard(project)

        proc = rollout_cmd(project)
        log, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, log[-4000:]
        m = re.search(r"resuming, (\d+) of (\d+) problems already searched", log)
        assert m and int(m.group(1)) > 0, log[-4000:]
        done_before, total = int(m.group(1)), int(m.group(2))
        assert f"searches {total - done_before} problems" in log  # none redone
        assert saved >= 1 and not list(project.glob("data/rollouts/.m2.partial-*"))  # cleaned up
        for name, frame in reference.items():
            resumed = pl.read_parquet(out / f"{name}.parquet")
            assert resumed.height == frame.height, name  # none lost
            assert resumed.equals(frame), f"{name} differs from the uninterrupted run"


@pytest.mark.pipeline
def test_work_folders_left_by_a_kill_do_not_make_the_dag_stale(project):
    """SIGKILL a rollout once it has written a resume shard, then ``dvc repro``: whatever the kill left
    beside the outputs (``.m2.partial-*``) is outside what DVC hashes (``.dvcignore``), so ``dvc status``
    reports everything up to date, the ``report`` stage (which depends on all of ``data/rollouts``)
    included."""
    from tests.conftest import run

    with two_in_flight(project):
        kill_after_first_shard(project)
    assert list(project.glob("data/rollouts/.m2.partial-*")), "the kill left no work folder to test with"
    run(["dvc", "repro"], project)
    status = run(["dvc", "status"], project)
    assert "Data and pipelines are up to date" in status, status
