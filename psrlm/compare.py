"""Compare DVC experiments that differ only in their seeds: mean +- std per model.

    python -m psrlm.compare                 # groups over `seed` (training seed)
    python -m psrlm.compare --vary seed --vary problems.seed
    python -m psrlm.compare --json out.json # also write the table as JSON

Reads ``dvc exp show --json`` (the workspace and the experiments of the last ``--num`` commits), groups the
runs whose params are equal except the ``--vary`` keys, and prints, per group and model, the mean and
sample standard deviation of each summary metric over the runs, the number of runs, and the gain of
the last model of each arm over M1 in each run (the step arm, and the SRLM arm's models, ``solution_level`` in
summary.json, when ``srlm.iterations`` switched it on: PSRLM M4 vs SRLM S4 over the seeds). Run the seeds first::

    for s in 0 1 2; do dvc exp run --queue -S seed=$s; done && dvc queue start && dvc queue status
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

SUMMARY = "data/metrics/summary.json"
COLUMNS = ("accuracy", "search_accuracy", "search_greedy_accuracy", "judge_accuracy", "judge_accuracy_wild",
           "pairs", "pair_correct_rate", "pairs_kept", "kept_pair_correct_rate", "flip_rate", "flip_rate_wild",
           "tie_rate", "sampled_tokens", "judge_tokens")


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= _flatten(v, key + ".")
        else:
            out[key] = v
    return out


def runs_of(exp_show: list) -> list[dict]:
    """Every run (workspace, baseline, experiment) of ``dvc exp show --json`` that has a summary:
    ``{"name", "params" (flat), "summary" (model -> metrics), "experiment" (bool)}``, experiments first:
    an experiment's results come from running its params, while a commit's may come from a
    ``dvc.lock`` older than its ``params.yaml`` (params edited and committed without a rerun)."""
    runs, stack = [], [(node, False) for node in exp_show]
    while stack:
        node, experiment = stack.pop()
        if not isinstance(node, dict):
            continue
        for child in node.get("experiments") or []:
            state = ((child.get("executor") or {}).get("state") if isinstance(child, dict) else None)
            if state in (None, "success"):  # queued, running or failed experiments show stale or no results
                stack += [(rev, True) for rev in child.get("revs", [])]
        data = node.get("data") or {}
        summary = ((data.get("metrics") or {}).get(SUMMARY) or {}).get("data")
        params = ((data.get("params") or {}).get("params.yaml") or {}).get("data")
        if summary and params:
            runs.append({"name": node.get("name") or node.get("rev", "?")[:7], "params": _flatten(_complete(params)),
                         "summary": summary, "experiment": experiment})
    return sorted(runs, key=lambda r: not r["experiment"])  # stable: otherwise in the order dvc lists them


def _complete(params: dict) -> dict:
    """The params with every default filled in (a key added to params.yaml later, at its default, is the
    same run); as they are when they do not validate (an older schema)."""
    from psrlm.params import ParamsError, parse_params

    try:
        return parse_params(params).model_dump()
    except ParamsError:
        return params


def group_by_seed(runs: list[dict], vary: list[str]) -> list[list[dict]]:
    """Runs whose params are equal except the ``vary`` keys, in groups (first-seen order); a run that
    repeats another's params and seeds (the workspace beside the experiment it came from) counts once."""
    groups: dict[str, list[dict]] = {}
    for run in runs:
        fixed = json.dumps({k: v for k, v in run["params"].items() if k not in vary}, sort_keys=True, default=str)
        seeds = [run["params"].get(k) for k in vary]
        group = groups.setdefault(fixed, [])
        if all([r["params"].get(k) for k in vary] != seeds for r in group):
            group.append(run)
    return list(groups.values())


def _stat(values: list[float]) -> str:
    if not values:
        return "-"
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.3f} ± {std:.3f}" if any(isinstance(v, float) for v in values) else f"{mean:.1f} ± {std:.1f}"


def table(group: list[dict], vary: list[str]) -> tuple[str, dict]:
    """A Markdown table of one group: a row per model, mean ± std over the runs."""
    models = sorted({m for run in group for m in run["summary"]}, key=lambda m: (len(m), m))
    cols = [c for c in COLUMNS if any(c in run["summary"].get(m, {}) for run in group for m in models)]
    seeds = ", ".join("/".join(str(run["params"].get(k)) for k in vary) for run in group)
    lines = [f"{len(group)} runs ({'/'.join(vary)} = {seeds})", "",
             "| model | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    stats: dict = {}
    for m in models:
        cells = []
        for c in cols:
            values = [run["summary"][m][c] for run in group if run["summary"].get(m, {}).get(c) is not None]
            stats.setdefault(m, {})[c] = values
            cells.append(_stat(values))
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    def arm(m: str) -> str:
        solution = any(run["summary"].get(m, {}).get("solution_level") for run in group)
        return "solution" if solution else "step"

    for name in ("step", "solution"):
        last = next((m for m in reversed(models) if arm(m) == name), None)
        if not last or last == "m1" or "m1" not in models:
            continue
        gains = [run["summary"][last]["accuracy"] - run["summary"]["m1"]["accuracy"] for run in group
                 if "accuracy" in run["summary"].get(last, {}) and "accuracy" in run["summary"].get("m1", {})]
        stats["gain" if name == "step" else "solution_gain"] = {"model": last, "values": gains}
        lines += ["", f"{last} - m1 accuracy per run: " + ", ".join(f"{g:+.3f}" for g in gains)
                  + f" (mean {_stat(gains)}; {last} > m1 in {sum(g > 0 for g in gains)} of {len(gains)})"]
    return "\n".join(lines), stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vary", action="append", help="params key that differs between the runs of a group "
                    "(repeatable; default: seed)")
    ap.add_argument("--json", type=Path, help="also write the per-group values here")
    ap.add_argument("--min-runs", type=int, default=2, help="show groups of at least this many runs")
    ap.add_argument("--num", type=int, default=10, help="experiments of the last NUM commits (dvc exp show --num)")
    args = ap.parse_args(argv)
    vary = args.vary or ["seed"]
    proc = subprocess.run(["dvc", "exp", "show", "--json", "--num", str(args.num)], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"dvc exp show failed:\n{proc.stderr}", file=sys.stderr)
        return 2
    groups = [g for g in group_by_seed(runs_of(json.loads(proc.stdout)), vary) if len(g) >= args.min_runs]
    if not groups:
        print(f"no group of >= {args.min_runs} runs differing only in {', '.join(vary)}: run the seeds first "
              "(see `python -m psrlm.compare --help`)", file=sys.stderr)
        return 1
    out = []
    for g in groups:
        text, stats = table(g, vary)
        print(text + "\n")
        out.append({"runs": [r["name"] for r in g], "stats": stats})
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
