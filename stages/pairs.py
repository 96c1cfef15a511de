"""Preference pairs of one iteration: best vs worst step of every decided round (ties give none).

    python -m stages.pairs m2
"""

from __future__ import annotations

import logging

from psrlm.analytics import query
from psrlm.params import Params, rollout_table
from psrlm.stage import run_stage
from schemas import PreferencePair
from schemas.table import write_parquet

log = logging.getLogger("stages.pairs")


def main(params: Params, iteration: str) -> None:
    rollout = params.rollout_dir(iteration)
    source = params.iteration(iteration).parent
    frame = query("pairs", rounds=rollout_table(rollout, "rounds"), candidates=rollout_table(rollout, "candidates"))
    rows = [PreferencePair(**r, model=source) for r in frame.iter_rows(named=True)]
    n = write_parquet(params.pairs_file(iteration), PreferencePair, rows)
    finals = sum(r.chosen_final for r in rows)
    log.info("%s: %d step pairs from M(%s) (%d with a final chosen step)", iteration, n, source, finals)


if __name__ == "__main__":
    run_stage(main)
