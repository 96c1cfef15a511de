"""Evaluation of one model: answer accuracy on the held-out problems of each task (lm-eval, the
project's tasks; graded by ``grading.fallback``) and judge accuracy on the held-out EFT pairs (M0 with
``evaluate.m0_judge_shots`` worked EFT train examples first: paper Table 3).

    python -m stages.evaluate m1
"""

from __future__ import annotations

import logging

from psrlm.evaluation import answer_accuracy, judge_accuracy, judge_shots
from psrlm.generation import open_generator
from psrlm.params import Params, ParamsError
from psrlm.stage import run_stage
from schemas import AnswerEvalRow, EFTRecord, EvalMetrics, JudgeEvalRow
from schemas.table import atomic_dir, read_parquet, write_json, write_jsonl, write_parquet

log = logging.getLogger("stages.evaluate")


def accuracy_by_source(records: list[EFTRecord], judged: list[JudgeEvalRow]) -> dict[str, float]:
    """Held-out judge accuracy per source of the EFT pairs (``EFTRecord.source``: gsm8k and prmbench on
    real data, toy in the toy world)."""
    correct = {row.id: row.correct for row in judged}
    by_source: dict[str, list[bool]] = {}
    for r in records:
        by_source.setdefault(r.source, []).append(correct[r.id])
    return {source: sum(v) / len(v) for source, v in sorted(by_source.items())}


def summarize_tasks(per_task: dict[str, dict]) -> dict:
    """One model's answer metrics: accuracy = mean over tasks (the paper's Avg); steps and step length
    over every solution, and per task (paper Table 4)."""
    n = sum(s["problems"] for s in per_task.values())
    mean = sum(s["accuracy"] for s in per_task.values()) / len(per_task)
    only = next(iter(per_task.values())) if len(per_task) == 1 else None
    return {
        "accuracy": mean,
        "tasks": {t: s["accuracy"] for t, s in per_task.items()},
        "accuracy_stderr": only["accuracy_stderr"] if only else (mean * (1 - mean) / max(n - 1, 1)) ** 0.5,
        "problems": n,
        "mean_steps": sum(s["mean_steps"] * s["problems"] for s in per_task.values()) / n,
        "mean_step_chars": sum(s["mean_step_chars"] * s["problems"] for s in per_task.values()) / n,
        "task_mean_steps": {t: s["mean_steps"] for t, s in per_task.items()},
        "task_mean_step_chars": {t: s["mean_step_chars"] for t, s in per_task.items()},
    }


def main(params: Params, model: str) -> None:
    if model not in params.evaluate.models and not params.solution_level(model):
        raise ParamsError(f"evaluate: '{model}' is not in evaluate.models {params.evaluate.models} "
                          f"or srlm.iterations {sorted(params.srlm.iterations)}")
    cfg = params.evaluate
    generator = open_generator(params.model_dir(model), params.generation, seed=params.seed, backend=cfg.backend)
    per_task, samples = {}, []
    for task in cfg.tasks:
        scores, rows = answer_accuracy(generator, model, task, params.task_problems_file(task), params.prompts.style,
                                       cfg.max_gen_tokens, cfg.limit, params.seed, params.grading.fallback)
        per_task[task] = scores
        samples += [r | {"task": task} for r in rows]
        log.info("%s on %s: accuracy %.3f (%d problems)", model, task, scores["accuracy"], scores["problems"])
    answers = summarize_tasks(per_task)
    eft = read_parquet(params.set_file("eft_test"), EFTRecord)
    if cfg.limit:
        eft = eft[: 2 * cfg.limit]
    shots = (judge_shots(read_parquet(params.set_file("eft_train"), EFTRecord), cfg.m0_judge_shots, params.seed)
             if model == "m0" and cfg.m0_judge_shots else [])
    judged, judge = judge_accuracy(generator, eft, params.prompts.style, params.judge, shots,
                                   params.generation.vllm.max_model_len)
    generator.close()
    out = params.eval_dir(model)
    with atomic_dir(out) as tmp:
        write_jsonl(tmp / params.answers_file(model).name, AnswerEvalRow, samples)
        write_parquet(tmp / params.judged_file(model).name, JudgeEvalRow, judged)
    metrics = EvalMetrics(**answers, **judge, judge_accuracy_by_source=accuracy_by_source(eft, judged))
    write_json(params.metrics_file("eval", model), metrics.model_dump())
    log.info("%s: accuracy %.3f, judge accuracy %.3f (%d-shot)", model, metrics.accuracy, metrics.judge_accuracy,
             metrics.judge_shots)
    if metrics.judge_too_long:
        log.warning("%s: %d held-out EFT prompts would not fit generation.vllm.max_model_len: counted wrong", model,
                    metrics.judge_too_long)


if __name__ == "__main__":
    run_stage(main)
