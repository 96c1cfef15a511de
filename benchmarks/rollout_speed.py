"""Rollout speed: the batched engine on vLLM against a naive loop, in one process, same model, same
problems, same seed. Also the cost of a direct vs an explained judgment, and the comparisons per
searched step of the knockout vs the round-robin schedule.

    python -m benchmarks.rollout_speed --model data/models/m1 --problems 48

Prints searched steps per second for (a) the engine (all problems in flight in one request stream,
prefix caching) and (b) the naive loop (one problem at a time, one HF ``generate`` per
candidate and per judge call), their ratio, peak memory, and ends with one line:
``speedup_vs_naive=<x> direct_vs_explain=<y> knockout_vs_round_robin=<z>``.
"""

from __future__ import annotations

import argparse
import random
import resource
import time

from psrlm.engine import run_search
from psrlm.generation import BatchedStream, Request, open_generator
from psrlm.generation.hf_backend import HFGenerator
from psrlm.judge import answer_all, chat_judge_requests
from psrlm.params import Judge, load_params
from psrlm.prompts import VERDICT_PREFIX, chat_prompt, reasoning_prompt
from psrlm.schedules import SCHEDULES
from psrlm.search import SearchProblem
from schemas import Problem
from schemas.table import read_jsonl


class OneCallAtATime(BatchedStream):
    """The naive baseline: every sample and every judge call is its own HF ``generate``."""

    def __init__(self, hf: HFGenerator):
        self.hf, self.tokenizer = hf, hf.tokenizer

    def generate(self, prompts, sampling, desc=None, seeds=None):
        single = type(sampling)(n=1, temperature=sampling.temperature, top_p=sampling.top_p,
                                max_tokens=sampling.max_tokens, stop=sampling.stop)
        out = []
        for i, prompt in enumerate(prompts):
            group = []
            for j in range(sampling.n):
                if seeds is not None:
                    self.hf._seed(seeds[i] + j)
                group.extend(self.hf._generate([prompt], single, None)[0])
            out.append(group)
        return out

    def choice_probs(self, prompts, token_a, token_b):
        return [p for prompt in prompts for p in self.hf.choice_probs([prompt], token_a, token_b)]


class JudgePrompts:
    """Passes a search's requests through to ``inner`` and keeps the judge prompts (chat-rendered,
    without the direct judge's verdict prefix) in the order they were asked."""

    def __init__(self, inner):
        self.inner, self.tokenizer, self.judge_prompts = inner, inner.tokenizer, []

    def submit(self, requests: list[Request]) -> None:
        for r in requests:
            if r.key[1] >= 0:  # (problem, k): a judge call; (problem, -1): the step's candidates
                self.judge_prompts.append(r.prompt.removesuffix(VERDICT_PREFIX) if r.choice else r.prompt)
        self.inner.submit(requests)

    def collect(self) -> list:
        return self.inner.collect()


def judge_seconds(engine, prompts: list[str], cfg: Judge) -> tuple[float, int]:
    """Seconds to judge ``prompts`` in one stream, from a cold prefix cache (the search left them
    cached), and the tokens decoded."""
    engine.llm.llm_engine.reset_prefix_cache()
    requests = chat_judge_requests(engine.tokenizer, prompts, cfg, keys=list(range(len(prompts))))
    started = time.perf_counter()
    results = answer_all(engine, requests)
    seconds = time.perf_counter() - started
    return seconds, sum(r[0].num_tokens if isinstance(r, list) else 0 for r in results)


def search(generator, problems, params, in_flight):
    style = params.prompts.style
    todo = [SearchProblem(p.id, p.problem, p.answer, chat_prompt(generator.tokenizer, reasoning_prompt(p.problem, style)))
            for p in problems]
    finished = []
    started = time.perf_counter()
    stats = run_search(todo, generator, params.search, params.judge, in_flight, style, params.seed, finished.extend)
    seconds = time.perf_counter() - started
    return sum(len(s.rounds) for s in finished), seconds, stats


def comparisons_per_step(width: int, schedule: str, orders: str, trials: int = 2000) -> float:
    rng = random.Random(0)
    total = 0
    for _ in range(trials):
        strength = {i: rng.random() for i in range(width)}
        s = SCHEDULES[schedule](list(range(width)), orders)
        calls = s.next_calls()
        while calls:
            total += len(calls)
            s.record([(a, b, "A" if strength[a] >= strength[b] else "B") for a, b in calls])
            calls = s.next_calls()
    return total / trials


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="data/models/m1")
    ap.add_argument("--problems", type=int, default=48,
                    help="searched by both paths; the engine holds up to the profile's search.max_in_flight at once")
    ap.add_argument("--width", type=int, default=6, help="search width w (paper: 6)")
    ap.add_argument("--judge-mode", choices=["explain", "direct"], default="explain", help="in the search (paper: explain)")
    ap.add_argument("--schedule", choices=["round_robin", "knockout"], default="round_robin",
                    help="in the search (paper: round_robin)")
    ap.add_argument("--orders", choices=["both", "one"], default="both", help="in the search (paper: both)")
    ap.add_argument("--judge-max-tokens", type=int, default=None,
                    help="the explain judge's token budget (default: the profile's judge.max_tokens; paper: 512)")
    ap.add_argument("--judge-prompts", type=int, default=1024,
                    help="judge prompts of the engine's search timed in each judge mode (the first ones)")
    ap.add_argument("--warmup", type=int, default=4,
                    help="problems (after the measured ones) searched untimed first by each path")
    ap.add_argument("--no-naive", action="store_true",
                    help="skip the naive loop (for models where it would take hours); no speedup is printed")
    args = ap.parse_args()

    # the profile's model, prompts and limits; the paper's search and judge unless told otherwise
    params = load_params()
    params = params.model_copy(update={
        "search": params.search.model_copy(update={"width": args.width}),
        "judge": params.judge.model_copy(update={"mode": args.judge_mode, "schedule": args.schedule,
                                                 "orders": args.orders,
                                                 "max_tokens": args.judge_max_tokens or params.judge.max_tokens}),
    })
    pool = read_jsonl(params.problems_file("search"), Problem)
    problems, warmup = pool[: args.problems], pool[args.problems : args.problems + args.warmup]

    start = time.perf_counter()
    engine = open_generator(args.model, params.generation, seed=params.seed, backend="vllm")
    engine_start = time.perf_counter() - start
    in_flight = min(len(problems), params.search.max_in_flight)
    search(engine, warmup, params, in_flight)  # first-call costs (allocations, kernels)
    recorder = JudgePrompts(engine)
    steps_e, secs_e, stats_e = search(recorder, problems, params, in_flight)
    print(f"engine (vLLM, {in_flight} in flight): {steps_e} searched steps in {secs_e:.1f} s = "
          f"{steps_e / secs_e:.2f} steps/s; {stats_e.judge_calls} judge calls, {stats_e.collects} wake-ups "
          f"(engine start {engine_start:.0f} s)")

    # judge cost per comparison: the judge prompts the engine's search just asked, in both modes
    prompts = recorder.judge_prompts[: args.judge_prompts]
    if not prompts:
        raise SystemExit("the search asked no judge calls (every step's candidates were identical): nothing to time")
    timings = {}
    for mode in ("explain", "direct", "explain", "direct"):  # the first of each: untimed warm-up
        timings[mode] = judge_seconds(engine, prompts, Judge(mode=mode, max_tokens=params.judge.max_tokens))
    for mode, (seconds, decoded) in timings.items():
        print(f"judge {mode}: {1000 * seconds / len(prompts):.2f} ms per comparison "
              f"({decoded / len(prompts):.1f} tokens decoded; {len(prompts)} judge prompts of the search)")
    engine.close()

    if not args.no_naive:
        naive = OneCallAtATime(HFGenerator(args.model, batch_size=1, seed=params.seed))
        search(naive, warmup[:1], params, in_flight=1)
        steps_n, secs_n, stats_n = search(naive, problems, params, in_flight=1)
        print(f"naive loop (HF generate per call): {steps_n} searched steps in {secs_n:.1f} s = "
              f"{steps_n / secs_n:.2f} steps/s; {stats_n.judge_calls} judge calls")

    rr = comparisons_per_step(args.width, "round_robin", params.judge.orders)
    ko = comparisons_per_step(args.width, "knockout", params.judge.orders)
    print(f"judge calls per searched step at w={args.width} ({params.judge.orders} orders): "
          f"round_robin {rr:.1f}, knockout {ko:.1f}")
    print(f"peak memory (RSS of this process, vLLM engine in-process): {peak_rss_mib():.0f} MiB")
    speedup = "skipped" if args.no_naive else f"{(steps_e / secs_e) / (steps_n / secs_n):.1f}"
    print(f"speedup_vs_naive={speedup} direct_vs_explain={timings['explain'][0] / timings['direct'][0]:.1f} "
          f"knockout_vs_round_robin={ko / rr:.2f}")


if __name__ == "__main__":
    main()
