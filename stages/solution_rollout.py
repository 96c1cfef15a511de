"""Rollout of one SRLM iteration (``srlm.iterations``): M(parent) samples whole solutions and judges them.

    python -m stages.solution_rollout s2

Writes every sampled solution (its text, answer, the oracle's grade, the judge's raw output and score or
a parse failure) and, with ``srlm.judge: pairwise``, every judgment as Parquet, plus the iteration's
metrics (pairs, ties, parse failures, pair correctness against the oracle, tokens sampled). Killed
part-way, a rerun continues from the problems already judged.
"""

from __future__ import annotations

import logging

from psrlm.modeling import load_tokenizer
from psrlm.params import Params, rollout_table
from psrlm.solution_rollout import solution_rollout, solution_stats
from psrlm.stage import run_stage
from schemas import Problem, SolutionJudgment, SolutionSample
from schemas.table import read_jsonl, read_parquet, write_json

log = logging.getLogger("stages.solution_rollout")


def main(params: Params, iteration: str) -> None:
    it = params.srlm.iterations[iteration]
    search = read_jsonl(params.problems_file("search"), Problem)
    problems = search[it.first_problem : it.first_problem + it.num_problems]
    out = params.rollout_dir(iteration)
    solution_rollout(params, iteration, params.model_dir(it.parent), problems, out)
    metrics = solution_stats(read_parquet(rollout_table(out, "solutions"), SolutionSample),
                             read_parquet(rollout_table(out, "solution_judgments"), SolutionJudgment),
                             load_tokenizer(params.model_dir(it.parent)), params.srlm.judge, it.parent)
    write_json(params.metrics_file("rollout", iteration), metrics.model_dump())
    log.info("%s: %s", iteration, metrics)


if __name__ == "__main__":
    run_stage(main)
