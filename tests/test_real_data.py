"""The real-math data layer: loaders (counts, normalised answers, errors with file and line), the
rule-based IFT steps and the EFT pairs built from real steps. Reads ../shared/data (skipped without it)."""

import json
import random
import re

import pytest

from psrlm.grader import extract_answer, is_correct, is_equivalent
from psrlm.real import answers, eft, ift, loaders
from psrlm.real.benchmarks import DEFAULT_DATA_ROOT
from psrlm.sets import build_ift
from schemas import EFTRecord, IFTRecord, Problem
from schemas.table import ArtifactError

ROOT = DEFAULT_DATA_ROOT
pytestmark = pytest.mark.skipif(not (ROOT / "README.md").exists(), reason=f"no offline data at {ROOT}")


@pytest.fixture(scope="module")
def problems():
    """Every problem source and split, loaded once (repeated problem texts dropped: MATH train has one)."""
    return {(source, split): loaders.load_problems(source, ROOT, split, duplicates="drop") for source, split in loaders.FILES}


# ---- loaders: counts (README), schema, normalised answers -------------------------------------------

COUNTS = {("gsm8k", "train"): 7473, ("gsm8k", "test"): 1319, ("math", "train"): 7499, ("math", "test"): 5000,
          ("math500", "test"): 500, ("aime24", "test"): 30, ("amc23", "test"): 40, ("gaokao2023en", "test"): 385,
          ("olympiadbench", "test"): 675}


@pytest.mark.parametrize("key", list(COUNTS), ids="/".join)
def test_every_problem_file_loads_whole(problems, key):
    rows = problems[key]
    assert len(rows) == COUNTS[key]
    assert len({r["id"] for r in rows}) == len(rows)
    assert all(r["source"] == key[0] and r["id"].startswith(f"{key[0]}/") for r in rows)
    Problem.model_validate(rows[0])


def test_a_repeated_problem_text_is_an_error_by_default():
    """MATH train holds one problem text twice (lines 1435 and 1667): the error names both."""
    with pytest.raises(loaders.ArtifactError, match=r"math_full_train.jsonl:1667: same problem as .*math_full_train.jsonl:1435"):
        loaders.load_problems("math", ROOT, "train")


@pytest.mark.parametrize(("key", "problem_id", "answer"), [
    (("gsm8k", "test"), "gsm8k/test/0", "18"),
    (("gsm8k", "test"), "gsm8k/test/146", "2125"),  # "#### 2,125"
    (("math", "test"), "math/test/algebra/2.json", "\\frac{1}{2}"),  # the last \boxed{} of the solution
    (("math", "test"), "math/test/algebra/2780.json", "18.90"),  # \boxed{\$18.90}: currency dropped
    (("math", "train"), "math/train/algebra/24014.json", "2"),  # "\boxed 2" without braces
    (("math", "train"), "math/train/number_theory/7115.json", "0"),  # repaired empty \boxed{}
    (("math500", "test"), "math500/test/precalculus/807.json", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    (("aime24", "test"), "aime24/67", "25"),  # "025"
    (("amc23", "test"), "amc23/0", "27"),  # 27.0
    (("gaokao2023en", "test"), "gaokao2023en/0", "\\{x|-2\\leq x < 1\\}"),  # "$...$" delimiters dropped
    (("gaokao2023en", "test"), "gaokao2023en/8", "48, 384"),  # "$48$, $384$"
    (("gaokao2023en", "test"), "gaokao2023en/167", "\\frac{3}{10}"),  # repaired: answer was in the question
    (("olympiadbench", "test"), "olympiadbench/1610", "\\frac{1}{2 n+2}"),  # ['$\frac{1}{2 n+2}$']
    (("olympiadbench", "test"), "olympiadbench/1664", "69,84"),  # ['$69$,$84$']
])
def test_answers_are_normalised(problems, key, problem_id, answer):
    row = next(r for r in problems[key] if r["id"] == problem_id)
    assert row["answer"] == answer


def test_repairs_take_the_leaked_answer_out_of_the_question(problems):
    row = next(r for r in problems[("gaokao2023en", "test")] if r["id"] == "gaokao2023en/167")
    assert "answers:" not in row["problem"] and row["problem"].endswith("saddle point.")


def test_math500_is_the_full_math_test_subset(problems):
    full = {r["id"].removeprefix("math/"): r for r in problems[("math", "test")]}
    for r in problems[("math500", "test")]:
        twin = full[r["id"].removeprefix("math500/")]
        assert twin["problem"] == r["problem"] and is_equivalent(twin["answer"], r["answer"])


@pytest.mark.parametrize(("value", "expected"), [
    (["2"], "2"),
    ("['$\\\\frac{1}{2}$']", "\\frac{1}{2}"),  # stringified, as the README describes
    (["$(2,4)$"], "(2,4)"),
    (["1", "$2$"], "1, 2"),  # several answers
])
def test_olympiad_answer_lists(value, expected):
    assert answers.olympiad_answer(value) == expected


def test_answer_formats():
    assert answers.gsm8k_answer("a\nb\n#### 1,080") == "1080"
    assert answers.amc_answer(27.0) == "27" and answers.amc_answer(-1.0) == "-1" and answers.amc_answer(2.5) == "2.5"
    assert answers.integer_answer("025") == "25"
    assert answers.latex_answer("$\\frac{\\pi}{3}$") == "\\frac{\\pi}{3}"
    with pytest.raises(answers.AnswerFormatError):
        answers.math_answer("no box here")


@pytest.mark.parametrize(("subset", "count"), [("gsm8k", 400), ("math", 1000), ("olympiadbench", 1000),
                                                ("omnimath", 1000)])
def test_processbench_loads(subset, count):
    rows = loaders.load_processbench(ROOT, subset)
    assert len(rows) == count
    assert all(-1 <= r["first_error"] < len(r["steps"]) for r in rows)


def test_prmbench_loads_and_names_its_broken_items():
    rows = loaders.load_prmbench(ROOT)
    assert len(rows) == 394
    defects = [eft.prmbench_defect(r) for r in rows]
    assert defects.count("no error steps") == 10  # the multi_solutions items
    assert defects.count("error step beyond the modified solution") == 11


def test_gsm8k_model_solutions_load():
    rows = loaders.load_gsm8k_model_solutions(ROOT)
    assert len(rows) == 1319 * 4 and len({r["problem_id"] for r in rows}) == 1319
    assert rows[0]["problem_id"] == "gsm8k/test/0" and rows[0]["answer"] == "18"
    assert {r["model"] for r in rows} == set(loaders.GSM8K_MODELS)


def test_a_hub_id_offline_fails_clearly():  # conftest sets HF_HUB_OFFLINE=1
    with pytest.raises(ArtifactError, match=r"hub:openai/gsm8k: could not load split 'test'.*Offline"):
        loaders.load_problems("gsm8k", hub="openai/gsm8k", hub_config="main")


# ---- loaders: malformed input fails with file, line and reason ------------------------------------

GOOD_GSM8K = {"question": "q?", "answer": "1 + 1 = <<1+1=2>>2\n#### 2"}
BAD_FILES = [
    ("gsm8k", "gsm8k/test.jsonl", [GOOD_GSM8K, {**GOOD_GSM8K, "question": "Other?"}, "{not json"], 3, "malformed JSON"),
    ("gsm8k", "gsm8k/test.jsonl", [GOOD_GSM8K, {"question": "q?"}], 2, "missing field 'answer'"),
    ("gsm8k", "gsm8k/test.jsonl", [{"question": "q?", "answer": "just 2"}], 1, "no '#### <answer>' line"),
    ("gsm8k", "gsm8k/test.jsonl", [GOOD_GSM8K, {"question": "  ", "answer": "#### 2"}], 2, "field 'problem'"),
    ("math", "math/math_full_test.jsonl", [{"problem": "p", "solution": "so x = 2", "unique_id": "test/a/1.json"}],
     1, "no \\\\boxed"),
    ("math", "math/math_full_test.jsonl",
     [{"problem": "p", "solution": "\\boxed{1}", "unique_id": "test/a/1.json"}] * 2, 2, "duplicate id"),
    ("amc23", "amc23/test.jsonl", [{"id": 0, "problem": "p", "answer": "many"}], 1, "expected a number"),
    ("olympiadbench", "olympiadbench/test.jsonl",
     [{"id": 1, "question": "q", "final_answer": "not a list"}], 1, "not a \\(stringified\\) list"),
    ("aime24", "aime24/test.jsonl", [{"id": 1, "problem": "p", "answer": 7}, [1, 2]], 2, "expected a JSON object"),
]


@pytest.mark.parametrize(("source", "path", "lines", "bad_line", "reason"), BAD_FILES,
                         ids=[f"{b[0]}-{b[4][:20]}" for b in BAD_FILES])
def test_malformed_problem_files_fail_naming_file_and_line(tmp_path, source, path, lines, bad_line, reason):
    file = tmp_path / path
    file.parent.mkdir(parents=True)
    file.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    split = "test"
    with pytest.raises(ArtifactError, match=rf"{re.escape(str(file))}:{bad_line}: .*{reason}"):
        loaders.load_problems(source, tmp_path, split)


def test_malformed_processbench_item_names_its_line(tmp_path):
    items = [{"id": "g-0", "generator": "m", "problem": "p", "steps": ["a", "b"], "final_answer_correct": True,
              "label": -1},
             {"id": "g-1", "generator": "m", "problem": "p", "steps": ["a"], "final_answer_correct": False,
              "label": 3}]
    file = tmp_path / "processbench" / "gsm8k.json"
    file.parent.mkdir()
    file.write_text(json.dumps(items, indent=2))
    second = [n for n, line in enumerate(file.read_text().splitlines(), start=1) if line == "  {"][1]
    with pytest.raises(ArtifactError, match=rf"gsm8k.json:{second}: .*beyond the 1 steps"):
        loaders.load_processbench(tmp_path, "gsm8k")


def test_a_stale_repair_is_an_error(tmp_path):
    file = tmp_path / "gaokao2023en" / "test.jsonl"
    file.parent.mkdir()
    file.write_text(json.dumps({"id": "HMMT2023General_9", "question": "fixed upstream", "answer": "1"}) + "\n")
    with pytest.raises(ArtifactError, match=r"test.jsonl:1: the repair of HMMT2023General_9 .* no longer applies"):
        loaders.load_problems("gaokao2023en", tmp_path)


# ---- IFT ----------------------------------------------------------------------------------------

def test_gsm8k_solution_becomes_steps(problems):
    first = next(p for p in problems[("gsm8k", "test")] if p["id"] == "gsm8k/test/0")
    (record,) = build_ift(ift.with_steps([first]))
    assert isinstance(record, IFTRecord) and record.problem_id == "gsm8k/test/0"
    assert record.steps == [
        "Step 1: Janet sells 16 - 3 - 4 = 9 duck eggs a day.",
        "Step 2: She makes 9 * 2 = $18 every day at the farmer’s market. The answer is \\boxed{18}.",
    ]


MATH_SOLUTION = (
    "First, note that $x = 2.$ Then $y = 3$.\n\n"
    "We compute \\[a = 1.\n\nB = 2.\\] Next we align: \\begin{align*} p &= 1. Q \\\\ q &= 2 \\end{align*}\n\n"
    "This paragraph is long. It has three sentences. The price is \\$5. So the answer is $\\boxed{\\frac{1}{2}}$.\n\n"
    "[asy]\ndraw((0,0)--(1,1));\n\nlabel(\"A. B\");\n[/asy]"
)


def test_math_solution_splits_at_paragraphs_then_sentences_never_inside_math():
    assert ift.math_steps(MATH_SOLUTION, max_chars=60) == [
        "First, note that $x = 2.$ Then $y = 3$.",  # a short paragraph: one step
        "We compute \\[a = 1.\n\nB = 2.\\]",  # no paragraph break inside display math
        "Next we align: \\begin{align*} p &= 1. Q \\\\ q &= 2 \\end{align*}",  # nor a sentence end in an environment
        "This paragraph is long. It has three sentences.",  # a long one: sentences packed to <= 60 chars
        "The price is \\$5. So the answer is $\\boxed{\\frac{1}{2}}$.\n\n"
        "[asy]\ndraw((0,0)--(1,1));\n\nlabel(\"A. B\");\n[/asy]",  # the figure after the box joins it
    ]


def test_long_math_paragraph_is_cut_at_sentence_ends_outside_math():
    text = "We have $r = \\sqrt{0^2 + 3^2} = 3.$  Also the angle is $\\frac{\\pi}{2}$. Hence $\\boxed{3}$."
    assert ift.math_steps(text, max_chars=40) == [
        "We have $r = \\sqrt{0^2 + 3^2} = 3.$", "Also the angle is $\\frac{\\pi}{2}$.", "Hence $\\boxed{3}$."]


def test_every_math500_ift_solution_ends_in_its_answer(problems):
    records = build_ift(ift.with_steps(problems[("math500", "test")]))
    golds = {p["id"]: p["answer"] for p in problems[("math500", "test")]}
    assert len(records) == 500
    for r in records:
        assert all(s.startswith(f"Step {i + 1}: ") for i, s in enumerate(r.steps))
        assert "\\boxed" in r.steps[-1] and is_correct(r.steps[-1], golds[r.problem_id]), r.problem_id


def test_ift_refuses_sources_without_a_rule(problems):
    with pytest.raises(ValueError, match="no step rule for source 'aime24'"):
        build_ift(ift.with_steps(problems[("aime24", "test")][:1]))


# ---- EFT ----------------------------------------------------------------------------------------

def test_prmbench_pairs_put_the_wrong_step_at_the_first_error():
    items = loaders.load_prmbench(ROOT)
    records, skipped = eft.build_prmbench_eft(items)
    assert skipped["no error steps"] == 10 and skipped["error step beyond the modified solution"] == 11
    assert len(records) == 2 * (len(items) - sum(skipped.values()))
    by_id = {f"eft-{x['id']}": x for x in items}
    for r in records:
        EFTRecord.model_validate(r.model_dump())
        x = by_id[r.pair_id]
        first = min(x["error_steps"]) - 1
        right, wrong = (r.step_a, r.step_b) if r.verdict == "A" else (r.step_b, r.step_a)
        assert right == f"Step {first + 1}: {x['original_steps'][first].strip()}"
        assert wrong == f"Step {first + 1}: {x['modified_steps'][first].strip()}"
        assert r.previous_steps == [f"Step {i + 1}: {s.strip()}" for i, s in enumerate(x["modified_steps"][:first])]
    first_pair = [r for r in records if r.pair_id == "eft-prmbench/1"]
    assert [r.verdict for r in first_pair] == ["A", "B"]
    assert first_pair[0].step_b == "Step 5: This simplifies to $2p=0.58$. So $p=0.58$."
    assert first_pair[0].corruption == "prmbench_confidence"


def test_gsm8k_perturbation_is_proved_wrong_by_its_annotation(problems):
    sample = problems[("gsm8k", "train")][:300]
    records, skipped = eft.build_gsm8k_eft(sample, seed=0)
    assert len(records) == 2 * (len(sample) - skipped["no checkable calculator annotation"]) > 400
    solutions = {p["id"]: p for p in sample}
    for r in records:
        EFTRecord.model_validate(r.model_dump())
        right, wrong = (r.step_a, r.step_b) if r.verdict == "A" else (r.step_b, r.step_a)
        steps = build_ift(ift.with_steps([solutions[r.problem_id]]))[0].steps
        k = len(r.previous_steps)
        assert r.previous_steps == steps[:k] and right == steps[k] and wrong != right
        # "Assistant A's step computes 48+24 = 78, which is wrong.": the annotation's expression
        expression, value, judged = re.match(r"Assistant A's step computes (.+) = (-?\d+), which is (\w+)\.",
                                             r.explanation).groups()
        assert (eft.evaluate(expression) == int(value)) == (judged == "right") == (r.verdict == "A")
        assert value in r.step_a


def test_gsm8k_perturbation_of_the_last_step_changes_the_answer(problems):
    first = next(p for p in problems[("gsm8k", "test")] if p["id"] == "gsm8k/test/0")
    rng = random.Random(0)
    while True:  # the seed picks which annotation; take the one in the last step
        records = eft.gsm8k_pair(first, rng)
        if len(records[0].previous_steps) == 1:
            break
    a = records[0]
    assert a.verdict == "A" and a.step_a.endswith("The answer is \\boxed{18}.")
    assert extract_answer(a.step_b) != "18" and a.step_b.startswith("Step 2: She makes 9 * 2 = $")
