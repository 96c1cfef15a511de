"""EFT train and test share no problem, for both real sources (GSM8K perturbations and PRMBench), and
no EFT problem is in another split (sft, search, test, a benchmark): on a small hand-built case that
always runs, and on the real data of every real-data profile when ``../shared/data`` is there."""

from __future__ import annotations

import pytest

from psrlm.params import parse_params, profile_raw
from psrlm.real.eft import prmbench_groups, real_eft_sets, split_real_eft
from psrlm.real.overlap import TextIndex, same_problem
from psrlm.sizes import shared_problems
from schemas import EFTRecord
from tests.conftest import ROOT

DATA_ROOT = (ROOT.parent / "shared" / "data").resolve()
SOURCES = ("gsm8k", "prmbench")


def assert_disjoint(train: list[EFTRecord], test: list[EFTRecord], other_splits: list[str]) -> None:
    """No problem of EFT test is in EFT train (by id and by text), per source; no EFT problem is in
    another split; PRMBench: no problem's items on both sides."""
    for source in SOURCES:
        tr = [r for r in train if r.source == source]
        te = [r for r in test if r.source == source]
        assert not {r.problem_id for r in tr} & {r.problem_id for r in te}, source
        seen = TextIndex(r.problem for r in tr)
        assert not [r.problem for r in te if seen.matches(r.problem)], source
    assert not shared_problems(train, test)
    others = TextIndex(other_splits)
    assert not [r.problem for r in train + test if others.matches(r.problem)]


# ---- a hand-built case ----------------------------------------------------------------------------

def gsm8k_problem(i: int) -> dict:
    a, b = 3 + i, 10 + 2 * i
    return {"id": f"gsm8k/train/{i}", "source": "gsm8k", "answer": str(a * b),
            "problem": f"A box holds {a} rows of {b} eggs. How many eggs are in box number {i}?",
            "solution": f"The box holds {a}*{b} = <<{a}*{b}={a * b}>>{a * b} eggs.\n#### {a * b}"}


def prmbench_item(line: int, idx: str, question: str) -> dict:
    steps = ["Let $x$ be the price.", f"Then $2x = {line}$.", f"So $x = {line / 2}$."]
    wrong = [*steps[:1], f"Then $2x = {line + 1}$.", f"So $x = {(line + 1) / 2}$."]
    return {"id": f"prmbench/{line}", "idx": idx, "problem": question, "original_question": question,
            "modified_question": question, "original_steps": steps, "modified_steps": wrong, "error_steps": [2, 3],
            "classification": "counterfactual", "reason": "changed the total"}


# PRMBench writes MATH problems its own way: the same problem under two idx, one reformatted
PENCILS_MATH = "Three pencils and a jumbo eraser cost $\\$1.24$. Five pencils and a jumbo eraser cost $\\$1.82$. " \
               "No prices include tax. In cents, what is the cost of a pencil?"
PENCILS_PRMBENCH = "Three pencils and a jumbo eraser cost $1.24. Five pencils and a jumbo eraser cost $1.82. " \
                   "No prices include tax. In cents, what is the cost of a pencil?"


def hand_built() -> tuple[list[dict], list[dict], list[str]]:
    gsm8k = [gsm8k_problem(i) for i in range(12)]
    items = [prmbench_item(1, "prm_test_p1_0", PENCILS_PRMBENCH),
             prmbench_item(2, "prm_test_p1_0", PENCILS_MATH),  # same idx, reformatted question
             prmbench_item(3, "prm_test_p2_7", PENCILS_MATH)]  # same question, another idx
    items += [prmbench_item(10 + i, f"prm_train_p1_{i}", f"What is ${i}^2 + {i}$ when $n = {i}$, for problem {i}?")
              for i in range(8)]
    # a problem of the sft split (a MATH train problem, written as MATH writes it): PRMBench may not use it
    items.append(prmbench_item(30, "prm_train_p1_99", "Express 555_{10} in base 5."))
    other_splits = ["Express $555_{10}$ in base $5$.", "An unrelated search problem about trains."]
    return gsm8k, items, other_splits


def test_text_keys_match_the_formats_prmbench_uses():
    assert same_problem(PENCILS_MATH, PENCILS_PRMBENCH)
    assert same_problem("Express $555_{10}$ in base $5$.", "Express 555_{10} in base 5.")
    assert same_problem("Let\\n\\[f(x) = x^2.\\]Find $f(2)$ and also $f(3)$ for this function.",
                        "Let\n\\[f(x) = x^2.\\]\nFind $f(2)$ and also $f(3)$ for this function.")
    # a question cut before its answer choices is the question with them
    cut = "A subset of the integers $1,2,\\cdots,100$ has the property that none of its members is 3 times another."
    assert same_problem(cut, cut + "\n$\\text{(A) } 50\\quad \\text{(B) } 66$")
    assert not same_problem("What is $2 + 3$?", "What is $2 + 30$?")
    assert not same_problem("Compute $\\dbinom{8}{4}$.", "Compute $\\dbinom{8}{5}$.")


def test_prmbench_items_group_by_the_problem_they_perturb():
    _, items, _ = hand_built()
    groups = prmbench_groups(items)
    assert [len(g) for g in groups] == [3] + [1] * 9  # idx links 1-2, the question links 2-3


@pytest.mark.parametrize("seed", range(6))
def test_hand_built_eft_test_shares_no_problem_with_train(seed):
    gsm8k, items, other_splits = hand_built()
    taken = TextIndex(other_splits)
    train, test, skipped = split_real_eft(gsm8k, items, taken, test_problems=4, train_problems=8,
                                          prmbench_test_share=0.5, seed=seed)
    assert {r.source for r in test} == {r.source for r in train} == set(SOURCES)
    assert_disjoint(train, test, other_splits)
    assert skipped["prmbench: problem in another split"] == 1
    # the three items of the pencil problem stay together, on one side, under one problem id
    pencils = [r for r in train + test if same_problem(r.problem, PENCILS_MATH)]
    assert len(pencils) == 6 and len({r.problem_id for r in pencils}) == 1
    assert len({r.problem_id for r in test if r.source == "gsm8k"}) == 4


def test_the_check_catches_a_split_by_item():
    """Splitting PRMBench by item, as before issue 12, puts a problem on both sides: the check fails."""
    from psrlm.real.eft import build_prmbench_eft

    _, items, _ = hand_built()
    train, _ = build_prmbench_eft(items[1:])
    test, _ = build_prmbench_eft(items[:1])
    assert shared_problems(train, test)
    with pytest.raises(AssertionError):
        assert_disjoint(train, test, [])


def test_params_refuse_an_eft_the_eft_split_cannot_hold():
    from psrlm.params import ParamsError

    raw = profile_raw(ROOT / "profiles" / "smollm2-cpu.yaml")
    raw["sets"]["eft_train_problems"] = raw["problems"]["splits"]["eft"]  # + eft_test_problems: too many
    with pytest.raises(ParamsError, match="problems.splits.eft holds"):
        parse_params(raw)
    raw = profile_raw(ROOT / "profiles" / "tiny-cpu.yaml")
    raw["problems"]["splits"]["eft"] = 10
    with pytest.raises(ParamsError, match="real data only"):
        parse_params(raw)


# ---- the real data, with each real-data profile's settings -------------------------------------------

REAL_PROFILES = ["smollm2-cpu", "qwen2.5-math-7b", "qwen2.5-math-72b"]
# the sizes each profile promises (its comments, the README): records per source
SIZES = {
    "smollm2-cpu": ({"gsm8k": 48}, {"gsm8k": 60}),
    "qwen2.5-math-7b": ({"gsm8k": 4108, "prmbench": 60}, {"gsm8k": 444, "prmbench": 56}),
    "qwen2.5-math-72b": ({"gsm8k": 4108, "prmbench": 60}, {"gsm8k": 444, "prmbench": 56}),
}


@pytest.mark.skipif(not (DATA_ROOT / "README.md").exists(), reason=f"no offline data at {DATA_ROOT}")
@pytest.mark.parametrize("name", REAL_PROFILES)
def test_real_eft_test_shares_no_problem_with_train(name):
    from collections import Counter

    from psrlm.real.loaders import load_prmbench
    from psrlm.real.splits import benchmark_splits, real_splits

    raw = profile_raw(ROOT / "profiles" / f"{name}.yaml")
    raw["problems"]["real"]["data_root"] = str(DATA_ROOT)
    params = parse_params(raw)
    splits = real_splits(params, steps=False) | benchmark_splits(params)
    train, test, _ = real_eft_sets(params, splits, load_prmbench(DATA_ROOT))
    others = [p["problem"] for split, rows in splits.items() if split != "eft" for p in rows]
    assert_disjoint(train, test, others)
    sizes = dict(Counter(r.source for r in train)), dict(Counter(r.source for r in test))
    assert sizes == SIZES[name]
    # PRMBench: no problem has items on both sides, whatever its items' idx
    by_item = {f"eft-{x.id}": i for i, group in enumerate(prmbench_groups(load_prmbench(DATA_ROOT))) for x in group}
    sides = [{by_item[r.pair_id] for r in records if r.source == "prmbench"} for records in (train, test)]
    assert not sides[0] & sides[1]
