"""Test-time search (paper Table 5): a model answers held-out problems with the same step-wise search
and self-judge as the rollouts, and its accuracy is reported beside greedy decoding on the same
problems.

    python -m stages.test_search m1

Writes the search's tables (as a rollout does) and ``metrics/eval/<model>-search.json``.
"""

from __future__ import annotations

import logging

from psrlm.params import Params, ParamsError
from psrlm.rollouts import rollout, rollout_stats
from psrlm.stage import run_stage
from schemas import AnswerEvalRow, Problem, SearchEvalMetrics
from schemas.table import read_jsonl, write_json

log = logging.getLogger("stages.test_search")


def main(params: Params, model: str) -> None:
    if model not in params.evaluate.search_models:
        raise ParamsError(f"test_search: '{model}' is not in evaluate.search_models {params.evaluate.search_models}")
    limit = params.evaluate.search_limit or params.evaluate.limit
    problems = read_jsonl(params.problems_file("test"), Problem)[:limit]
    greedy = {r.problem_id: r.correct for r in read_jsonl(params.answers_file(model), AnswerEvalRow)}
    missing = [p.id for p in problems if p.id not in greedy]
    if missing:
        raise ParamsError(f"test_search: greedy evaluation of {model} lacks {len(missing)} problems "
                          f"(e.g. {missing[0]}); evaluate.search_limit must not exceed evaluate.limit")
    out = params.test_search_dir(model)
    rollout(params, f"test-search {model}", params.model_dir(model), problems, out)
    stats = rollout_stats(out).row(0, named=True)
    metrics = SearchEvalMetrics(
        search_accuracy=stats["path_accuracy"], greedy_accuracy=sum(greedy[p.id] for p in problems) / len(problems),
        problems=stats["problems"], mean_steps=stats["mean_steps"], rollbacks=stats["rollbacks"],
        judgments=stats["judgments"], parse_failure_rate=stats["parse_failure_rate"])
    write_json(params.metrics_file("eval", f"{model}-search"), metrics.model_dump())
    log.info("%s: test-time search accuracy %.3f vs greedy %.3f on %d problems", model, metrics.search_accuracy,
             metrics.greedy_accuracy, metrics.problems)


if __name__ == "__main__":
    run_stage(main)
