"""Rollout of one iteration: M(parent) searches new problems step by step, judging its own steps.

    python -m stages.rollout m2

Writes every candidate, every judgment (raw text, parsed verdict or parse failure, order), every
round and the path kept per problem as Parquet, plus the iteration's search metrics (with the tokens
it sampled, as the SRLM arm reports its own). Killed part-way,
a rerun continues from the problems already searched.
"""

from __future__ import annotations

import logging

from psrlm.generation import count_tokens
from psrlm.modeling import load_tokenizer
from psrlm.params import Params, rollout_table
from psrlm.rollouts import rollout, rollout_stats
from psrlm.stage import run_stage
from schemas import Candidate, Judgment, Problem, RolloutMetrics
from schemas.table import read_jsonl, read_parquet, write_json

log = logging.getLogger("stages.rollout")


def sampled_tokens(params: Params, parent: str, out) -> dict[str, int]:
    """Tokens the iteration sampled: every candidate step (duplicates too) and every judge output
    (``direct`` judges decode none: one forward pass per call), re-tokenised as the SRLM arm counts its own."""
    tokenizer = load_tokenizer(params.model_dir(parent))
    steps = [c.text for c in read_parquet(rollout_table(out, "candidates"), Candidate)]
    judged = ([j.raw for j in read_parquet(rollout_table(out, "judgments"), Judgment)]
              if params.judge.mode == "explain" else [])
    return {"sampled_tokens": count_tokens(tokenizer, steps), "judge_tokens": count_tokens(tokenizer, judged)}


def main(params: Params, iteration: str) -> None:
    it = params.iteration(iteration)
    problems = read_jsonl(params.problems_file("search"), Problem)[it.first_problem : it.first_problem + it.num_problems]
    out = params.rollout_dir(iteration)
    rollout(params, iteration, params.model_dir(it.parent), problems, out)
    metrics = RolloutMetrics(**rollout_stats(out).row(0, named=True), **sampled_tokens(params, it.parent, out))
    write_json(params.metrics_file("rollout", iteration), metrics.model_dump())
    log.info("%s: %s", iteration, metrics)


if __name__ == "__main__":
    run_stage(main)
