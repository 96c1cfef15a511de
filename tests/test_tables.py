"""The per-task tables of the summary and the report (paper Tables 4 and 5) on hand-built metrics and answers."""

from __future__ import annotations

from psrlm.report import arm_table, task_table
from schemas import (AnswerEvalRow, EvalMetrics, PairMetrics, RolloutMetrics, SearchEvalMetrics,
                     TaskSearchMetrics)
from schemas.table import write_jsonl
from stages.summary import dpo_outcome, summarize

TASKS = ["gsm8k", "aime24"]


def evaluation(accuracy: dict[str, float], steps: dict[str, float], chars: dict[str, float]) -> EvalMetrics:
    return EvalMetrics(accuracy=sum(accuracy.values()) / len(accuracy), tasks=accuracy, accuracy_stderr=0.0,
                       problems=10, judge_accuracy=0.5, judge_parse_failure_rate=0.0, judge_flip_rate=0.0,
                       judge_examples=4, mean_steps=3.0, mean_step_chars=20.0, task_mean_steps=steps,
                       task_mean_step_chars=chars)


def searched(task: str, search: float, greedy: float, n: int) -> TaskSearchMetrics:
    return TaskSearchMetrics(search_accuracy=search, greedy_accuracy=greedy, problems=n, mean_steps=2.0, rollbacks=0,
                             judgments=4, parse_failure_rate=0.0)


def test_the_summary_has_table_5_per_task():
    evals = {"m0": evaluation({"gsm8k": 0.2, "aime24": 0.0}, {"gsm8k": 4.0, "aime24": 9.5}, {"gsm8k": 30.0, "aime24": 81.0}),
             "m1": evaluation({"gsm8k": 0.6, "aime24": 0.1}, {"gsm8k": 3.0, "aime24": 7.0}, {"gsm8k": 40.0, "aime24": 95.0})}
    per_task = {"aime24": searched("aime24", 0.2, 0.1, 30), "gsm8k": searched("gsm8k", 0.7, 0.6, 100)}
    search = SearchEvalMetrics(search_accuracy=0.45, greedy_accuracy=0.35, problems=130, mean_steps=2.0, rollbacks=0,
                               judgments=8, parse_failure_rate=0.0, tasks=per_task)
    summary, md = summarize(evals, {}, {"m1": search}, TASKS)
    assert summary["m1"]["search_accuracy"] == 0.45 and summary["m1"]["search_greedy_accuracy"] == 0.35
    lines = md.splitlines()
    assert "| model | decoding | gsm8k (n=100) | aime24 (n=30) | avg |" in lines  # evaluate.tasks' order
    assert "| m1 | greedy | 0.600 | 0.100 | 0.350 |" in lines and "| m1 | search | 0.700 | 0.200 | 0.450 |" in lines
    assert "| m0 | greedy" not in md  # not searched


def test_the_summary_says_what_each_dpo_stage_kept():
    """Trained, copied below ``dpo.min_pairs``, or the parent kept by ``dpo.gate``: in summary.json and the table."""
    evals = {m: evaluation({"gsm8k": 0.5, "aime24": 0.5}, {"gsm8k": 3.0, "aime24": 3.0}, {"gsm8k": 9.0, "aime24": 9.0})
             for m in ("m1", "m2", "m3", "m4")}
    trained = {"m2": {"pairs": 200, "trained": True, "steps": 5},
               "m3": {"pairs": 90, "trained": False},
               "m4": {"pairs": 300, "trained": True, "gate": {"problems": 300, "parent_accuracy": 0.9,
                                                              "trained_accuracy": 0.8, "kept": "parent"}}}
    summary, md = summarize(evals, {}, {}, TASKS, trained)
    assert summary["m2"]["dpo"] == "trained" and summary["m3"]["dpo"] == "copied" and "dpo" not in summary["m1"]
    assert summary["m4"]["dpo"] == "parent"
    assert summary["m4"]["gate_parent_accuracy"] == 0.9 and summary["m4"]["gate_trained_accuracy"] == 0.8
    assert "copied (90 pairs < dpo.min_pairs)" in md and "parent kept (0.800 vs parent 0.900)" in md
    assert dpo_outcome({"pairs": 300, "trained": True, "gate": {"problems": 300, "parent_accuracy": 0.5,
                                                                "trained_accuracy": 0.6, "kept": "trained"}})[0]["dpo"] \
        == "trained"
    row, cell = dpo_outcome({"pairs": 300, "trained": True, "gate": {  # dpo.gate.epochs: each
        "problems": 300, "parent_accuracy": 0.5, "trained_accuracy": 0.6, "kept": "trained", "epoch": 2.0,
        "epoch_accuracy": {"1": 0.55, "2": 0.6, "3": 0.58}}})
    assert row["gate_epoch"] == 2.0 and cell == "trained kept (0.600 at epoch 2 vs parent 0.500)"


def test_the_report_has_steps_and_step_length_per_model_and_task(tmp_path):
    def answers(model: str, rows: list[tuple[str, str, bool]]):
        path = tmp_path / model / "answers.jsonl"
        path.parent.mkdir()
        write_jsonl(path, AnswerEvalRow, [{"task": t, "doc_id": i, "problem_id": f"{t}/{i}", "response": r,
                                           "answer": "1", "correct": c} for i, (t, r, c) in enumerate(rows)])
        return path

    files = [answers("m1", [("gsm8k", "Step 1: abcd\nStep 2: ab", True), ("aime24", "Step 1: abcdefgh", False),
                            ("gsm8k", "Step 1: abcdef", False)]),
             answers("m0", [("gsm8k", "Step 1: ab", True), ("aime24", "", False)])]
    frame = task_table(files, ["m0", "m1"], TASKS)
    rows = {(r["model"], r["task"]): r for r in frame.to_dicts()}
    assert [(r["model"], r["task"]) for r in frame.to_dicts()] == [("m0", "gsm8k"), ("m0", "aime24"),
                                                                  ("m1", "gsm8k"), ("m1", "aime24")]
    assert rows[("m1", "gsm8k")]["steps_per_solution"] == 1.5 and rows[("m1", "gsm8k")]["mean_step_chars"] == 4.0
    assert rows[("m1", "gsm8k")]["accuracy"] == 0.5 and rows[("m1", "aime24")]["mean_step_chars"] == 8.0
    assert rows[("m0", "aime24")]["steps_per_solution"] == 0.0  # an empty solution: no steps, still counted


def test_the_report_puts_both_arms_side_by_side_per_iteration(tmp_path):
    files = {}
    for model, acc in (("m1", {"gsm8k": 0.5}), ("m2", {"gsm8k": 0.75}), ("s2", {"gsm8k": 0.625})):
        files[model] = tmp_path / f"{model}.json"
        files[model].write_text(evaluation(acc, {"gsm8k": 2.0}, {"gsm8k": 10.0}).model_dump_json())
    files["m3"] = tmp_path / "m3.json"  # not evaluated: an empty cell, not an error
    rows = arm_table({"psrlm": ["m1", "m2", "m3"], "srlm": ["m1", "s2"]}, files).to_dicts()
    assert [(r["iteration"], r["psrlm_model"], r["psrlm_accuracy"], r["srlm_model"], r["srlm_accuracy"]) for r in rows] \
        == [(1, "m1", 0.5, "m1", 0.5), (2, "m2", 0.75, "s2", 0.625), (3, "m3", None, None, None)]
    off = arm_table({"psrlm": ["m1", "m2"], "srlm": []}, files).to_dicts()  # the arm off (the default)
    assert [r["srlm_accuracy"] for r in off] == [None, None] and off[1]["psrlm_accuracy"] == 0.75


def test_the_summary_shows_the_pairs_pairs_keep_kept():
    """``pairs.keep: proven``: the pairs trained on and their oracle-correct share, beside the decided rounds'."""
    evals = {m: evaluation({"gsm8k": 0.5, "aime24": 0.5}, {"gsm8k": 3.0, "aime24": 3.0}, {"gsm8k": 9.0, "aime24": 9.0})
             for m in ("m1", "m2")}
    rollout = RolloutMetrics(problems=400, pairs=136, rounds=995, tie_rate=0.4, rollbacks=10, judgments=1090,
                             parse_failures=40, parse_failure_rate=0.037, flip_rate=0.5, single_candidate_rate=0.7,
                             path_accuracy=0.6, mean_steps=2.0, correct_pairs=97, pair_correct_rate=0.713)
    kept = {"m2": PairMetrics(decided=136, pairs=115, keep="proven", decided_correct_rate=0.713,
                              pair_correct_rate=0.791)}
    summary, md = summarize(evals, {"m2": rollout}, {}, TASKS, {}, kept)
    assert summary["m2"]["pairs"] == 136 and summary["m2"]["pairs_kept"] == 115
    assert summary["m2"]["kept_pair_correct_rate"] == 0.791 and "pairs_kept" not in summary["m1"]
    assert "| 115 (136) | 0.791 (0.713) |" in md
    every = {"m2": kept["m2"].model_copy(update={"keep": "all", "pairs": 136, "pair_correct_rate": 0.713})}
    summary, md = summarize(evals, {"m2": rollout}, {}, TASKS, {}, every)
    assert "pairs_kept" not in summary["m2"] and "| 136 | 0.713 |" in md  # the paper's rule: one number
