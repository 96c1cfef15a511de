"""The toy world: solutions are right by construction, corruptions are wrong, splits are disjoint."""

import random

from psrlm.grader import is_correct
from psrlm.params import ToyProblems
from psrlm.sets import build_eft, build_ift
from psrlm.toy import apply, corrupt_step, generate_splits, parse_equation
from schemas import Problem

CFG = ToyProblems()


def test_reference_steps_compute_the_answer():
    splits = generate_splits(CFG, {"a": 50, "b": 50}, seed=3)
    for p in splits["a"]:
        for body in p["steps"]:
            a, op, x, b = parse_equation(body)
            assert apply(op, a, x) == b
        assert is_correct(p["steps"][-1], p["answer"])
        assert is_correct(p["solution"], p["answer"])  # free-form: last number
        assert "Step" not in p["solution"]
    assert not {p["problem"] for p in splits["a"]} & {p["problem"] for p in splits["b"]}


def test_generation_is_seeded():
    assert generate_splits(CFG, {"a": 5}, seed=7) == generate_splits(CFG, {"a": 5}, seed=7)


def test_every_corruption_is_wrong():
    rng = random.Random(0)
    problems = generate_splits(CFG, {"a": 100}, seed=5)["a"]
    seen = set()
    for p in problems:
        for pos in range(len(p["steps"])):
            for kind in ("wrong_arithmetic", "wrong_operand", "skipped_step", "repeated_step"):
                wrong = corrupt_step(p["steps"], pos, kind, rng, CFG)
                if wrong is None:
                    continue
                seen.add(kind)
                assert wrong != p["steps"][pos]
    assert seen == {"wrong_arithmetic", "wrong_operand", "skipped_step", "repeated_step"}


def test_eft_has_both_orders_with_consistent_labels():
    problems = [Problem(**p) for p in generate_splits(CFG, {"a": 30}, seed=2)["a"]]
    eft = build_eft(problems, ["wrong_arithmetic", "repeated_step"], seed=0, cfg=CFG)
    by_pair = {}
    for r in eft:
        by_pair.setdefault(r.pair_id, []).append(r)
    for a, b in by_pair.values():
        assert {a.verdict, b.verdict} == {"A", "B"}
        assert (a.step_a, a.step_b) == (b.step_b, b.step_a)
        right_a = a.step_a if a.verdict == "A" else a.step_b
        right_b = b.step_a if b.verdict == "A" else b.step_b
        assert right_a == right_b
    ift = build_ift(problems)
    assert all(r.steps[0].startswith("Step 1: ") and "\\boxed{" in r.steps[-1] for r in ift)
