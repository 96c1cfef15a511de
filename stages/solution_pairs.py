"""Preference pairs of one SRLM iteration: per problem, the highest-scored whole solution against the
lowest (ties and unparsed scores give none; ``psrlm.solution_judge.solution_pairs``).

    python -m stages.solution_pairs s2
"""

from __future__ import annotations

import logging

from psrlm.params import Params, rollout_table
from psrlm.solution_judge import solution_pairs
from psrlm.stage import run_stage
from schemas import PreferencePair, SolutionSample
from schemas.table import read_parquet, write_parquet

log = logging.getLogger("stages.solution_pairs")


def main(params: Params, iteration: str) -> None:
    source = params.srlm.iterations[iteration].parent
    samples = read_parquet(rollout_table(params.rollout_dir(iteration), "solutions"), SolutionSample)
    rows = solution_pairs(samples, source)
    n = write_parquet(params.pairs_file(iteration), PreferencePair, rows)
    problems = len({s.problem_id for s in samples})
    log.info("%s: %d solution pairs from M(%s), %d problems", iteration, n, source, problems)


if __name__ == "__main__":
    run_stage(main)
