"""The toy world: solutions are right by construction, corruptions are wrong, splits are disjoint."""

import random
import re

from psrlm.grader import is_correct
from psrlm.params import ToyProblems
from psrlm.sets import build_eft, build_ift
from psrlm.toy import (CORRUPTIONS, apply, corrupt_step, generate_splits, parse_equation, right_step, solve,
                       step_error, verify_explanation, well_formed, with_checks)
from schemas import Problem

CFG = ToyProblems()


def test_reference_steps_compute_the_answer():
    splits = generate_splits(CFG, {"a": 50, "b": 50}, seed=3)
    for p in splits["a"]:
        for body in p["steps"]:
            a, op, x, b = parse_equation(body)
            assert apply(op, a, x) == b
        assert is_correct(p["steps"][-1], p["answer"])
        assert is_correct(p["solution"], p["answer"], "last_number")  # free-form: no box, the last number
        assert "Step" not in p["solution"]
    assert not {p["problem"] for p in splits["a"]} & {p["problem"] for p in splits["b"]}


def test_ift_can_leave_out_an_operation_that_eft_keeps():
    rows = generate_splits(CFG, {"sft": 200}, seed=5)["sft"]
    problems = [Problem(**r) for r in rows]
    ops = {p.id: {parse_equation(b)[1] for b in p.steps} for p in problems}
    ift = build_ift(problems, ["add", "sub"])
    kept = {r.problem_id for r in ift}
    assert kept == {i for i, kinds in ops.items() if "mul" not in kinds}
    assert 0 < len(kept) < len(problems)
    assert all(" * " not in step for r in ift for step in r.steps)
    assert len(build_ift(problems)) == len(problems)
    with_three = build_ift(problems, ["add", "sub"], others=3)
    left_out = [p.id for p in problems if p.id not in kept]
    assert {r.problem_id for r in with_three} == kept | set(left_out[:3])
    assert [r.problem_id for r in with_three] == [p.id for p in problems if p.id in kept | set(left_out[:3])]
    eft = build_eft(problems, ["wrong_arithmetic"], 0, CFG)
    assert any(" * " in r.step_a + r.step_b for r in eft)  # the judge still sees the left-out operation
    # from step 2 on: the left-out operation is worked out as a first step, never later
    later = build_ift(problems, ["add", "sub"], from_step=2)
    assert {r.problem_id for r in later} == {p.id for p in problems if "mul" not in
                                             {parse_equation(b)[1] for b in p.steps[1:]}} > kept
    assert any(" * " in r.steps[0] for r in later) and all(" * " not in s for r in later for s in r.steps[1:])
    # the worked examples of the left-out operation drawn from those where it is the second step alone
    at_two = build_ift(problems, ["add", "sub"], others=3, other_steps=[2])
    extra = [r for r in at_two if r.problem_id not in kept]
    assert len(extra) == 3 and all(" * " not in r.steps[0] and " * " in r.steps[1] for r in extra)


def test_validation_splits_accuracy_by_the_operations_of_each_problem():
    from benchmarks.validate import by_operations

    problems = [Problem(**r) for r in generate_splits(CFG, {"a": 60}, seed=5)["a"]]
    has_mul = [any(" * " in step for step in p.steps) for p in problems]
    line = by_operations(problems, [not m for m in has_mul])  # right exactly where no step multiplies
    groups = dict((part.split()[0], part.split()[1]) for part in line.split(", "))
    assert groups and all(("mul" in key) == (acc == "0.000") for key, acc in groups.items())
    assert any("mul" in key for key in groups) and any("mul" not in key for key in groups)
    assert sum(int(part.split("n=")[1].rstrip(")")) for part in line.split(", ")) == len(problems)


def test_generation_is_seeded():
    assert generate_splits(CFG, {"a": 5}, seed=7) == generate_splits(CFG, {"a": 5}, seed=7)


def test_a_split_can_have_its_own_number_of_events():
    import pytest

    cfg = ToyProblems(split_ops={"search": (3, 4)})
    splits = generate_splits(cfg, {"sft": 40, "search": 40}, seed=3)
    assert {len(p["steps"]) for p in splits["sft"]} == {2}
    assert {len(p["steps"]) for p in splits["search"]} == {3, 4}
    assert generate_splits(ToyProblems(split_ops={}), {"sft": 5}, seed=3) == generate_splits(CFG, {"sft": 5}, seed=3)
    with pytest.raises(ValueError, match="split_ops.test"):
        ToyProblems(split_ops={"test": (4, 3)})


def test_every_corruption_is_wrong():
    rng = random.Random(0)
    problems = generate_splits(CFG, {"a": 100}, seed=5)["a"]
    seen = set()
    for p in problems:
        for pos in range(len(p["steps"])):
            for kind in CORRUPTIONS:
                wrong = corrupt_step(p["steps"], pos, kind, rng, CFG)
                if wrong is None:
                    continue
                seen.add(kind)
                assert wrong != p["steps"][pos]
                assert step_error(p["steps"], p["steps"][:pos], wrong) != "correct", (kind, wrong)
    assert seen == set(CORRUPTIONS)


def test_a_garbled_step_is_no_step_of_the_grammar_and_claims_nothing():
    """The search's DPO models write garbled steps (cut off, run on, junk in or after the line), and a check of the
    claim alone cannot tell one whose number is right from the right step: the oracle calls any text off the
    grammar a ``format`` error, and the judge's check gives it no claim, so the verify explanation rejects it."""
    rng = random.Random(1)
    problems = generate_splits(CFG, {"a": 200}, seed=6)["a"]
    assert all(well_formed(s) for p in problems for s in p["steps"])
    forms = set()
    for p in problems:
        pos = rng.randrange(len(p["steps"]))
        wrong = corrupt_step(p["steps"], pos, "garbled", rng, CFG)
        assert not well_formed(wrong) and step_error(p["steps"], p["steps"][:pos], wrong) == "format"
        text, ok_a, ok_b = verify_explanation(p["steps"][pos], wrong, p["steps"][pos])
        assert " A says nothing. B says " in text and (ok_a, ok_b) == (False, True)
        right = p["steps"][pos]
        forms.add("cut" if right.startswith(wrong) else "open_box" if re.search(r"\\boxed\{-?\d+\. ", wrong)
                  else "broken_box" if re.search(r"\\boxed(?!\{-?\d+\}\.)", wrong)
                  else "tail" if wrong.startswith(right) else "splice" if ". " in wrong.split(", so ")[0] else "noise")
    assert forms == {"cut", "tail", "splice", "open_box", "broken_box", "noise"}
    ref = ["First, he gives away 2, so 5 - 2 = 3.", "Second, he gets 5 more, so 3 + 5 = 8. The answer is \\boxed{8}."]
    for garbled in ("First, he gives away 0. How, he gives away 2, so 5 - 2 = 3.", "First, he gives away 2, so 5 - 2 = 3. A",
                    "First, he gives away 2, so 5 -", "First, he gives away 2, so 5 - 2 = 3. The answer is \\boxed{3. [[B",
                    "First, he gives away 2, so 5 -  Begin2 = 3.", "First, he gives away 2, so 5 - 2 = 3. The answer is \\boxedth}.",
                    "First, he gives away 2, so 5 - 2 = 3. The answer is \\boxedboxed{", "First, he gives away 2, so 5 - 2 = 3. The answer is \\boxed}.3}."):
        assert step_error(ref, [], garbled) == "format"
        assert verify_explanation(ref[0], garbled, ref[0])[1:] == (False, True)


def test_the_oracle_reads_the_question_and_knows_each_error():
    for p in generate_splits(CFG, {"a": 200}, seed=4)["a"]:
        assert solve(p["problem"]) == p["steps"]  # the reference steps, from the question's text alone
        for pos, body in enumerate(p["steps"]):
            assert step_error(p["steps"], p["steps"][:pos], body) == "correct"
    ref = ["First, he gets 5 more, so 3 + 5 = 8.", "Second, he multiplies them by 2, so 8 * 2 = 16. The answer is \\boxed{16}."]
    assert step_error(ref, [], "First, he gets 5 more, so 3 + 5 = 9.") == "arithmetic"
    assert step_error(ref, [ref[0]], "Second, he multiplies them by 2, so 7 * 2 = 14. The answer is \\boxed{14}.") == "previous_value"
    assert step_error(ref, [ref[0]], "Second, he multiplies them by 2, so 8 * 2 = 16. The answer is \\boxed{15}.") == "answer_mismatch"
    assert step_error(ref, [], ref[1]) == "event"
    assert step_error(ref, [ref[0]], "Second, he multiplies them by 2, so 8 * 2 = 16.") == "final"
    assert step_error(ref, ref, "Third, he gets 1 more, so 16 + 1 = 17.") == "extra"
    assert step_error(ref, [], "I do not know.") == "format"
    # a path gone wrong: the next step is right when it carries the wrong value over faithfully
    assert step_error(ref, ["First, he gets 5 more, so 3 + 5 = 9."],
                      "Second, he multiplies them by 2, so 9 * 2 = 18. The answer is \\boxed{18}.") == "correct"
    assert solve("What is 2 + 2?") is None


def test_verify_explanation_works_out_the_right_step_and_each_claim_against_it():
    question = "Leo has 3 books. First, he gets 5 more. Second, he multiplies them by 2. How many?"
    ref = solve(question)
    assert right_step(question, []) == ref[0] and right_step(question, [ref[0]]) == ref[1]
    # after a wrong first step, the right next step starts from the value it carried over
    assert right_step(question, ["First, he gets 5 more, so 3 + 5 = 9."]).startswith("Second, he multiplies them by 2, so 9 * 2 = 18.")
    assert right_step(question, ref) is None
    text, ok_a, ok_b = verify_explanation(ref[1], "Second, he multiplies them by 2, so 7 * 2 = 14.", ref[1])
    assert text == "Second, he multiplies them by 2, so 8 * 2 = 16. A says 14; 14 - 16 = -2. B says 16; 16 - 16 = 0."
    assert (ok_a, ok_b) == (False, True)
    # the boxed answer is what a final step claims; a wrong event is caught through its result
    assert verify_explanation(ref[1], ref[1].replace("{16}", "{15}"), ref[1])[1:] == (False, True)
    assert verify_explanation(ref[0], "First, he gets 4 more, so 3 + 4 = 7.", ref[0])[1:] == (False, True)


def test_pretraining_checks_work_out_the_claim_minus_the_result():
    p = generate_splits(CFG, {"a": 1}, seed=1)["a"][0]
    rng = random.Random(0)
    for _ in range(50):
        text = with_checks(p["solution"], rng, 1.0)
        checks = __import__("re").findall(r"= (\d+)\. \w+ says (\d+); (\d+) - (\d+) = (-?\d+)\.", text)
        assert len(checks) == len(p["steps"])
        for result, claim, c, r, d in checks:
            assert (c, r) == (claim, result) and int(d) == int(claim) - int(result)
    assert len(__import__("re").findall(" says ", with_checks(p["solution"], rng, 2.0))) == 2 * len(p["steps"])
    assert with_checks(p["solution"], rng, 0.0) == p["solution"]


def test_eft_has_both_orders_with_consistent_labels():
    problems = [Problem(**p) for p in generate_splits(CFG, {"a": 30}, seed=2)["a"]]
    eft = build_eft(problems, ["wrong_arithmetic", "repeated_step"], seed=0, cfg=CFG, explanation="equation")
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


def test_verify_eft_explanations_support_their_verdicts():
    problems = [Problem(**p) for p in generate_splits(CFG, {"a": 60}, seed=2)["a"]]
    kinds = {"wrong_event": 0.4, "wrong_arithmetic": 0.3, "wrong_previous": 0.2, "answer_mismatch": 0.1}
    eft = build_eft(problems, kinds, seed=0, cfg=CFG)
    assert len(eft) >= 100 and {r.corruption for r in eft} >= {"wrong_event", "wrong_arithmetic", "wrong_previous"}
    for r in eft:
        a, b = r.explanation.split(" B says ")
        assert a.endswith(" = 0.") == (r.verdict == "A") and b.endswith(" = 0.") == (r.verdict == "B")


def test_the_exploration_benchmark_counts_rounds_that_can_make_a_right_pair():
    from benchmarks.explore import explore
    from psrlm.steps import format_step, step_body

    problem = Problem(**generate_splits(CFG, {"a": 1}, seed=5)["a"][0])
    bodies = [step_body(s) for s in problem.steps]
    right, wrong = format_step(1, bodies[0]), "Step 1: I am not sure."
    where = [("p", bodies, 0, "add")] * 3
    samples = [[right] * 3, [right, wrong, wrong], [wrong, " " + wrong, wrong]]
    m = explore(samples, [right, wrong, wrong], where)
    assert m["positions"] == 3
    assert m["single"] == 2 / 3  # the first and the last position sampled one distinct step
    assert m["mixed"] == 1 / 3 and m["all_wrong"] == 1 / 3
    assert m["greedy_wrong"] == 2 and m["greedy_wrong_right_sampled"] == 0.5
    assert m["by_operation"] == {"add": {"n": 3, "mixed": 1 / 3, "all_wrong": 1 / 3}}


def test_both_wrong_event_pairs_two_wrong_steps_and_the_judge_must_read_the_question():
    """``both_wrong_event``: neither step holds the question's event (the search's rounds in which the judge copies
    the candidates' wrong event into its rewrite), the better one is well formed, the other garbled; the
    explanation rewrites the right step from the question, its checks decide the verdict and prove nothing."""
    from psrlm.proofs import proves
    from psrlm.steps import step_body

    problems = [Problem(**p) for p in generate_splits(CFG, {"a": 200}, seed=4)["a"]]
    eft = build_eft(problems, {"both_wrong_event": 1.0, "wrong_arithmetic": 0.01}, seed=0, cfg=CFG)
    pairs = [r for r in eft if r.corruption == "both_wrong_event"]
    assert len(pairs) >= 200
    for r in pairs:
        bodies = [step_body(s) for s in r.previous_steps]
        steps = solve(r.problem)
        better, worse = (r.step_a, r.step_b) if r.verdict == "A" else (r.step_b, r.step_a)
        assert step_error(steps, bodies, step_body(better)) == "event"
        assert step_error(steps, bodies, step_body(worse)) == "format"
        assert r.explanation.startswith(right_step(r.problem, bodies).split(" The answer is ")[0])
        assert f"{'B' if r.verdict == 'A' else 'A'} says nothing." in r.explanation
        assert not proves(f"{r.explanation} [[{r.verdict}]]")


def test_sfts_prose_replay_is_m0s_first_documents_as_m0_read_them(tmp_path):
    import copy
    from pathlib import Path

    import yaml

    from psrlm.params import parse_params
    from schemas.table import write_jsonl
    from stages.base_model import pretraining_text
    from stages.sft import prose_examples

    raw = copy.deepcopy(yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text()))
    raw["paths"]["problems"] = str(tmp_path)
    raw["sft"]["prose_replay"] = 3
    params = parse_params(raw)
    corpus = [Problem(**p) for p in generate_splits(ToyProblems(), {"pretrain": 5}, seed=1)["pretrain"]]
    write_jsonl(params.problems_file("pretrain"), Problem, corpus)
    rng = random.Random(params.seed)  # how base_model draws M0's documents
    m0_read = [pretraining_text(p, rng, params.pretrain.checks) for p in corpus]
    replayed = prose_examples(params)
    assert [r["completion"] for r in replayed] == m0_read[:3] and all(r["prompt"] == "" for r in replayed)
    assert " says " in replayed[0]["completion"]  # the checks come along
    raw["sft"]["prose_replay"] = 0
    assert prose_examples(parse_params(raw)) == []
