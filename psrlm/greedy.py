"""Greedy accuracy on a list of problems outside lm-eval: ``dpo.gate`` (stages/dpo.py) and the
validation benchmarks (``benchmarks/validate.py``, ``benchmarks/dpo_link.py``). The prompt and the
grading rule are the evaluation's: the chat template over the reasoning prompt, the last ``\\boxed{}``
(else ``grading.fallback``), as the lm-eval task grades it.
"""

from __future__ import annotations

from psrlm.generation import Generator, Sampling
from psrlm.grader import is_correct
from psrlm.prompts import chat_prompt, reasoning_prompt
from schemas import Problem


def greedy_texts(generator: Generator, problems: list[Problem], style: str, max_tokens: int) -> list[str]:
    """One greedy solution per problem."""
    prompts = [chat_prompt(generator.tokenizer, reasoning_prompt(p.problem, style)) for p in problems]
    outputs = generator.generate(prompts, Sampling(n=1, temperature=0.0, max_tokens=max_tokens), desc="greedy")
    return [out[0].text for out in outputs]


def greedy_accuracy(generator: Generator, problems: list[Problem], style: str, max_tokens: int,
                    fallback: str) -> float:
    """The share of ``problems`` whose greedy solution is right."""
    texts = greedy_texts(generator, problems, style, max_tokens)
    return sum(is_correct(text, p.answer, fallback) for text, p in zip(texts, problems)) / len(problems)
