"""The cold-start sets, built from problems with reference steps (pure functions, no I/O).

IFT: the reference solution in the "Step n:" format. EFT: at a random step of a reference solution,
the correct next step against a corrupted one (the oracle knows which is right), in both orders, each
with the oracle's short explanation and verdict.
"""

from __future__ import annotations

import random

from psrlm import toy
from psrlm.params import ToyProblems
from psrlm.steps import format_step, step_body
from schemas import EFTRecord, IFTRecord, Problem


def step_texts(steps: list[str]) -> list[str]:
    return [format_step(i + 1, s) for i, s in enumerate(steps)]


def build_ift(problems: list[Problem]) -> list[IFTRecord]:
    return [IFTRecord(id=f"ift-{p.id}", problem_id=p.id, problem=p.problem, steps=step_texts(p.steps)) for p in problems]


def eft_pair(p: Problem, kinds: list[str], rng: random.Random, cfg: ToyProblems) -> list[EFTRecord]:
    """Both orders of one (correct, corrupted) next-step comparison for ``p``, or [] if none applies."""
    position = rng.randrange(len(p.steps))
    kinds = list(kinds)
    rng.shuffle(kinds)
    for kind in kinds:
        wrong = toy.corrupt_step(p.steps, position, kind, rng, cfg)
        if wrong is None or wrong == p.steps[position]:
            continue
        previous = step_texts(p.steps[:position])
        right_text, wrong_text = format_step(position + 1, p.steps[position]), format_step(position + 1, wrong)
        pair_id = f"eft-{p.id}"
        records = []
        for verdict in ("A", "B"):
            a, b = (right_text, wrong_text) if verdict == "A" else (wrong_text, right_text)
            records.append(EFTRecord(
                id=f"{pair_id}-{verdict}", problem_id=p.id, problem=p.problem, previous_steps=previous,
                step_a=a, step_b=b, verdict=verdict, explanation=toy.judge_explanation(step_body(a), verdict == "A"),
                corruption=kind, pair_id=pair_id,
            ))
        return records
    return []


def build_eft(problems: list[Problem], kinds: list[str], seed: int, cfg: ToyProblems) -> list[EFTRecord]:
    rng = random.Random(seed)
    return [r for p in problems for r in eft_pair(p, kinds, rng, cfg)]
