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
from psrlm.shards import ShardStore, fingerprint
from psrlm.stage import run_stage
from schemas import Problem, RolloutMetrics, SearchPath
from schemas.rollout import ROLLOUT_TABLES
from schemas.table import Row, read_jsonl, write_json, write_parquet

log = logging.getLogger("stages.rollout")


def search_path(state: ProblemSearch) -> SearchPath:
    steps = state.finished_steps()
    answer = extract_answer("\n".join(steps), fallback_to_number=False)
    return SearchPath(problem_id=state.problem.id, steps=steps, answer=answer, gold=state.problem.gold,
                      correct=is_equivalent(answer, state.problem.gold), n_rounds=state.round,
                      n_rollbacks=state.rollbacks, stop_reason=state.stop_reason)


def rows_of(finished: list[ProblemSearch]) -> dict[str, list]:
    return {
        "candidates": [c for s in finished for c in s.candidates],
        "judgments": [j for s in finished for j in s.judgments],
        "rounds": [r for s in finished for r in s.rounds],
        "paths": [search_path(s) for s in finished],
    }


def write_rollout(out: Path, tables: dict[str, list]) -> None:
    """All tables of one rollout, sorted by problem, written into a temp directory renamed into place."""
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for name, rows in tables.items():
        rows = sorted(rows, key=lambda r: r.problem_id if isinstance(r, Row) else r["problem_id"])
        write_parquet(tmp / f"{name}.parquet", ROLLOUT_TABLES[name], rows)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def main(params: Params, iteration: str) -> None:
    it = params.iteration(iteration)
    problems = read_jsonl(params.problems_file("search"), Problem)[it.first_problem : it.first_problem + it.num_problems]
    out, model_dir = params.rollout_dir(iteration), params.model_dir(it.parent)
    # everything the searched result depends on; not max_in_flight: with per-request seeds, how
    # problems are batched does not change what each one samples
    key = fingerprint(iteration, params.seed, params.prompts.model_dump(),
                      params.search.model_dump(exclude={"max_in_flight"}),
                      params.judge.model_dump(), params.generation.model_dump(), [p.id for p in problems],
                      files=[f for f in model_dir.iterdir() if f.is_file()])
    store = ShardStore(out, key, ROLLOUT_TABLES)
    done = store.load()
    finished_ids = {p.problem_id for p in done["paths"]}
    if finished_ids:
        log.info("%s: resuming, %d of %d problems already searched", iteration, len(finished_ids), len(problems))
    started = time.time()
    generator = open_generator(model_dir, params.generation, seed=params.seed)
    tokenizer, style = generator.tokenizer, params.prompts.style
    todo = [SearchProblem(id=p.id, question=p.problem, gold=p.answer,
                          prompt=chat_prompt(tokenizer, reasoning_prompt(p.problem, style)))
            for p in problems if p.id not in finished_ids]
    log.info("%s: M(%s) searches %d problems (w=%d, T=%.2f, judge %s)", iteration, it.parent, len(todo),
             params.search.width, params.search.temperature, params.judge.mode)
    engine = run_search(todo, generator, params.search, params.judge, params.search.max_in_flight, style,
                        params.seed, lambda finished: store.write(rows_of(finished)))
    generator.close()
    log.info("%s: %s", iteration, engine)
    write_rollout(out, store.load())
    store.clear()
    stats = query("rollout_metrics", **{name: out / f"{name}.parquet" for name in ("rounds", "judgments", "paths")})
    metrics = RolloutMetrics(**stats.row(0, named=True), seconds=round(time.time() - started, 1))
    write_json(params.metrics_file("rollout", iteration), metrics.model_dump())
    log.info("%s: %s", iteration, metrics)


if __name__ == "__main__":
    run_stage(main)
