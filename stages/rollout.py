"""Rollout of one iteration: M(parent) searches new problems step by step, judging its own steps.

    python -m stages.rollout m2

Writes every candidate, every judgment (raw text, parsed verdict or parse failure, order), every
round and the path kept per problem as Parquet, plus the iteration's search metrics.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from psrlm.analytics import query
from psrlm.engine import run_search
from psrlm.generation import open_generator
from psrlm.grader import extract_answer, is_equivalent
from psrlm.params import Params
from psrlm.prompts import chat_prompt, reasoning_prompt
from psrlm.search import ProblemSearch, SearchProblem
from psrlm.stage import run_stage
from schemas import Problem, RolloutMetrics, SearchPath
from schemas.rollout import ROLLOUT_TABLES
from schemas.table import read_jsonl, write_json, write_parquet

log = logging.getLogger("stages.rollout")


def search_path(state: ProblemSearch) -> SearchPath:
    steps = state.finished_steps()
    answer = extract_answer("\n".join(steps), fallback_to_number=False)
    return SearchPath(problem_id=state.problem.id, steps=steps, answer=answer, gold=state.problem.gold,
                      correct=is_equivalent(answer, state.problem.gold), n_rounds=state.round,
                      n_rollbacks=state.rollbacks, stop_reason=state.stop_reason)


def write_rollout(out: Path, finished: list[ProblemSearch]) -> None:
    """All tables of one rollout, written into a temp directory that is then renamed into place."""
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tables = {
        "candidates": [c for s in finished for c in s.candidates],
        "judgments": [j for s in finished for j in s.judgments],
        "rounds": [r for s in finished for r in s.rounds],
        "paths": [search_path(s) for s in finished],
    }
    for name, rows in tables.items():
        write_parquet(tmp / f"{name}.parquet", ROLLOUT_TABLES[name], rows)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def main(params: Params, iteration: str) -> None:
    it = params.iteration(iteration)
    problems = read_jsonl(params.problems_file("search"), Problem)[it.first_problem : it.first_problem + it.num_problems]
    started = time.time()
    generator = open_generator(params.model_dir(it.parent), params.generation, seed=params.seed)
    tokenizer, style = generator.tokenizer, params.prompts.style
    todo = [SearchProblem(id=p.id, question=p.problem, gold=p.answer,
                          prompt=chat_prompt(tokenizer, reasoning_prompt(p.problem, style))) for p in problems]
    finished: list[ProblemSearch] = []
    log.info("%s: M(%s) searches %d problems (w=%d, T=%.2f)", iteration, it.parent, len(todo),
             params.search.width, params.search.temperature)
    engine = run_search(todo, generator, params.search, params.judge, params.search.max_in_flight, style,
                        finished.append)
    log.info("%s: %s", iteration, engine)
    generator.close()
    finished.sort(key=lambda s: s.problem.id)
    out = params.rollout_dir(iteration)
    write_rollout(out, finished)
    stats = query("rollout_metrics", **{name: out / f"{name}.parquet" for name in ("rounds", "judgments", "paths")})
    metrics = RolloutMetrics(**stats.row(0, named=True), seconds=round(time.time() - started, 1))
    write_json(params.metrics_file("rollout", iteration), metrics.model_dump())
    log.info("%s: %s", iteration, metrics)


if __name__ == "__main__":
    run_stage(main)
