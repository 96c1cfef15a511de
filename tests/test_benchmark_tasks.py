"""The seven math benchmark tasks, as lm-eval itself builds them offline, score hand-made outputs.

No mocks: the tasks come from lm-eval's TaskManager over ``psrlm/lm_eval_tasks`` (through the
``psrlm_math`` tag), their documents from the real files, and each output is scored by the task's
own ``process_results``. Reads ../shared/data (skipped without it)."""

import json

import pytest

from psrlm.evaluation import TASKS, task_config
from psrlm.real.benchmarks import DEFAULT_DATA_ROOT

pytestmark = pytest.mark.skipif(not (DEFAULT_DATA_ROOT / "README.md").exists(),
                                reason=f"no offline data at {DEFAULT_DATA_ROOT}")

SIZES = {"psrlm_gsm8k": 1319, "psrlm_math_full": 5000, "psrlm_math500": 500, "psrlm_gaokao2023en": 385,
         "psrlm_olympiadbench": 675, "psrlm_aime24": 30, "psrlm_amc23": 40}

# task -> [(doc id, model output, right?)]: right answers in other equivalent forms, wrong ones, and
# outputs without a box (wrong under the paper's rule, whatever their last number) or without any answer.
OUTPUTS = {
    "psrlm_gsm8k": [
        ("gsm8k/test/0", "Step 1: 16 - 3 - 4 = 9 eggs.\nStep 2: 9 * 2 = 18. The answer is \\boxed{18}.", True),
        ("gsm8k/test/1", "Step 1: 2 / 2 = 1.\nStep 2: 2 + 1 = 3. The answer is \\boxed{3.0}.", True),
        ("gsm8k/test/2", "Step 1: The profit is 70,000 dollars.", False),  # no box: the right number, no answer
        ("gsm8k/test/3", "Step 1: 3 * 60 = 180.\nStep 2: The answer is \\boxed{180}.", False),
        ("gsm8k/test/4", "Step 1: I cannot tell.", False),  # no box, no number
    ],
    "psrlm_math_full": [
        ("math/test/algebra/1.json", "Step 1: The denominator has two roots. The answer is \\boxed{2}.", True),
        ("math/test/algebra/2.json", "Step 1: So the answer is \\boxed{0.5}.", True),  # gold \frac{1}{2}
        ("math/test/algebra/13.json", "Step 1: The point is \\boxed{(-6,10)}.", True),
        ("math/test/algebra/6.json", "Step 1: Hence \\boxed{-5}.", False),
        ("math/test/algebra/10.json", "Step 1: It is $\\frac{20}{2}$, I think", False),  # no box
    ],
    "psrlm_math500": [
        ("math500/test/precalculus/807.json", "Step 1: $r = 3$, $\\theta = \\pi/2$: \\boxed{(3, \\pi/2)}.", True),
        ("math500/test/algebra/2584.json", "Step 1: \\boxed{\\dfrac{14}{3}}", True),
        ("math500/test/algebra/1349.json", "Step 1: The fastest is \\boxed{Evelyn}.", True),  # gold \text{Evelyn}
        ("math500/test/precalculus/927.json", "Step 1: The angle is \\boxed{90}.", True),  # gold 90^\circ
        ("math500/test/intermediate_algebra/1994.json", "Step 1: \\boxed{q - p}", False),  # gold p - q
    ],
    "psrlm_gaokao2023en": [
        ("gaokao2023en/1", "Step 1: \\boxed{-\\sqrt{3}-1}", True),
        ("gaokao2023en/5", "Step 1: \\boxed{\\pi/3}", True),
        ("gaokao2023en/8", "Step 1: The terms are \\boxed{48, 384}.", True),
        ("gaokao2023en/3", "Step 1: \\boxed{81}", False),
        ("gaokao2023en/2", "Step 1: no idea", False),
    ],
    "psrlm_olympiadbench": [
        ("olympiadbench/1606", "Step 1: Two moves suffice. The answer is \\boxed{2}.", True),
        ("olympiadbench/1610", "Step 1: \\boxed{\\frac{1}{2(n+1)}}", True),
        ("olympiadbench/1618", "Step 1: \\boxed{(4,5,7), (1,8,19), (2,7,13)}", True),  # any order
        ("olympiadbench/1612", "Step 1: \\boxed{2^{1008}}", False),
        ("olympiadbench/1614", "Step 1: \\boxed{n-1}", False),  # gold 2n-2
    ],
    "psrlm_aime24": [
        ("aime24/60", "Step 1: The walk takes \\boxed{204} minutes.", True),
        ("aime24/67", "Step 1: \\boxed{025}", True),  # gold 025 -> 25
        ("aime24/61", "Step 1: \\boxed{112}", False),
        ("aime24/62", "Step 1: so m + n = 371", False),  # no box: the right number, no answer
        ("aime24/63", "Step 1: I give up.", False),
    ],
    "psrlm_amc23": [
        ("amc23/0", "Step 1: They meet after 1.5 hours, \\boxed{27} miles from A.", True),
        ("amc23/1", "Step 1: \\boxed{36.0}", True),
        ("amc23/2", "Step 1: \\boxed{44}", False),
        ("amc23/3", "Step 1: \\boxed{3,159}", True),
        ("amc23/4", "", False),
    ],
}


def flatten(task_dict: dict) -> dict:
    out = {}
    for name, value in task_dict.items():
        out.update(flatten(value) if isinstance(value, dict) else {getattr(name, "group_name", name): value})
    return out


@pytest.fixture(scope="module")
def manager():
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS), include_defaults=False)  # offline: no built-in index


@pytest.fixture(scope="module")
def tasks(manager):
    from lm_eval.tasks import get_task_dict

    return {task.config.task: task for task in flatten(get_task_dict(["psrlm_math"], manager)).values()}


def test_the_tag_covers_all_seven_benchmarks(tasks):
    assert set(tasks) == set(SIZES)


@pytest.mark.parametrize("name", list(SIZES))
def test_task_config_follows_the_paper(tasks, name):
    task = tasks[name]
    assert len(task.test_docs()) == SIZES[name]
    gen = task.config.generation_kwargs
    assert gen["max_gen_toks"] == 2048 and gen["do_sample"] is False and gen["temperature"] == 0.0
    assert task.config.num_fewshot == 0
    doc = task.test_docs()[0]
    prompt = task.doc_to_text(doc)
    assert 'Begin each step with "Step n: "' in prompt and prompt.endswith(doc["problem"].strip())


@pytest.mark.parametrize("name", list(OUTPUTS))
def test_process_results_scores_hand_made_outputs(tasks, name):
    task = tasks[name]
    docs = {d["id"]: d for d in task.test_docs()}
    scores = [task.process_results(docs[doc_id], [output])["exact_match"] for doc_id, output, _ in OUTPUTS[name]]
    assert scores == [float(right) for _, _, right in OUTPUTS[name]]
    expected = sum(right for *_, right in OUTPUTS[name]) / len(OUTPUTS[name])
    assert sum(scores) / len(scores) == pytest.approx(expected)


def test_the_evaluate_stage_binds_the_grading_rule(manager):
    """Unbound, a benchmark task grades by METHOD.md's rule (the last box); ``task_config`` binds the
    pipeline's ``grading.fallback``, the rule test-time search grades its paths by too."""
    from lm_eval.tasks import get_task_dict

    unboxed = {"psrlm_gsm8k": "gsm8k/test/2", "psrlm_aime24": "aime24/62"}  # right last number, no box
    for name, doc_id in unboxed.items():
        output = next(o for d, o, _ in OUTPUTS[name] if d == doc_id)
        task_name = name.removeprefix("psrlm_")
        for fallback, right in (("none", 0.0), ("last_number", 1.0)):
            cfg = task_config(task_name, DEFAULT_DATA_ROOT / "unused.jsonl", "paper", fallback)
            cfg["dataset_kwargs"] = {"data_root": str(DEFAULT_DATA_ROOT)}
            (task,) = flatten(get_task_dict([cfg], manager)).values()
            doc = next(d for d in task.test_docs() if d["id"] == doc_id)
            assert task.process_results(doc, [output]) == {"exact_match": right}, (name, fallback)


def test_the_evaluate_stage_binds_a_problems_file(tmp_path, manager):
    """``psrlm.evaluation.task_config`` points data_files at a problems file and binds the prompt style."""
    from lm_eval.tasks import get_task_dict

    rows = [{"id": f"p{i}", "source": "gsm8k", "problem": f"What is {i} + {i}?", "answer": str(2 * i)}
            for i in range(3)]
    test_file = tmp_path / "test.jsonl"
    test_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = task_config("gsm8k", test_file, "compact")
    (task,) = flatten(get_task_dict([cfg], manager)).values()
    assert [d["id"] for d in task.test_docs()] == ["p0", "p1", "p2"]
    assert task.process_results(task.test_docs()[2], ["Step 1: 2 + 2 = 4. \\boxed{4}"]) == {"exact_match": 1.0}


def test_the_data_root_comes_from_the_environment(tmp_path, monkeypatch, manager):
    from lm_eval.tasks import get_task_dict

    (tmp_path / "aime24").mkdir()
    (tmp_path / "aime24" / "test.jsonl").write_text(json.dumps({"id": 1, "problem": "p", "answer": "007"}) + "\n")
    monkeypatch.setenv("PSRLM_DATA_ROOT", str(tmp_path))
    (task,) = flatten(get_task_dict(["psrlm_aime24"], manager)).values()
    assert [(d["id"], d["answer"]) for d in task.test_docs()] == [("aime24/1", "7")]



def test_the_toy_task_reads_its_data_path_from_params(tmp_path, monkeypatch, manager):
    """``psrlm_toy_arith`` names no file of its own: unbound, it reads the test split under params.yaml's
    ``paths.problems``; the evaluate stage binds that same file (``Params.problems_file``)."""
    from pathlib import Path

    import yaml
    from lm_eval.tasks import get_task_dict

    root = Path(__file__).resolve().parents[1]
    assert "data/problems" not in (TASKS / "toy_arith" / "toy_arith.yaml").read_text()
    raw = yaml.safe_load((root / "params.yaml").read_text())
    raw["paths"]["problems"] = "elsewhere/problems"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    rows = [{"id": f"t{i}", "source": "toy", "problem": f"What is {i} + 1?", "answer": str(i + 1)} for i in range(2)]
    (tmp_path / "elsewhere" / "problems").mkdir(parents=True)
    (tmp_path / "elsewhere" / "problems" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.chdir(tmp_path)
    (task,) = flatten(get_task_dict(["psrlm_toy_arith"], manager)).values()
    assert [d["id"] for d in task.test_docs()] == ["t0", "t1"]
    assert task.process_results(task.test_docs()[1], ["Step 1: 1 + 1 = 2. \\boxed{2}"]) == {"exact_match": 1.0}
    (bound,) = flatten(get_task_dict([task_config("toy_arith", tmp_path / "elsewhere/problems/test.jsonl", "compact")],
                                     manager)).values()
    assert [d["id"] for d in bound.test_docs()] == ["t0", "t1"]
