"""The whole DAG on a smoke-sized configuration, in a temporary copy of the project.

Runs ``dvc repro`` end to end (real vLLM rollouts, real TRL training, real lm-eval), validates every
artifact against its schema, then checks what DVC would rerun: nothing on a second run, and after a
change of ``search.temperature`` the rollouts and what follows them, never M0, the sets or M1.
"""

from __future__ import annotations

import pytest
import yaml

from tests.artifacts import check_every_artifact
from tests.conftest import run, stages_run


@pytest.mark.pipeline
def test_every_artifact_matches_its_schema(project):
    check_every_artifact(project)  # tests/artifacts.py: the check every profile's run ends with too


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
