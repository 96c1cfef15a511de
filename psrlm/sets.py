"""The cold-start sets, built from problems with reference steps (pure functions, no I/O).

IFT: the reference solution in the "Step n:" format. EFT: at a random step of a reference solution,
the correct next step against a corrupted one (the oracle knows which is right), in both orders, each
with the oracle's short explanation and verdict. Solution EFT (the SRLM arm): a reference solution
against a whole wrong one.

``build_ift`` and ``both_orders`` serve the real data too (``psrlm.real.ift`` fills the steps of real
problems, ``psrlm.real.eft`` makes their step pairs); the rest is the toy world's EFT.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from psrlm import toy
from psrlm.params import ToyProblems
from psrlm.steps import format_step, step_body
from schemas import EFTRecord, IFTRecord, Problem, SolutionEFTRecord


def step_texts(steps: list[str]) -> list[str]:
    return [format_step(i + 1, s) for i, s in enumerate(steps)]


def build_ift(problems: list[Problem], operations: list[str] | None = None, others: int = 0,
              from_step: int = 1, other_steps: list[int] | None = None) -> list[IFTRecord]:
    """One IFT record per problem: its reference steps as "Step n:" steps. ``operations`` (toy): keep only
    the problems whose every step's equation from step ``from_step`` on is one of them (``sets.ift_operations``,
    ``sets.ift_operations_from_step``), and the first ``others`` of the rest (``sets.ift_other_problems``), in
    the split's order; with ``other_steps`` (``sets.ift_other_steps``), the first of those whose other operations
    sit at these steps (1-based) alone."""
    if operations is not None:
        inside = [toy_operations(p.steps[from_step - 1:]) <= set(operations) for p in problems]

        def drawn(p: Problem) -> bool:
            return other_steps is None or all(toy_operations([s]) <= set(operations)
                                              for n, s in enumerate(p.steps, 1) if n not in other_steps)

        others_kept = set([i for i, ok in enumerate(inside) if not ok and drawn(problems[i])][:others])
        problems = [p for i, p in enumerate(problems) if inside[i] or i in others_kept]
    return [IFTRecord(id=f"ift-{p.id}", problem_id=p.id, problem=p.problem, steps=step_texts(p.steps)) for p in problems]


def toy_operations(steps: list[str]) -> set[str]:
    """The operations of a toy problem's reference steps; a step without an equation fails loudly."""
    kinds = set()
    for step in steps:
        parsed = toy.parse_equation(step)
        if parsed is None:
            raise ValueError(f"sets.ift_operations: a toy step without an equation: {step!r}")
        kinds.add(parsed[1])
    return kinds


def both_orders(problem_id: str, problem: str, previous: list[str], right: str, wrong: str, pair_id: str,
                corruption: str, explain: Callable[[bool], str]) -> list[EFTRecord]:
    """A (right, wrong) next-step pair as two EFT records, the right step first (verdict A) and second
    (verdict B). ``explain(a_is_right)`` gives the explanation of the record whose step A is (not) the
    right one.
    """
    records = []
    for verdict in ("A", "B"):
        a, b = (right, wrong) if verdict == "A" else (wrong, right)
        records.append(EFTRecord(
            id=f"{pair_id}-{verdict}", problem_id=problem_id, problem=problem, previous_steps=previous, step_a=a,
            step_b=b, verdict=verdict, explanation=explain(verdict == "A"), corruption=corruption, pair_id=pair_id,
        ))
    return records


def weighted_order(kinds: dict[str, float], rng: random.Random) -> list[str]:
    """The corruption kinds in a random order where a kind comes first with probability proportional
    to its weight (weighted sampling without replacement)."""
    return sorted(kinds, key=lambda k: -(rng.random() ** (1.0 / kinds[k])))


def eft_pair(p: Problem, kinds: dict[str, float], rng: random.Random, cfg: ToyProblems,
             explanation: str = "verify") -> list[EFTRecord]:
    """Both orders of one (correct, corrupted) next-step comparison for ``p``, or [] if none applies;
    for ``both_wrong_event`` (verify only) the comparison of two wrong steps, the better one in the right
    one's place (:func:`psrlm.toy.both_wrong_event`).

    ``explanation``: ``verify`` (a check of each candidate, the verdict follows from it; a corruption
    the check cannot see is not used) or ``equation`` (the older one-sentence verdict on A's equation).
    """
    position = rng.randrange(len(p.steps))
    right = p.steps[position]
    for kind in weighted_order(kinds, rng):
        if kind == "both_wrong_event":  # a pair of two wrong steps: the better one stands where the right one would
            if explanation != "verify" or (pair := toy.both_wrong_event(p.steps, position, rng, cfg)) is None:
                continue
            better, wrong = pair
            if toy.verify_explanation(right, better, wrong)[1:] != (False, False):
                continue
        else:
            better, wrong = right, toy.corrupt_step(p.steps, position, kind, rng, cfg)
        if wrong is None or wrong == right:
            continue
        if kind != "both_wrong_event" and explanation == "verify" and \
                toy.verify_explanation(right, right, wrong)[1:] != (True, False):
            continue  # the explanation would not support the verdict
        right_text, wrong_text = format_step(position + 1, better), format_step(position + 1, wrong)

        def explain(a_is_right: bool) -> str:
            a, b = (right_text, wrong_text) if a_is_right else (wrong_text, right_text)
            if explanation == "verify":
                return toy.verify_explanation(right, step_body(a), step_body(b))[0]
            return toy.judge_explanation(step_body(a), a_is_right)

        return both_orders(p.id, p.problem, step_texts(p.steps[:position]), right_text, wrong_text, f"eft-{p.id}",
                           kind, explain)
    return []


def build_eft(problems: list[Problem], kinds: list[str] | dict[str, float], seed: int, cfg: ToyProblems,
              explanation: str = "verify") -> list[EFTRecord]:
    rng = random.Random(seed)
    weights = kinds if isinstance(kinds, dict) else {k: 1.0 for k in kinds}
    return [r for p in problems for r in eft_pair(p, weights, rng, cfg, explanation)]


def solution_eft_record(p: Problem, kinds: dict[str, float], rng: random.Random, cfg: ToyProblems
                        ) -> SolutionEFTRecord | None:
    """The SRLM arm's cold-start example for ``p``: its reference solution against a whole wrong one (a
    step corrupted as the step EFT's are, at a random position, the later steps carried on from it, so
    the boxed answer is wrong), or None if no corruption applies. ``skipped_step`` is not used: carried
    on, it repeats the event it skipped to; nor is ``garbled``: the solution judge checks the final claim only;
    nor ``both_wrong_event``, a pair of two wrong steps."""
    position = rng.randrange(len(p.steps))
    for kind in weighted_order({k: w for k, w in kinds.items()
                                if k not in ("skipped_step", "garbled", "both_wrong_event")}, rng):
        wrong = toy.corrupt_step(p.steps, position, kind, rng, cfg)
        bodies = toy.carry_on(p.steps, position, wrong) if wrong is not None else None
        if bodies is None or toy.claim_of(bodies[-1]) == toy.claim_of(p.steps[-1]):
            continue
        return SolutionEFTRecord(id=f"seft-{p.id}", problem_id=p.id, problem=p.problem, right=step_texts(p.steps),
                                 wrong=step_texts(bodies), wrong_step=position + 1, corruption=kind)
    return None


def build_solution_eft(problems: list[Problem], kinds: list[str] | dict[str, float], seed: int,
                       cfg: ToyProblems) -> list[SolutionEFTRecord]:
    """One (right, wrong) whole-solution record per problem: the step EFT's problems and corruption weights,
    so both judges learn from the same sources and as many examples (each record renders as two)."""
    rng = random.Random(f"solution-{seed}")
    weights = kinds if isinstance(kinds, dict) else {k: 1.0 for k in kinds}
    return [r for p in problems if (r := solution_eft_record(p, weights, rng, cfg)) is not None]
