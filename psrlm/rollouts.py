"""One searched batch of problems, start to finish: the model searches step by step, judging its own
steps, finished problems are persisted as they go (per-problem resume), and the rollout tables
(every candidate, judgment, round and kept path) are written as Parquet.

Used by the rollout of each iteration (whose rounds become preference pairs) and by test-time search
on held-out problems (paper Table 5), so both run the same engine with the same params. Paths are
graded by the rule greedy evaluation uses (``grading.fallback``); a path whose next prompt would not
fit the model's context (``generation.vllm.max_model_len``) ends ``too_long``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import polars as pl

from psrlm.analytics import query
from psrlm.engine import run_search
from psrlm.generation import open_generator
from psrlm.grader import extract_answer, is_equivalent
from psrlm.params import Params, rollout_table
from psrlm.prompts import chat_prompt, reasoning_prompt
from psrlm.search import ProblemSearch, SearchProblem
from psrlm.shards import ShardStore, fingerprint
from schemas import Problem, SearchPath
from schemas.rollout import ROLLOUT_TABLES
from schemas.table import Row, atomic_dir, write_parquet

log = logging.getLogger(__name__)


def search_path(state: ProblemSearch, fallback: str) -> SearchPath:
    steps = state.finished_steps()
    answer = extract_answer("\n".join(steps), fallback)
    return SearchPath(problem_id=state.problem.id, steps=steps, answer=answer, gold=state.problem.gold,
                      correct=is_equivalent(answer, state.problem.gold), n_rounds=state.round,
                      n_rollbacks=state.rollbacks, stop_reason=state.stop_reason)


def rows_of(finished: list[ProblemSearch], fallback: str) -> dict[str, list]:
    return {
        "candidates": [c for s in finished for c in s.candidates],
        "judgments": [j for s in finished for j in s.judgments],
        "rounds": [r for s in finished for r in s.rounds],
        "paths": [search_path(s, fallback) for s in finished],
    }


def _problem_id(row) -> str:
    return row.problem_id if isinstance(row, Row) else row["problem_id"]


def write_rollout(out: Path, tables: dict[str, list], groups: dict[str, str] | None = None) -> None:
    """All tables of one rollout, sorted by problem, written into a temp directory renamed into place.
    ``groups`` (problem id -> folder name): each group's rows go to its own folder of tables inside ``out``
    (test-time search: one per benchmark)."""
    folders = sorted(set(groups.values())) if groups else [""]
    with atomic_dir(out) as tmp:
        for folder in folders:
            for name, rows in tables.items():
                rows = sorted((r for r in rows if not groups or groups[_problem_id(r)] == folder), key=_problem_id)
                write_parquet(rollout_table(tmp / folder, name), ROLLOUT_TABLES[name], rows)


def rollout(params: Params, name: str, model_dir: Path, problems: list[Problem], out: Path,
            groups: dict[str, str] | None = None) -> float:
    """Search ``problems`` with the model in ``model_dir`` into the rollout directory ``out`` (with
    ``groups``, one folder of tables per group: see ``write_rollout``), resuming from the problems a
    killed earlier attempt finished. Returns the wall time in seconds."""
    # everything the searched result depends on; not max_in_flight: with per-request seeds, how
    # problems are batched does not change what each one samples
    key = fingerprint(name, params.seed, params.prompts.model_dump(),
                      params.search.model_dump(exclude={"max_in_flight"}),
                      params.judge.model_dump(), params.generation.model_dump(), params.grading.model_dump(),
                      [p.id for p in problems],
                      files=[f for f in model_dir.iterdir() if f.is_file()])
    store = ShardStore(out, key, ROLLOUT_TABLES)
    finished_ids = {p.problem_id for p in store.load()["paths"]}
    if finished_ids:
        log.info("%s: resuming, %d of %d problems already searched", name, len(finished_ids), len(problems))
    started = time.time()
    generator = open_generator(model_dir, params.generation, seed=params.seed)
    tokenizer, style = generator.tokenizer, params.prompts.style
    toy = params.problems.source == "toy"
    todo = [SearchProblem(id=p.id, question=p.problem, gold=p.answer,
                          prompt=chat_prompt(tokenizer, reasoning_prompt(p.problem, style)),
                          reference=p.steps if toy and p.steps else None)
            for p in problems if p.id not in finished_ids]
    log.info("%s: %s searches %d problems (w=%d, T=%.2f, judge %s, %s)", name, model_dir.name, len(todo),
             params.search.width, params.search.temperature, params.judge.mode, params.judge.schedule)
    fallback = params.grading.fallback
    engine = run_search(todo, generator, params.search, params.judge, params.search.max_in_flight, style,
                        params.seed, lambda finished: store.write(rows_of(finished, fallback)),
                        max_model_len=params.generation.vllm.max_model_len)
    generator.close()
    log.info("%s: %s", name, engine)
    if engine.too_long:
        log.warning("%s: %d paths ended too_long: their next prompt would not fit generation.vllm.max_model_len "
                    "(%d tokens)", name, engine.too_long, params.generation.vllm.max_model_len)
    write_rollout(out, store.load(), groups)
    store.clear()
    return time.time() - started


def rollout_stats(out: Path) -> pl.DataFrame:
    """One row of search statistics (``queries/rollout_metrics.sql``) over a rollout directory."""
    return query("rollout_metrics", **{name: rollout_table(out, name) for name in ROLLOUT_TABLES})
