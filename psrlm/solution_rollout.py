"""The SRLM arm's rollout: M(parent) samples ``srlm.width`` whole solutions per problem and judges them
itself (``srlm.judge``: rubric or pairwise, ``psrlm.solution_judge``); the tables (every solution with its
score, every pairwise judgment) are written as Parquet.

Resume as the step rollout's (``psrlm.shards``): problems are judged ``srlm.max_in_flight`` at a time and
each finished batch is persisted as a shard; a killed stage reruns only the problems no shard holds. What
a problem samples depends on its own seed only (``request_seed``), never on the batch it was in.
"""

from __future__ import annotations

import logging
from pathlib import Path

from psrlm.generation import LengthGuard, Request, Sampling, count_tokens, open_generator, request_seed
from psrlm.grader import extract_answer, is_equivalent
from psrlm.judge import answer_all
from psrlm.params import Params, rollout_table
from psrlm.progress import progress
from psrlm.prompts import (chat_prompt, parse_score, parse_verdict, reasoning_prompt, solution_judge_prompt,
                           solution_rubric_prompt)
from psrlm.shards import ShardStore, fingerprint
from psrlm.solution_judge import pairwise_scores, solution_pairs
from schemas import Problem, SolutionJudgment, SolutionRolloutMetrics, SolutionSample
from schemas.solutions import SOLUTION_TABLES
from schemas.table import atomic_dir, write_parquet

log = logging.getLogger(__name__)


def judge_requests(problem: Problem, samples: list[dict], params: Params, tokenizer) -> list[Request]:
    """The judge calls of one problem's samples: one per solution (rubric) or one per ordered pair
    (pairwise; one order per pair with ``judge.orders: one``), keyed ``(problem id, solution(s))``."""
    cfg, style = params.srlm, params.prompts.style
    sampling = Sampling(n=1, temperature=params.judge.temperature, max_tokens=cfg.judge_max_tokens)
    if cfg.judge == "rubric":
        return [Request(key=(problem.id, i),
                        prompt=chat_prompt(tokenizer, solution_rubric_prompt(problem.problem, s["text"], style)),
                        sampling=sampling, seed=request_seed(params.seed, problem.id, "rubric", i))
                for i, s in enumerate(samples)]
    calls = [(a, b) for a in range(len(samples)) for b in range(len(samples))
             if a != b and (params.judge.orders == "both" or a < b)]
    return [Request(key=(problem.id, a, b), prompt=chat_prompt(tokenizer, solution_judge_prompt(
        problem.problem, samples[a]["text"], samples[b]["text"], style)), sampling=sampling,
        seed=request_seed(params.seed, problem.id, "pairwise", a, b)) for a, b in calls]


def scored(problem: Problem, samples: list[dict], requests: list[Request], answers: dict, judge: str
           ) -> tuple[list[dict], list[SolutionJudgment]]:
    """One problem's samples completed with the judge's raw output and score (None: a parse failure, or
    ``too_long``: a prompt that did not fit and was not sent), and its pairwise judgments."""
    if judge == "rubric":
        for (_, i), s in zip((r.key for r in requests), samples):
            raw = answers[(problem.id, i)][0].text if (problem.id, i) in answers else ""
            s |= {"raw": raw, "score": parse_score(raw), "too_long": (problem.id, i) not in answers}
        return samples, []
    judgments = []
    for r in requests:
        _, a, b = r.key
        raw = answers[r.key][0].text if r.key in answers else ""
        verdict = parse_verdict(raw)
        judgments.append(SolutionJudgment(problem_id=problem.id, first=a, second=b, raw=raw, verdict=verdict,
                                          winner={"A": a, "B": b}.get(verdict)))
    wins = pairwise_scores(len(samples), judgments)
    too_long = {k for r in requests if r.key not in answers for k in r.key[1:]}
    for i, s in enumerate(samples):
        s |= {"raw": "", "score": wins[i], "too_long": i in too_long}
    return samples, judgments


def judge_solutions(generator, batch: list[tuple[Problem, list[dict]]], params: Params
                    ) -> list[tuple[list[dict], list[SolutionJudgment]]]:
    """Score the samples (dicts of SolutionSample fields, without raw/score) of every problem of ``batch``
    with the model behind ``generator``, every judge call of the batch in one request stream; per problem,
    the samples completed and the pairwise judgments (none for the rubric)."""
    guard = LengthGuard(generator.tokenizer, params.generation.vllm.max_model_len)
    requests = [judge_requests(p, samples, params, generator.tokenizer) for p, samples in batch]
    fitting = [r for rs in requests for r in rs if not guard.too_long(r)]
    answers = dict(zip((r.key for r in fitting), answer_all(generator, fitting)))
    return [scored(p, samples, rs, answers, params.srlm.judge) for (p, samples), rs in zip(batch, requests)]


def sample_and_judge(generator, problems: list[Problem], params: Params) -> dict[str, list]:
    """Sample and judge the solutions of ``problems`` (one shard's worth)."""
    cfg, tok = params.srlm, generator.tokenizer
    prompts = [chat_prompt(tok, reasoning_prompt(p.problem, params.prompts.style)) for p in problems]
    sampling = Sampling(n=cfg.width, temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens)
    outs = generator.generate(prompts, sampling, desc="sampling solutions",
                              seeds=[request_seed(params.seed, p.id, "solutions") for p in problems])
    batch = []
    for p, prompt, completions in zip(problems, prompts, outs):
        samples = []
        for i, c in enumerate(completions):
            answer = extract_answer(c.text, params.grading.fallback)
            samples.append(dict(problem_id=p.id, sample=i, prompt=prompt, text=c.text, finish_reason=c.finish_reason,
                                tokens=c.num_tokens, answer=answer, gold=p.answer,
                                correct=is_equivalent(answer, p.answer)))
        batch.append((p, samples))
    rows: dict[str, list] = {"solutions": [], "solution_judgments": []}
    for samples, judgments in judge_solutions(generator, batch, params):
        rows["solutions"] += [SolutionSample(**s) for s in samples]
        rows["solution_judgments"] += judgments
    return rows


def solution_rollout(params: Params, name: str, model_dir: Path, problems: list[Problem], out: Path) -> None:
    """Sample and judge ``problems`` with the model in ``model_dir`` into ``out``, resuming from the shards
    a killed earlier attempt left."""
    cfg = params.srlm
    key = fingerprint(name, params.seed, params.prompts.model_dump(),
                      cfg.model_dump(exclude={"iterations", "eft", "max_in_flight"}),
                      params.judge.temperature, params.judge.orders, params.generation.model_dump(),
                      params.grading.model_dump(), [p.id for p in problems],
                      files=[f for f in model_dir.iterdir() if f.is_file()])
    store = ShardStore(out, key, SOLUTION_TABLES)
    done = {s.problem_id for s in store.load()["solutions"]}
    todo = [p for p in problems if p.id not in done]
    if done:
        log.info("%s: resuming, %d of %d problems already judged", name, len(done), len(problems))
    if todo:
        generator = open_generator(model_dir, params.generation, seed=params.seed)
        log.info("%s: %s samples %d whole solutions for each of %d problems, judge %s", name, model_dir.name,
                 cfg.width, len(todo), cfg.judge)
        bar = progress(desc="solutions", total=len(todo), unit="problem")
        for start in range(0, len(todo), cfg.max_in_flight):
            batch = todo[start : start + cfg.max_in_flight]
            store.write(sample_and_judge(generator, batch, params))
            bar.update(len(batch))
        bar.close()
        generator.close()
    tables = store.load()
    with atomic_dir(out) as tmp:
        for table, rows in tables.items():
            order = (lambda r: (r.problem_id, r.sample)) if table == "solutions" else (
                lambda r: (r.problem_id, r.first, r.second))
            rows = sorted(rows, key=order)
            write_parquet(rollout_table(tmp, table), SOLUTION_TABLES[table], rows)
    store.clear()


def solution_stats(solutions: list[SolutionSample], judgments: list[SolutionJudgment], tokenizer, judge: str,
                   model: str) -> SolutionRolloutMetrics:
    """The iteration's metrics: pairs (as ``solution_pairs`` makes them), ties, parse failures, the oracle's
    view of the samples and of the pairs, tokens sampled."""
    pairs = solution_pairs(solutions, model)
    problems = {s.problem_id for s in solutions}
    correct = {(s.problem_id, s.text): s.correct for s in solutions}
    right_pairs = sum(correct[(p.problem_id, p.chosen)] and not correct[(p.problem_id, p.rejected)] for p in pairs)
    if judge == "rubric":
        calls = [s for s in solutions if not s.too_long]
        failures = sum(s.score is None for s in calls)
        raws = [s.raw for s in calls]
    else:
        calls = [j for j in judgments if j.raw]
        failures = sum(j.verdict is None for j in calls)
        raws = [j.raw for j in calls]
    scores = [s.score for s in solutions if s.score is not None]
    scored_problems = {s.problem_id for s in solutions if s.score is not None}
    ties = len(scored_problems) - len(pairs)
    return SolutionRolloutMetrics(
        judge=judge, problems=len(problems), solutions=len(solutions), pairs=len(pairs),
        tie_rate=ties / len(scored_problems) if scored_problems else 0.0,
        judgments=len(calls), parse_failures=failures, parse_failure_rate=failures / len(calls) if calls else 0.0,
        too_long=sum(s.too_long for s in solutions),
        path_accuracy=sum(s.correct for s in solutions) / max(len(solutions), 1),
        mean_score=sum(scores) / len(scores) if scores and judge == "rubric" else None,
        sampled_tokens=count_tokens(tokenizer, [s.text for s in solutions]), judge_tokens=count_tokens(tokenizer, raws),
        correct_pairs=right_pairs, pair_correct_rate=right_pairs / len(pairs) if pairs else None)
