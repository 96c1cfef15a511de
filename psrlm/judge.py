"""The pairwise step judge: one call for a batch of comparisons, in either judge mode.

``explain`` (the paper's): the judge writes a short explanation and then ``[[A]]`` or ``[[B]]``; the
last verdict in the output wins and an output without one is a parse failure (verdict None).
``direct``: the judge prompt is followed by the verdict prefix ``[[`` and the verdict is read from the
next-token probabilities of ``A`` vs ``B`` in one forward pass; ``p_a`` keeps the probability.
"""

from __future__ import annotations

from dataclasses import dataclass

from psrlm.generation import Generator, LengthGuard, Request, Result, Sampling
from psrlm.params import Judge
from psrlm.prompts import VERDICT_PREFIX, chat_prompt, parse_verdict, verdict_token_ids


@dataclass(frozen=True)
class Verdict:
    raw: str
    verdict: str | None  # "A", "B", or None for a parse failure
    p_a: float | None  # direct mode: P(A) / (P(A) + P(B))


def judge_requests(tokenizer, user_prompts: list[str], cfg: Judge, keys: list,
                   examples: list[tuple[str, str]] = ()) -> list[Request]:
    """The generation requests of judge prompts (user message text), one per comparison; ``examples``
    (judge prompt, answer) are shown first as earlier chat turns (few-shot)."""
    return chat_judge_requests(tokenizer, [chat_prompt(tokenizer, u, examples) for u in user_prompts], cfg, keys)


def chat_judge_requests(tokenizer, prompts: list[str], cfg: Judge, keys: list) -> list[Request]:
    """The generation requests of judge prompts already rendered with the chat template."""
    if cfg.mode == "direct":
        if not prompts:
            return []
        choice = verdict_token_ids(tokenizer, prompts[0])
        return [Request(key=k, prompt=p + VERDICT_PREFIX, choice=choice) for k, p in zip(keys, prompts)]
    sampling = Sampling(n=1, temperature=cfg.temperature, max_tokens=cfg.max_tokens)
    return [Request(key=k, prompt=p, sampling=sampling) for k, p in zip(keys, prompts)]


def verdict_of(result: Result) -> Verdict:
    """The verdict of one judge request's result: P(A) (direct) or the decoded output (explain)."""
    if isinstance(result, float):
        verdict = "A" if result >= 0.5 else "B"
        return Verdict(raw=f"{VERDICT_PREFIX}{verdict}]]", verdict=verdict, p_a=result)
    return Verdict(raw=result[0].text, verdict=parse_verdict(result[0].text), p_a=None)


def judge_batch(generator: Generator, user_prompts: list[str], cfg: Judge, examples: list[tuple[str, str]] = (),
                max_model_len: int | None = None) -> list[Verdict | None]:
    """Judge every judge prompt (user message text) with the model behind ``generator``, after the
    few-shot ``examples`` if any. A prompt that would not fit ``max_model_len`` is not sent: None."""
    requests = judge_requests(generator.tokenizer, user_prompts, cfg, keys=list(range(len(user_prompts))),
                              examples=examples)
    guard = LengthGuard(generator.tokenizer, max_model_len)
    fitting = [r for r in requests if not guard.too_long(r)]
    answers = dict(zip((r.key for r in fitting), answer_all(generator, fitting)))
    return [verdict_of(answers[r.key]) if r.key in answers else None for r in requests]


def answer_all(generator: Generator, requests: list[Request]) -> list[Result]:
    """Submit ``requests`` (distinct keys) and wait for every answer; the results in request order."""
    generator.submit(requests)
    results: dict = {}
    while len(results) < len(requests):
        finished = generator.collect()
        if not finished:
            raise RuntimeError("the generator finished without answering every request")
        results.update((r.key, result) for r, result in finished)
    return [results[r.key] for r in requests]
