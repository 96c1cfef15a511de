"""The batched search engine: every problem in flight advances together.

Each round makes two generation calls for the whole batch: one samples the w candidates of every
problem's current step, one carries every judge prompt of that round. Prompts put the shared part
first (problem + steps so far), so the backend's prefix cache serves it once. Problems that finish
leave the batch and waiting ones join (continuous batching at the level of the search), with at
most ``max_in_flight`` problems in flight.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from collections.abc import Callable, Iterable

from psrlm.generation import Generator, Sampling, request_seed
from psrlm.params import Judge, Search
from psrlm.progress import progress
from psrlm.judge import judge_batch
from psrlm.prompts import judge_prompt
from psrlm.search import ProblemSearch, SearchProblem
from psrlm.steps import NEXT_STEP_STOP

log = logging.getLogger(__name__)


def candidate_sampling(cfg: Search) -> Sampling:
    return Sampling(n=cfg.width, temperature=cfg.temperature, top_p=cfg.top_p,
                    max_tokens=cfg.max_step_tokens, stop=(NEXT_STEP_STOP,))


@dataclass
class EngineStats:
    rounds: int = 0
    candidate_calls: int = 0
    judge_calls: int = 0
    sampling_seconds: float = 0.0
    judging_seconds: float = 0.0


def run_search(
    problems: Iterable[SearchProblem],
    generator: Generator,
    search: Search,
    judge: Judge,
    max_in_flight: int,
    prompt_style: str,
    seed: int,
    on_finished: Callable[[list[ProblemSearch]], None],
    total: int | None = None,
) -> EngineStats:
    """Search every problem; after each round ``on_finished`` receives the problems that round finished
    (so a caller can persist them: per-problem resume)."""
    queue = deque(problems)
    active: list[ProblemSearch] = []
    bar = progress(desc="searching", total=total if total is not None else len(queue), unit="problem")
    stats = EngineStats()
    while queue or active:
        while queue and len(active) < max_in_flight:
            active.append(ProblemSearch(queue.popleft(), search, judge.orders, judge.schedule))
        started = time.perf_counter()
        seeds = [request_seed(seed, s.problem.id, s.round) for s in active]
        outs = generator.generate([s.prompt() for s in active], candidate_sampling(search), seeds=seeds)
        stats.sampling_seconds += time.perf_counter() - started
        stats.candidate_calls += len(active)
        pending = [(s, s.take_candidates(o)) for s, o in zip(active, outs)]
        pending = [(s, calls) for s, calls in pending if calls]
        while pending:  # one judge batch per phase (round robin: one phase; knockout: ~log2 w)
            judge_prompts = []
            for s, calls in pending:
                previous = s.finished_steps()
                for a, b in calls:
                    judge_prompts.append(judge_prompt(s.problem.question, previous, s.candidate_text(a),
                                                      s.candidate_text(b), prompt_style))
            started = time.perf_counter()
            verdicts = judge_batch(generator, judge_prompts, judge)
            stats.judging_seconds += time.perf_counter() - started
            stats.judge_calls += len(judge_prompts)
            k, still = 0, []
            for s, calls in pending:
                more = s.take_verdicts(verdicts[k : k + len(calls)])
                k += len(calls)
                if more:
                    still.append((s, more))
            pending = still
        stats.rounds += 1
        finished = [s for s in active if s.done]
        if finished:
            on_finished(finished)
            bar.update(len(finished))
        active = [s for s in active if not s.done]
        bar.set_postfix(rounds=stats.rounds, in_flight=len(active), judge_calls=stats.judge_calls)
    bar.close()
    return stats
