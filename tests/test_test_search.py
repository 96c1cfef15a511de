"""Test-time search per task (paper Table 5) through the stage itself, on a tiny model (HF backend):
each task's problems are the ones greedy evaluation answered (benchmark ids, never the test split's),
one folder of search tables per task, per-task and mean rows; a context too small for the search's
prompts ends paths ``too_long``, counted in the metrics and the report, never a crash."""

from __future__ import annotations

import json

import pytest
import yaml

from psrlm.modeling import save_model
from psrlm.params import ParamsError, parse_params
from psrlm.prompts import chat_prompt, reasoning_prompt
from psrlm.report import iteration_table
from psrlm.rollouts import search_path
from psrlm.search import ProblemSearch, SearchProblem, Step
from schemas import AnswerEvalRow, Problem, Round, SearchEvalMetrics, SearchPath, TaskSearchMetrics
from schemas.table import read_parquet, write_jsonl
from stages import test_search as stage
from stages.test_search import summarize_search
from tests.conftest import ROOT, merge

# the bug of issue 12: the test split is MATH-500 while greedy answered math_full; search must take the
# problems of the tasks greedy answered
TEST_SPLIT = [{"id": f"math500/test/{i}.json", "source": "math500", "problem": f"What is {i} + 1?",
               "answer": str(i + 1)} for i in range(3)]
BENCH = {
    "math_full": [{"id": f"math/test/{i}.json", "source": "math", "problem": f"What is {i} times 2?",
                   "answer": str(2 * i)} for i in range(3)],
    "gsm8k": [{"id": f"gsm8k/test/{i}", "source": "gsm8k", "problem": f"Tom has {i} pens and buys 3. How many?",
               "answer": str(i + 3)} for i in range(3)],
}
GREEDY = {"math_full": [True, False, True], "gsm8k": [False, False, True]}  # what greedy evaluation got right


def project(tmp_path, tiny_lm, **changes) -> object:
    """A real-data configuration over hand-written problem files and a greedy evaluation of m1."""
    raw = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), {
        "paths": {k: str(tmp_path / k) for k in ("problems", "models", "eval", "metrics")},
        "prompts": {"style": "compact"},
        "problems": {"source": "real", "splits": {"pretrain": 0, "sft": 10, "search": 10, "test": 3},
                     "real": {"test": "math500", "eft": ["prmbench"]}},
        "model": {"base": "unused"},
        "sets": {"ift_problems": 5, "eft_train_problems": 5, "eft_test_problems": 2,
             "ift_operations": None, "ift_other_problems": 0,
             "ift_other_steps": None},  # real IFT keeps every problem, as the real profiles
        "generation": {"backend": "hf", "hf_batch_size": 8},
        "search": {"width": 2, "max_steps": 2, "max_step_tokens": 8, "max_in_flight": 8},
        "judge": {"max_tokens": 8},
        "grading": {"fallback": "none"},
        "pairs": {"keep": "all"},  # the paper's rule, as the real profiles ship (proven reads the toy judge)
        "iterations": {"m2": {"parent": "m1", "first_problem": 0, "num_problems": 5}},
        "srlm": {"iterations": {}, "eft": False},  # the step arm alone
        "dpo": {"gate": None},  # keep every model (the paper's), as the real profiles ship
        "evaluate": {"models": ["m0", "m1"], "search_models": ["m1"], "tasks": ["math_full", "gsm8k"], "limit": 3,
                     "search_limit": 2},
    })
    params = parse_params(merge(raw, changes))
    write_jsonl(params.problems_file("test"), Problem, TEST_SPLIT)
    answers = []
    for task, rows in BENCH.items():
        write_jsonl(params.task_problems_file(task), Problem, rows)
        answers += [{"task": task, "doc_id": i, "problem_id": r["id"], "response": "...", "answer": r["answer"],
                     "correct": right} for i, (r, right) in enumerate(zip(rows, GREEDY[task]))]
    write_jsonl(params.answers_file("m1"), AnswerEvalRow, answers)
    model, tokenizer = tiny_lm
    save_model(model, tokenizer, params.model_dir("m1"))
    return params


def searched(params) -> tuple[SearchEvalMetrics, dict[str, list[SearchPath]]]:
    metrics = SearchEvalMetrics.model_validate_json(params.metrics_file("eval", "m1-search").read_text())
    paths = {t: read_parquet(params.test_search_dir("m1", t) / "paths.parquet", SearchPath) for t in metrics.tasks}
    return metrics, paths


def test_search_answers_each_task_beside_greedy_on_the_same_problems(tmp_path, tiny_lm):
    params = project(tmp_path, tiny_lm)
    stage.main(params, "m1")
    metrics, paths = searched(params)
    assert set(metrics.tasks) == {"math_full", "gsm8k"}
    for task, t in metrics.tasks.items():
        assert [p.problem_id for p in paths[task]] == [r["id"] for r in BENCH[task][:2]]  # search_limit 2
        assert t.problems == 2 and t.greedy_accuracy == sum(GREEDY[task][:2]) / 2
        assert t.search_accuracy == sum(p.correct for p in paths[task]) / 2
        assert t.too_long == 0
    assert metrics.greedy_accuracy == (0.5 + 0.0) / 2  # the mean over tasks (Table 5's Avg)
    assert metrics.search_accuracy == sum(t.search_accuracy for t in metrics.tasks.values()) / 2
    assert metrics.problems == 4


def test_the_search_samples_at_evaluate_search_temperature(tmp_path, tiny_lm):
    """``evaluate.search_temperature: 0``: every candidate is the greedy step, so no round has two distinct
    candidates and nothing is judged; the rollouts' ``search.temperature`` (1.0) is not touched."""
    params = project(tmp_path, tiny_lm, evaluate={"search_temperature": 0.0})
    stage.main(params, "m1")
    metrics, _ = searched(params)
    rounds = [r for t in metrics.tasks for r in read_parquet(params.test_search_dir("m1", t) / "rounds.parquet",
                                                             Round)]
    assert rounds and {r.outcome for r in rounds} == {"single"} and metrics.judgments == 0
    assert params.search.temperature == 1.0


def test_search_past_what_greedy_answered_fails_naming_the_task(tmp_path, tiny_lm):
    params = project(tmp_path, tiny_lm, evaluate={"search_limit": 3})
    rows = [r for r in json.loads("[" + ",".join(params.answers_file("m1").read_text().split()) + "]")
            if r["problem_id"] != "gsm8k/test/2"]
    write_jsonl(params.answers_file("m1"), AnswerEvalRow, rows)
    with pytest.raises(ParamsError, match="on gsm8k lacks 1 of its 3 problems .*gsm8k/test/2"):
        stage.main(params, "m1")


def test_prompts_past_max_model_len_end_paths_too_long_counted_in_metrics_and_report(tmp_path, tiny_lm):
    """Room for the first reasoning prompt and its step only: the judge prompt (question + two steps) or
    the next reasoning prompt does not fit, so paths end ``too_long`` with the steps they had."""
    _, tokenizer = tiny_lm
    first = max(len(tokenizer(chat_prompt(tokenizer, reasoning_prompt(r["problem"], "compact")))["input_ids"])
                for rows in BENCH.values() for r in rows)
    limit = max(first + 8, 64)  # + max_step_tokens; 64: the least max_model_len params accept
    params = project(tmp_path, tiny_lm, generation={"vllm": {"max_model_len": limit}})
    stage.main(params, "m1")
    metrics, paths = searched(params)
    too_long = {t: sum(p.stop_reason == "too_long" for p in ps) for t, ps in paths.items()}
    assert sum(too_long.values()) >= 1 and metrics.too_long == sum(too_long.values())
    assert {t: m.too_long for t, m in metrics.tasks.items()} == too_long
    assert all(p.stop_reason in ("too_long", "answer", "eos") for ps in paths.values() for p in ps)
    report = iteration_table(params.test_search_dir("m1"), list(paths))  # the report's per-rollout rows
    assert dict(zip(report["iteration"], report["too_long"])) == too_long


def test_the_mean_row_averages_tasks_and_pools_counts():
    a = TaskSearchMetrics(search_accuracy=1.0, greedy_accuracy=0.5, problems=30, mean_steps=2.0, rollbacks=1,
                          judgments=10, parse_failure_rate=0.5, too_long=2)
    b = TaskSearchMetrics(search_accuracy=0.0, greedy_accuracy=0.25, problems=10, mean_steps=6.0, rollbacks=0,
                          judgments=30, parse_failure_rate=0.0, too_long=0)
    m = summarize_search({"aime24": a, "amc23": b})
    assert (m.search_accuracy, m.greedy_accuracy) == (0.5, 0.375)  # the paper's Avg: one vote per benchmark
    assert (m.problems, m.judgments, m.rollbacks, m.too_long) == (40, 40, 1, 2)
    assert m.mean_steps == 3.0 and m.parse_failure_rate == 0.125
    assert set(m.tasks) == {"aime24", "amc23"}


def test_search_paths_are_graded_by_the_rule_greedy_uses():
    state = ProblemSearch(SearchProblem(id="p", question="q", gold="5", prompt=""), cfg=None, orders="both")
    state.steps = [Step(text="Step 1: 2 + 3 = 5.", round=0, final=True, finish_reason="eos")]
    state.stop_reason = "eos"
    assert not search_path(state, "none").correct  # METHOD.md: no box, no answer
    assert search_path(state, "last_number").correct and search_path(state, "last_number").answer == "5"
