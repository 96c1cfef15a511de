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

from psrlm.generation import Generator, Sampling
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
    on_finished: Callable[[ProblemSearch], None],
    total: int | None = None,
) -> EngineStats:
    """Search every problem; ``on_finished`` receives each problem's state as soon as it is done."""
    queue = deque(problems)
    active: list[ProblemSearch] = []
    bar = progress(desc="searching", total=total if total is not None else len(queue), unit="problem")
    stats = EngineStats()
    while queue or active:
        while queue and len(active) < max_in_flight:
            active.append(ProblemSearch(queue.popleft(), search, judge.orders))
        started = time.perf_counter()
        outs = generator.generate([s.prompt() for s in active], candidate_sampling(search))
        stats.sampling_seconds += time.perf_counter() - started
        stats.candidate_calls += len(active)
        schedules = [s.take_candidates(o) for s, o in zip(active, outs)]
        judge_prompts = []
        for s, schedule in zip(active, schedules):
            previous = s.finished_steps()
            for a, b in schedule:
                judge_prompts.append(judge_prompt(s.problem.question, previous, s.candidate_text(a),
                                                  s.candidate_text(b), prompt_style))
        started = time.perf_counter()
        verdicts = judge_batch(generator, judge_prompts, judge)
        stats.judging_seconds += time.perf_counter() - started
        stats.judge_calls += len(judge_prompts)
        k = 0
        for s, schedule in zip(active, schedules):
            s.take_verdicts(verdicts[k : k + len(schedule)])
            k += len(schedule)
        stats.rounds += 1
        for s in active:
            if s.done:
                on_finished(s)
                bar.update(1)
        active = [s for s in active if not s.done]
        bar.set_postfix(rounds=stats.rounds, in_flight=len(active), judge_calls=len(judge_prompts))
        log.debug("round %d: %d in flight, %d judge calls", stats.rounds, len(active), len(judge_prompts))
    bar.close()
    return stats
