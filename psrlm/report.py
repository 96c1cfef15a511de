"""The pair analytics report: DuckDB queries (``queries/report_*.sql``) over every iteration's Parquet,
Polars for shaping, matplotlib for the plots, Markdown for people and CSV for ``dvc plots``.

What it reads the runs through is what the paper reads them through: pairs per iteration, tie rate,
chosen-minus-rejected score margins, the judge's position flip rate, parse failures, rollbacks, steps
per solution and mean step length per model and per task (Table 4), accuracy and judge accuracy per model.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from psrlm.analytics import query
from psrlm.params import rollout_table
from schemas.rollout import ROLLOUT_TABLES


def model_table(metrics: list[Path], answers: list[Path], order: list[str]) -> pl.DataFrame:
    frame = query("report_models", metrics=metrics, answers=answers)
    rank = {m: i for i, m in enumerate(order)}
    return (frame.with_columns(pl.col("model").replace_strict(rank, return_dtype=pl.Int64).alias("generation"))
            .sort("generation"))


def task_table(answers: list[Path], order: list[str], tasks: list[str]) -> pl.DataFrame:
    """Per model and task (Table 4 per benchmark): accuracy, steps per solution, mean step length."""
    frame = query("report_tasks", answers=answers)
    model_rank, task_rank = {m: i for i, m in enumerate(order)}, {t: i for i, t in enumerate(tasks)}
    return (frame.with_columns(pl.col("model").replace_strict(model_rank, return_dtype=pl.Int64).alias("generation"),
                               pl.col("task").replace_strict(task_rank, return_dtype=pl.Int64).alias("_task"))
            .sort("generation", "_task").drop("_task"))


def iteration_table(rollouts: Path, order: list[str]) -> pl.DataFrame:
    frame = query("report_iterations", **{t: str(rollout_table(rollouts / "*", t)) for t in ROLLOUT_TABLES})
    frame = frame.filter(pl.col("iteration").is_in(order))
    rank = {m: i for i, m in enumerate(order)}
    return frame.with_columns(pl.col("iteration").replace_strict(rank, return_dtype=pl.Int64).alias("index")).sort("index")


def error_table(rollouts: Path, order: list[str]) -> pl.DataFrame:
    """Per iteration, the wrong steps the search sampled by kind (toy oracle); empty without an oracle."""
    frame = query("report_errors", candidates=str(rollout_table(rollouts / "*", "candidates")))
    return frame.filter(pl.col("iteration").is_in(order))


def margin_table(pairs: list[Path]) -> pl.DataFrame:
    """Score margins of the pairs files (one per iteration) that exist."""
    files = sorted(str(p) for p in pairs if p.is_file())
    if not files:
        return pl.DataFrame(schema={"iteration": pl.String, "margin": pl.Float64, "pairs": pl.Int64})
    return query("report_margins", pairs=files)


def arm_table(chains: dict[str, list[str]], metrics: dict[str, Path]) -> pl.DataFrame:
    """Greedy accuracy and judge accuracy (held-out EFT) along each arm's chain of models, one row per
    iteration (1 = M1, the start of both arms): ``psrlm_*`` for the step arm, ``srlm_*`` for the solution
    arm, empty where an arm has no model (or it was not evaluated). ``metrics``: model -> eval metrics file."""
    import json

    from schemas import EvalMetrics

    rows: dict[int, dict] = {}
    for arm, chain in chains.items():
        for i, model in enumerate(chain, start=1):
            row = rows.setdefault(i, {"iteration": i})
            path = metrics.get(model)
            m = (EvalMetrics.model_validate(json.loads(path.read_text(encoding="utf-8")))
                 if path is not None and path.is_file() else None)
            row[f"{arm}_model"] = model
            row[f"{arm}_accuracy"] = m.accuracy if m else None
            row[f"{arm}_judge_accuracy"] = m.judge_accuracy if m else None
    schema = {"iteration": pl.Int64} | {f"{arm}_{c}": (pl.String if c == "model" else pl.Float64)
                                        for arm in ("psrlm", "srlm") for c in ("model", "accuracy", "judge_accuracy")}
    return pl.DataFrame([rows[i] for i in sorted(rows)], schema=schema)


def plot_arms(arms: pl.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    x = arms["iteration"].to_list()
    for arm, color in (("psrlm", "tab:blue"), ("srlm", "tab:orange")):
        if arms[f"{arm}_accuracy"].null_count() < arms.height:
            ax.plot(x, arms[f"{arm}_accuracy"], "o-", color=color, label=f"{arm.upper()} accuracy")
            ax.plot(x, arms[f"{arm}_judge_accuracy"], "s:", color=color, alpha=0.6,
                    label=f"{arm.upper()} judge accuracy (EFT test)")
    ax.set_xticks(x, [f"M{i}" if i == 1 else str(i) for i in x])
    ax.set_xlabel("iteration (M1 starts both arms)")
    ax.set_ylim(0, 1)
    ax.set_title("Step-level (PSRLM) vs solution-level (SRLM) self-rewarding")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_models(models: pl.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    x = models["model"].to_list()
    ax1.plot(x, models["accuracy"], "o-", label="answer accuracy (held-out)")
    ax1.plot(x, models["judge_accuracy"], "s-", label="judge accuracy (EFT test)")
    ax1.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax1.set_ylim(0, 1)
    ax1.set_title("Accuracy per model")
    ax1.legend(fontsize=8)
    ax2.bar(x, models["steps_per_solution"], color="tab:green", alpha=0.7)
    ax2.set_ylabel("steps per solution")
    twin = ax2.twinx()
    twin.plot(x, models["mean_step_chars"], "o-", color="tab:purple")
    twin.set_ylabel("mean step length (chars)", color="tab:purple")
    ax2.set_title("Solutions per model (paper Table 4)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_iterations(its: pl.DataFrame, margins: pl.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(13, 3.8))
    x = its["iteration"].to_list()
    ax1.bar(x, its["pairs"], color="tab:blue")
    ax1.set_title("Preference pairs per iteration")
    for name, style in (("tie_rate", "o-"), ("flip_rate", "s-"), ("first_position_wins", "^-"), ("path_accuracy", "d-")):
        ax2.plot(x, its[name].fill_null(0.0), style, label=name.replace("_", " "))
    for name, style in (("judge_accuracy_wild", "*-"), ("pair_correct_rate", "x-")):
        if its[name].null_count() < its.height:  # toy world: the oracle's view
            ax2.plot(x, its[name], style, label=name.replace("_", " "))
    ax2.set_ylim(0, 1)
    ax2.set_title("Self-judge during the search")
    ax2.legend(fontsize=8)
    for it in x:
        m = margins.filter(pl.col("iteration") == it)
        if m.height:
            ax3.plot(m["margin"], m["pairs"], "o-", label=it)
    ax3.set_xlabel("chosen wins - rejected wins")
    ax3.set_ylabel("pairs")
    ax3.set_title("Score margins of the pairs")
    if margins.height:
        ax3.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(models: pl.DataFrame, its: pl.DataFrame, margins: pl.DataFrame, errors: pl.DataFrame | None = None,
             tasks: pl.DataFrame | None = None, arms: pl.DataFrame | None = None) -> str:
    def table(frame: pl.DataFrame) -> str:
        cols = frame.columns
        rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in frame.iter_rows():
            rows.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r) + " |")
        return "\n".join(rows)

    error_pivot = (errors.pivot(on="iteration", index="kind", values="steps").fill_null(0)
                   if errors is not None and errors.height else None)
    margin_pivot = (margins.pivot(on="margin", index="iteration", values="pairs", sort_columns=True).fill_null(0)
                    if margins.height else margins)
    return "\n\n".join([
        "# Pair analytics report",
        "## Per model\nAccuracy on the held-out problems (greedy), judge accuracy on the held-out EFT pairs, "
        "and the shape of the greedy solutions (steps per solution, mean step length in characters).",
        table(models.drop("generation")),
        "![per model](models.png)",
        "## Per model and task (paper Table 4, per benchmark)\nAccuracy, steps per solution and mean step length "
        "(characters) of each model's greedy solutions to each task's held-out problems.",
        table(tasks.drop("generation")) if tasks is not None and tasks.height else "no tasks",
        "## Per iteration\nThe rollout whose pairs trained that model (M2's pairs come from M1's search). "
        "tie_rate: share of judged rounds where best and worst scored equal; flip_rate: share of candidate "
        "pairs judged in both orders whose verdict changes with the order; first_position_wins: share of "
        "parsed verdicts naming Assistant A (0.5 = no position bias); mean_margin: chosen minus rejected wins; "
        "too_long: paths ended because their next prompt would not fit the model's context "
        "(generation.vllm.max_model_len). "
        "Toy world (the oracle knows each step): judge_accuracy_wild: the judge on the search's own comparisons of "
        "a right and a wrong step (parse failures count as wrong); pair_correct_rate: kept pairs whose chosen "
        "step is right and rejected step wrong.",
        table(its.drop("index")),
        "![per iteration](iterations.png)",
        "## Wrong steps the search sampled, by kind (toy oracle; distinct candidates)\n"
        "What EFT's corruptions should look like: `arithmetic` (result off), `previous_value` (a wrong carried-over "
        "value), `answer_mismatch` (boxed answer differs from the result), `event` (wrong, skipped or repeated "
        "event), `final` (answers early or not at the end), `extra`, `format`.",
        table(error_pivot) if error_pivot is not None else "no oracle (real problems)",
        "## Score margins (pairs per chosen-minus-rejected margin)",
        table(margin_pivot) if margins.height else "no pairs",
        "## The two arms per iteration\nGreedy accuracy and held-out judge accuracy along the step arm "
        "(`iterations`) and the solution-level SRLM arm (`srlm.iterations`, off by default); both start at M1.",
        table(arms) if arms is not None and arms.height else "no arms",
        "![both arms](arms.png)" if arms is not None and arms.height else "",
        "",
    ])
