"""Test-time search (paper Table 5): a model answers the held-out problems of every task of
``evaluate.tasks`` (the toy test split, or each benchmark) with the same step-wise search and self-judge
as the rollouts (sampling at ``evaluate.search_temperature`` / ``search_top_p`` where set), and its
accuracy is reported per task and as their mean, beside greedy decoding on the same problems (the
model's evaluation), graded by the same rule (``grading.fallback``).

    python -m stages.test_search m1

Writes the search's tables (as a rollout does), one folder per task (``<model>-search/<task>/``), and
``metrics/eval/<model>-search.json``. One engine searches every task's problems together.
"""

from __future__ import annotations

import logging

from psrlm.params import Params, ParamsError
from psrlm.rollouts import rollout, rollout_stats
from psrlm.stage import run_stage
from schemas import AnswerEvalRow, Problem, SearchEvalMetrics, TaskSearchMetrics
from schemas.table import read_jsonl, write_json

log = logging.getLogger("stages.test_search")


def search_problems(params: Params, model: str, greedy: dict[tuple[str, str], bool]) -> dict[str, list[Problem]]:
    """Per task, the problems to search: the first ``evaluate.search_limit`` (else ``evaluate.limit``) of
    the task's problems, the file greedy evaluation read; each must have a greedy answer."""
    limit = params.evaluate.search_limit or params.evaluate.limit
    out, seen = {}, {}
    for task in params.evaluate.tasks:
        problems = read_jsonl(params.task_problems_file(task), Problem)[:limit]
        missing = [p.id for p in problems if (task, p.id) not in greedy]
        if missing:
            raise ParamsError(f"test_search: greedy evaluation of {model} on {task} lacks {len(missing)} of its "
                              f"{len(problems)} problems (e.g. {missing[0]}); evaluate.search_limit must not "
                              "exceed evaluate.limit")
        for p in problems:
            if p.id in seen:
                raise ParamsError(f"test_search: problem {p.id} is in both {seen[p.id]} and {task}")
            seen[p.id] = task
        out[task] = problems
    return out


def task_metrics(stats: dict, greedy: list[bool]) -> TaskSearchMetrics:
    """One task's search (a row of ``queries/rollout_metrics.sql``) beside greedy on the same problems."""
    return TaskSearchMetrics(
        search_accuracy=stats["path_accuracy"], greedy_accuracy=sum(greedy) / len(greedy), problems=stats["problems"],
        mean_steps=stats["mean_steps"], rollbacks=stats["rollbacks"], judgments=stats["judgments"],
        parse_failure_rate=stats["parse_failure_rate"], too_long=stats["too_long"])


def summarize_search(per_task: dict[str, TaskSearchMetrics]) -> SearchEvalMetrics:
    """Over the tasks: accuracies are means over tasks (the paper's Avg), counts sums, mean_steps and the
    parse-failure rate over every path and judgment."""
    tasks = per_task.values()
    problems, judgments = sum(t.problems for t in tasks), sum(t.judgments for t in tasks)
    return SearchEvalMetrics(
        search_accuracy=sum(t.search_accuracy for t in tasks) / len(tasks),
        greedy_accuracy=sum(t.greedy_accuracy for t in tasks) / len(tasks),
        problems=problems,
        mean_steps=sum(t.mean_steps * t.problems for t in tasks) / problems if problems else 0.0,
        rollbacks=sum(t.rollbacks for t in tasks), judgments=judgments,
        parse_failure_rate=sum(t.parse_failure_rate * t.judgments for t in tasks) / judgments if judgments else 0.0,
        too_long=sum(t.too_long for t in tasks), tasks=dict(per_task))


def main(params: Params, model: str) -> None:
    if model not in params.evaluate.search_models:
        raise ParamsError(f"test_search: '{model}' is not in evaluate.search_models {params.evaluate.search_models}")
    greedy = {(r.task, r.problem_id): r.correct for r in read_jsonl(params.answers_file(model), AnswerEvalRow)}
    by_task = search_problems(params, model, greedy)
    groups = {p.id: task for task, problems in by_task.items() for p in problems}
    rollout(params.answering(), f"test-search {model}", params.model_dir(model),
            [p for ps in by_task.values() for p in ps], params.test_search_dir(model), groups)
    per_task = {task: task_metrics(rollout_stats(params.test_search_dir(model, task)).row(0, named=True),
                                   [greedy[(task, p.id)] for p in problems])
                for task, problems in by_task.items()}
    metrics = summarize_search(per_task)
    write_json(params.metrics_file("eval", f"{model}-search"), metrics.model_dump())
    for task, t in per_task.items():
        log.info("%s on %s: test-time search accuracy %.3f vs greedy %.3f on %d problems", model, task,
                 t.search_accuracy, t.greedy_accuracy, t.problems)
    log.info("%s: test-time search accuracy %.3f vs greedy %.3f (mean over %d tasks)", model,
             metrics.search_accuracy, metrics.greedy_accuracy, len(per_task))


if __name__ == "__main__":
    run_stage(main)
