"""The pair analytics report over every iteration and every model.

    python -m stages.report

Writes ``report/report.md`` with PNG plots beside it, ``models.csv`` / ``iterations.csv`` that
``dvc plots show`` and ``dvc plots diff`` draw (declared under ``plots`` in dvc.yaml), and
``tasks.csv`` (per model and task: paper Table 4 per benchmark), ``arms.csv`` and ``arms.png`` (greedy and judge
accuracy per iteration along the step arm and, when ``srlm.iterations`` names it, the SRLM arm).
"""

from __future__ import annotations

import logging

from psrlm.params import Params
from psrlm.report import (arm_table, error_table, iteration_table, margin_table, markdown, model_table, plot_arms,
                          plot_iterations, plot_models, task_table)
from psrlm.stage import run_stage
from schemas.table import atomic_dir

log = logging.getLogger("stages.report")


def main(params: Params) -> None:
    models = params.evaluate.models
    iterations = list(params.iterations)
    model_frame = model_table([params.metrics_file("eval", m) for m in models],
                              [params.answers_file(m) for m in models], models)
    tasks = task_table([params.answers_file(m) for m in models], models, params.evaluate.tasks)
    its = iteration_table(params.rollout_dir(iterations[0]).parent, iterations)
    margins = margin_table([params.pairs_file(i) for i in iterations])
    errors = error_table(params.rollout_dir(iterations[0]).parent, iterations)
    chains = {"psrlm": ["m1", *iterations], "srlm": ["m1", *params.srlm.iterations] if params.srlm.iterations else []}
    arms = arm_table(chains, {m: params.metrics_file("eval", m) for chain in chains.values() for m in chain})
    out = params.report_dir()
    with atomic_dir(out) as tmp:
        tmp.mkdir(parents=True)
        model_frame.write_csv(tmp / "models.csv")
        tasks.write_csv(tmp / "tasks.csv")
        its.write_csv(tmp / "iterations.csv")
        margins.write_csv(tmp / "margins.csv")
        errors.write_csv(tmp / "errors.csv")
        plot_models(model_frame, tmp / "models.png")
        arms.write_csv(tmp / "arms.csv")
        plot_iterations(its, margins, tmp / "iterations.png")
        plot_arms(arms, tmp / "arms.png")
        (tmp / "report.md").write_text(markdown(model_frame, its, margins, errors, tasks, arms), encoding="utf-8")
    log.info("report -> %s", out / "report.md")


if __name__ == "__main__":
    run_stage(main)
