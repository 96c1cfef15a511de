"""Summary of a run: per model accuracy and judge accuracy, per iteration the search statistics, per
task test-time search beside greedy on the same problems (paper Table 5); with the SRLM arm switched on
(``srlm.iterations``), its models and the two arms side by side per iteration. Table 4 per task (steps per
solution, step length) is in the report (``stages/report.py``).

    python -m stages.summary

Writes ``summary.json`` (DVC metrics: ``dvc metrics show``, ``dvc exp show``) and ``summary.md``.
"""

from __future__ import annotations

import json
import logging

from psrlm.params import Params
from psrlm.stage import run_stage
from schemas import EvalMetrics, PairMetrics, RolloutMetrics, SearchEvalMetrics, SolutionRolloutMetrics
from schemas.table import atomic_path, write_json

log = logging.getLogger("stages.summary")


def _read(path, model):
    return model.model_validate(json.loads(path.read_text(encoding="utf-8")))


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def dpo_outcome(train: dict) -> tuple[dict, str]:
    """What the DPO stage made of an iteration (its train metrics): ``trained``, ``copied`` (fewer pairs than
    ``dpo.min_pairs``) or ``parent`` (``dpo.gate``: the trained model did not beat its parent), the gate's two
    validation accuracies (and with ``dpo.gate.epochs: each`` the epoch of the best), and the summary's cell."""
    if not train.get("trained", True):
        return {"dpo": "copied"}, f"copied ({train['pairs']} pairs < dpo.min_pairs)"
    gate = train.get("gate")
    if gate is None:
        return {"dpo": "trained"}, "trained"
    row = {"dpo": gate["kept"], "gate_parent_accuracy": gate["parent_accuracy"],
           "gate_trained_accuracy": gate["trained_accuracy"]}
    epoch = ""
    if "epoch" in gate:  # dpo.gate.epochs: each; the trained accuracy is the best epoch's
        row["gate_epoch"] = gate["epoch"]
        epoch = f" at epoch {gate['epoch']:g}"
    return row, f"{gate['kept']} kept ({gate['trained_accuracy']:.3f}{epoch} vs parent {gate['parent_accuracy']:.3f})"


def summarize(evals: dict[str, EvalMetrics], rollouts: dict[str, RolloutMetrics],
              searched: dict[str, SearchEvalMetrics], tasks: list[str],
              trained: dict[str, dict] | None = None, kept: dict[str, PairMetrics] | None = None) -> tuple[dict, str]:
    """summary.json (per model) and summary.md; ``tasks``: the order of the per-task columns
    (``evaluate.tasks``; metrics files keep their keys sorted); ``trained``: the train metrics of the DPO
    stages, per model; ``kept``: the pairs stages' metrics, per model (with ``pairs.keep: proven``, the pairs
    and oracle-correct pairs columns show the pairs kept, and the decided rounds in parentheses)."""
    trained, kept = trained or {}, kept or {}
    summary: dict[str, dict] = {}
    lines = ["| model | accuracy | test-time search (greedy on the same) | judge accuracy | judge parse failures | "
             "steps/solution | DPO (dpo.gate: validation accuracy) | pairs | oracle-correct pairs | "
             "judge accuracy in the wild | tie rate | parse failures (search) | flip rate (search; in the wild) | too long (search) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, e in evals.items():
        row = {"accuracy": e.accuracy, "judge_accuracy": e.judge_accuracy, "mean_steps": e.mean_steps}
        outcome, dpo_cell = dpo_outcome(trained[name]) if name in trained else ({}, "-")
        row |= outcome
        t = searched.get(name)
        if t is not None:
            row["search_accuracy"] = t.search_accuracy
            row["search_greedy_accuracy"] = t.greedy_accuracy
        tts = f"{t.search_accuracy:.3f} ({t.greedy_accuracy:.3f}, n={t.problems})" if t else "-"
        r = rollouts.get(name)  # the search whose pairs trained this model
        if r is not None:
            row |= {"pairs": r.pairs, "tie_rate": r.tie_rate, "parse_failure_rate": r.parse_failure_rate,
                    "flip_rate": r.flip_rate, "too_long": r.too_long}
            row |= {k: v for k, v in (("pair_correct_rate", r.pair_correct_rate),
                                      ("judge_accuracy_wild", r.judge_accuracy_wild),
                                      ("flip_rate_wild", r.flip_rate_wild),
                                      ("sampled_tokens", r.sampled_tokens),
                                      ("judge_tokens", r.judge_tokens)) if v is not None}
        k = kept.get(name)
        pairs, right = (str(r.pairs), _f(r.pair_correct_rate)) if r else ("-", "-")
        if k is not None and k.keep != "all":
            row |= {"pairs_kept": k.pairs} | ({} if k.pair_correct_rate is None else
                                               {"kept_pair_correct_rate": k.pair_correct_rate})
            pairs, right = f"{k.pairs} ({pairs})", f"{_f(k.pair_correct_rate)} ({right})"
        summary[name] = row
        search = (f"{pairs} | {right} | {_f(r.judge_accuracy_wild)} | {r.tie_rate:.3f} | "
                  f"{r.parse_failure_rate:.3f} | {r.flip_rate:.3f} ({_f(r.flip_rate_wild)}) | {r.too_long}" if r else "- | - | - | - | - | - | -")
        lines.append(f"| {name} | {e.accuracy:.3f} | {tts} | {e.judge_accuracy:.3f} | {e.judge_parse_failure_rate:.3f} | "
                     f"{e.mean_steps:.2f} | {dpo_cell} | {search} |")
    note = ("\nSearch columns belong to the rollout whose pairs trained the model "
            "(M2's are M1's own search and judgments). Pairs: those pairs.keep kept, trained on (of the decided "
            "rounds). Oracle columns (toy world): the share of pairs whose "
            "chosen step is right and rejected wrong, and the judge's accuracy on the search's own comparisons "
            "of a right and a wrong step, and in parentheses the flip rate on those comparisons alone (a flip "
            "between two equally wrong steps is a tie either way). Too long: paths ended because their next prompt would not fit "
            "generation.vllm.max_model_len. DPO: the model is its parent, copied, below dpo.min_pairs; with "
            "dpo.gate, the trained model's greedy accuracy on the gate's search problems beside its parent's, "
            "and which of the two became the model.\n")
    return summary, "\n".join(lines) + "\n" + note + search_table(searched, tasks)


def solution_rows(evals: dict[str, EvalMetrics], rollouts: dict[str, SolutionRolloutMetrics]) -> dict[str, dict]:
    """summary.json rows of the SRLM arm's models (``solution_level: true``: psrlm.compare tells the arms
    apart by it)."""
    rows = {}
    for name, e in evals.items():
        r = rollouts[name]
        rows[name] = {"solution_level": True, "accuracy": e.accuracy, "judge_accuracy": e.judge_accuracy,
                      "mean_steps": e.mean_steps, "pairs": r.pairs, "tie_rate": r.tie_rate,
                      "parse_failure_rate": r.parse_failure_rate, "too_long": r.too_long,
                      "pair_correct_rate": r.pair_correct_rate, "sampled_tokens": r.sampled_tokens,
                      "judge_tokens": r.judge_tokens}
    return rows


def arms_table(step: dict[str, str], solution: dict[str, str], summary: dict[str, dict]) -> str:
    """Both arms per iteration, matched by the slice of the search split they trained on (``first_problem``):
    ``step``/``solution`` map that slice's key (e.g. ``0-400``) to the model it trained."""
    if not solution:
        return ""
    cols = ("accuracy", "judge_accuracy", "pairs", "pair_correct_rate", "sampled_tokens", "judge_tokens")
    lines = ["\n## The two arms per iteration (PSRLM: step-level; SRLM: solution-level)\n",
             "| search slice | arm | model | " + " | ".join(cols) + " |", "|---|---|---|" + "---|" * len(cols)]
    for span in sorted({*step, *solution}, key=lambda k: int(k.split("-")[0])):
        for arm, models in (("PSRLM", step), ("SRLM", solution)):
            name = models.get(span)
            row = summary.get(name, {}) if name else {}
            cells = [("-" if row.get(c) is None else f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]))
                     for c in cols]
            lines.append(f"| {span} | {arm} | {name or '-'} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + ("\n\nTokens: sampled reasoning (candidate steps; whole solutions) and judge "
                               "outputs of the rollout whose pairs trained the model, re-tokenised.\n")


def search_table(searched: dict[str, SearchEvalMetrics], tasks: list[str]) -> str:
    """Paper Table 5: per searched model, greedy and test-time search accuracy per task and their mean."""
    if not searched:
        return ""
    n = {t: max((m.tasks[t].problems for m in searched.values() if t in m.tasks), default=0) for t in tasks}
    lines = ["\n## Test-time search per task (paper Table 5)\n",
             "| model | decoding | " + " | ".join(f"{t} (n={n[t]})" for t in tasks) + " | avg |",
             "|---|---|" + "---|" * (len(tasks) + 1)]
    for name, m in searched.items():
        for label, key in (("greedy", "greedy_accuracy"), ("search", "search_accuracy")):
            cells = [_f(getattr(m.tasks[t], key)) if t in m.tasks else "-" for t in tasks]
            lines.append(f"| {name} | {label} | " + " | ".join(cells) + f" | {getattr(m, key):.3f} |")
    return "\n".join(lines) + "\n\nThe same problems for both rows, graded by the same rule (grading.fallback).\n"


def main(params: Params) -> None:
    evals = {m: _read(params.metrics_file("eval", m), EvalMetrics) for m in params.evaluate.models}
    rollouts = {i: _read(params.metrics_file("rollout", i), RolloutMetrics) for i in params.iterations}
    searched = {m: _read(params.metrics_file("eval", f"{m}-search"), SearchEvalMetrics)
                for m in params.evaluate.search_models}
    trained = {m: json.loads(params.metrics_file("train", m).read_text(encoding="utf-8"))
               for m in [*params.iterations, *params.srlm.iterations]}
    kept = {i: _read(params.metrics_file("pairs", i), PairMetrics) for i in params.iterations}
    summary, table = summarize(evals, rollouts, searched, params.evaluate.tasks, trained, kept)
    arm = params.srlm.iterations
    if arm:
        summary |= solution_rows({m: _read(params.metrics_file("eval", m), EvalMetrics) for m in arm},
                                 {m: _read(params.metrics_file("rollout", m), SolutionRolloutMetrics) for m in arm})
        for m in arm:
            summary[m] |= dpo_outcome(trained[m])[0]

        def span(it):
            return f"{it.first_problem}-{it.first_problem + it.num_problems}"

        table += arms_table({span(it): m for m, it in params.iterations.items()},
                            {span(it): m for m, it in arm.items()}, summary)
    write_json(params.summary_file("json"), summary)
    md = params.summary_file("md")
    tmp = atomic_path(md)
    tmp.write_text("# Run summary\n\n" + table, encoding="utf-8")
    tmp.replace(md)
    print(table)


if __name__ == "__main__":
    run_stage(main)
