"""The pairwise step judge: one call for a batch of comparisons, in either judge mode.

``explain`` (the paper's): the judge writes a short explanation and then ``[[A]]`` or ``[[B]]``; the
last verdict in the output wins and an output without one is a parse failure (verdict None).
``direct``: the judge prompt is followed by the verdict prefix ``[[`` and the verdict is read from the
next-token probabilities of ``A`` vs ``B`` in one forward pass; ``p_a`` keeps the probability.
"""

from __future__ import annotations

from dataclasses import dataclass

from psrlm.generation import Generator, Sampling
from psrlm.params import Judge
from psrlm.prompts import VERDICT_PREFIX, chat_prompt, parse_verdict, verdict_token_ids


@dataclass(frozen=True)
class Verdict:
    raw: str
    verdict: str | None  # "A", "B", or None for a parse failure
    p_a: float | None  # direct mode: P(A) / (P(A) + P(B))


def judge_batch(generator: Generator, user_prompts: list[str], cfg: Judge) -> list[Verdict]:
    """Judge every rendered judge prompt (user message text) with the model behind ``generator``."""
    if not user_prompts:
        return []
    prompts = [chat_prompt(generator.tokenizer, u) for u in user_prompts]
    if cfg.mode == "direct":
        token_a, token_b = verdict_token_ids(generator.tokenizer, prompts[0])
        probs = generator.choice_probs([p + VERDICT_PREFIX for p in prompts], token_a, token_b)
        out = []
        for p in probs:
            verdict = "A" if p >= 0.5 else "B"
            out.append(Verdict(raw=f"{VERDICT_PREFIX}{verdict}]]", verdict=verdict, p_a=p))
        return out
    sampling = Sampling(n=1, temperature=cfg.temperature, max_tokens=cfg.max_tokens)
    return [Verdict(raw=o[0].text, verdict=parse_verdict(o[0].text), p_a=None)
            for o in generator.generate(prompts, sampling)]
