"""Rollout of one iteration: M(parent) searches new problems step by step, judging its own steps.

    python -m stages.rollout m2

Writes every candidate, every judgment (raw text, parsed verdict or parse failure, order), every
round and the path kept per problem as Parquet, plus the iteration's search metrics. Killed part-way,
a rerun continues from the problems already searched.
"""

from __future__ import annotations

import logging

from psrlm.params import Params
from psrlm.rollouts import rollout, rollout_stats
from psrlm.stage import run_stage
from schemas import Problem, RolloutMetrics
from schemas.table import read_jsonl, write_json

log = logging.getLogger("stages.rollout")


def main(params: Params, iteration: str) -> None:
    it = params.iteration(iteration)
    problems = read_jsonl(params.problems_file("search"), Problem)[it.first_problem : it.first_problem + it.num_problems]
    out = params.rollout_dir(iteration)
    rollout(params, iteration, params.model_dir(it.parent), problems, out)
    metrics = RolloutMetrics(**rollout_stats(out).row(0, named=True))
    write_json(params.metrics_file("rollout", iteration), metrics.model_dump())
    log.info("%s: %s", iteration, metrics)


if __name__ == "__main__":
    run_stage(main)
