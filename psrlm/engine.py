"""The batched search engine: every problem in flight advances on its own, all in one stream.

A problem asks for its w candidates; as soon as they are in, it asks for its judge calls (one phase
of its schedule at a time), then for the next step's candidates, while every other problem does the
same: the backend's scheduler decodes all of it together (continuous batching across problems and
phases: no round waits for the slowest problem's candidates). Prompts put the shared part first
(problem + steps so far), so the backend's prefix cache serves it once. Problems that finish leave
and waiting ones join, with at most ``max_in_flight`` problems in flight. What each problem samples
depends only on its own seeds, never on what it was batched with. A problem whose next request would
not fit the model's context (``max_model_len``: the prompt and all it may generate) is not sent: its
path ends ``too_long``.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from collections.abc import Callable, Iterable

from psrlm.generation import Generator, LengthGuard, Request, Sampling, request_seed
from psrlm.params import Judge, Search
from psrlm.progress import progress
from psrlm.judge import Verdict, judge_requests, verdict_of
from psrlm.prompts import judge_prompt
from psrlm.search import ProblemSearch, SearchProblem
from psrlm.steps import step_stops

log = logging.getLogger(__name__)


def candidate_sampling(cfg: Search) -> Sampling:
    return Sampling(n=cfg.width, temperature=cfg.temperature, top_p=cfg.top_p,
                    max_tokens=cfg.max_step_tokens, stop=step_stops(cfg.step_end))


@dataclass
class EngineStats:
    rounds: int = 0  # search rounds decided (one per step tried, over all problems)
    candidate_calls: int = 0
    judge_calls: int = 0
    too_long: int = 0  # paths ended because their next prompt would not fit the context
    collects: int = 0  # times the engine woke up to finished requests
    seconds: float = 0.0


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
    flush_seconds: float = 5.0,
    max_model_len: int | None = None,
) -> EngineStats:
    """Search every problem; ``on_finished`` receives finished problems in groups, at most
    ``flush_seconds`` after they finish (so a caller can persist them: per-problem resume).
    ``max_model_len``: the context a request must fit (``generation.vllm.max_model_len``); None: no check."""
    queue = deque(problems)
    active: dict[str, ProblemSearch] = {}
    verdicts: dict[str, list[Verdict | None]] = {}  # the judge phase each problem waits on
    finished: list[ProblemSearch] = []
    bar = progress(desc="searching", total=total if total is not None else len(queue), unit="problem")
    stats = EngineStats()
    sampling = candidate_sampling(search)
    guard = LengthGuard(generator.tokenizer, max_model_len)
    started = last_flush = time.perf_counter()

    def too_long(s: ProblemSearch, requests: list[Request]) -> bool:
        """End the path when a request of it would not fit the context (never sent: vLLM would raise)."""
        if not any(guard.too_long(r) for r in requests):
            return False
        s.end("too_long")
        stats.too_long += 1
        finished.append(active.pop(s.problem.id))
        return True

    def sample(s: ProblemSearch) -> None:
        request = Request(key=(s.problem.id, -1), prompt=s.prompt(), sampling=sampling,
                          seed=request_seed(seed, s.problem.id, s.round))
        if too_long(s, [request]):
            return
        stats.candidate_calls += 1
        generator.submit([request])

    def ask(s: ProblemSearch, calls: list[tuple[int, int]]) -> None:
        """Judge ``calls`` (one phase of the schedule) or, with none left, close the round."""
        while calls and judge.oracle:  # no model call: the oracle decides at once
            stats.judge_calls += len(calls)
            calls = s.take_verdicts(s.oracle_verdicts(calls))
        if calls:
            previous = s.finished_steps()
            texts = [judge_prompt(s.problem.question, previous, s.candidate_text(a), s.candidate_text(b),
                                  prompt_style) for a, b in calls]
            requests = judge_requests(generator.tokenizer, texts, judge,
                                      keys=[(s.problem.id, k) for k in range(len(calls))])
            if too_long(s, requests):
                return
            verdicts[s.problem.id] = [None] * len(calls)
            stats.judge_calls += len(calls)
            generator.submit(requests)
            return
        stats.rounds += 1
        if s.done:
            finished.append(active.pop(s.problem.id))
        else:
            sample(s)

    def admit() -> None:
        while queue and len(active) < max_in_flight:
            s = ProblemSearch(queue.popleft(), search, judge.orders, judge.schedule, judge.average_orders)
            active[s.problem.id] = s
            sample(s)

    admit()
    while active:
        done = generator.collect()
        if not done:
            raise RuntimeError(f"{len(active)} problems in flight but no request pending")
        stats.collects += 1
        for request, result in done:
            problem_id, k = request.key
            s = active[problem_id]
            if k == -1:  # its candidates
                ask(s, s.take_candidates(result))
                continue
            phase = verdicts[problem_id]
            phase[k] = verdict_of(result)
            if all(v is not None for v in phase):
                del verdicts[problem_id]
                ask(s, s.take_verdicts(phase))
        if finished and (not active or time.perf_counter() - last_flush >= flush_seconds):
            on_finished(finished)
            bar.update(len(finished))
            finished, last_flush = [], time.perf_counter()
        admit()
        bar.set_postfix(rounds=stats.rounds, in_flight=len(active), judge_calls=stats.judge_calls, refresh=False)
    if finished:
        on_finished(finished)
        bar.update(len(finished))
    bar.close()
    stats.seconds = time.perf_counter() - started
    return stats
