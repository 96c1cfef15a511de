"""The exploration link read off a rollout (toy world): how likely was the right next step, where the search looked?

    python -m benchmarks.right_step data/models/m1 data/rollouts/m2 [--widths 6 12 24]

For every round of the rollout that the model searched, the oracle's right next step (``psrlm.toy.right_step``,
after the steps as the prompt wrote them) is scored under the model: the log-probability of ``Step n: <step>``
after the round's prompt, teacher-forced (transformers, CPU), which is the chance one sample at temperature 1 and
top_p 1 draws it word for word. Rounds are split by position and by what the search sampled (every candidate
right, right and wrong mixed, none right); per split the median and mean probability, and the chance that w
samples hold the right step at least once, ``1 - (1 - p)^w`` averaged over the rounds. Where the rounds with no
right candidate have a median probability near 0, no width or temperature reaches the step: the reasoner has to
learn it before the search can propose it (README, "2026-12-07, night").

``--by-event`` (no model loaded, seconds): per position and the operation of the question's event there, the share
of the candidates the oracle calls right and of the rounds with none right. The step the loop must teach shows
as the one row near 0 (the default's second-step subtraction: 0.0-1.3% of M1's candidates in 4 seeds; the runs
that took off started at 5-14%, README "2026-12-07, after midnight"):

    python -m benchmarks.right_step data/models/m1 data/rollouts/m2 --by-event
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
from pathlib import Path

import polars as pl

from benchmarks.judge_links import previous_steps
from psrlm import toy
from psrlm.params import load_params
from psrlm.steps import format_step
from schemas import Problem
from schemas.table import read_jsonl


def round_kinds(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The rounds with their position, prompt and kind: ``all`` (every candidate right), ``mixed`` or ``none``."""
    right = tables["candidates"].group_by("problem_id", "round").agg(
        (pl.col("oracle") == "correct").sum().alias("right"), pl.len().alias("sampled"))
    kind = (pl.when(pl.col("right") == 0).then(pl.lit("none"))
            .when(pl.col("right") == pl.col("sampled")).then(pl.lit("all")).otherwise(pl.lit("mixed")))
    return tables["rounds"].join(right, on=["problem_id", "round"]).with_columns(kind=kind)


EVENT = re.compile(r"(\w+), \w+ (gets \d+ more|gives away \d+|multiplies them by \d+)\.")
OPERATION = {"gets": "add", "gives": "sub", "multiplies": "mul"}


def event_operation(question: str, position: int) -> str | None:
    """The operation of the question's event ``position`` (1-based: ``First, ...``), or None."""
    for ordinal, event in EVENT.findall(question):
        if ordinal == toy.ORDINALS[position - 1]:
            return OPERATION[event.split()[0]]
    return None


def by_event(tables: dict[str, pl.DataFrame], questions: dict[str, str]) -> pl.DataFrame:
    """Per position and event operation: rounds, candidates, the share of candidates right, the share of rounds
    with none right (the oracle's labels)."""
    rounds = round_kinds(tables).with_columns(operation=pl.struct("problem_id", "position").map_elements(
        lambda r: event_operation(questions[r["problem_id"]], r["position"]), return_dtype=pl.Utf8))
    return (rounds.group_by("position", "operation")
            .agg(pl.len().alias("rounds"), pl.col("sampled").sum().alias("candidates"),
                 (pl.col("right").sum() / pl.col("sampled").sum()).alias("candidates_right"),
                 (pl.col("kind") == "none").mean().alias("rounds_none_right"))
            .sort("position", "operation"))


def reach(log_probs: list[float], widths: list[int]) -> dict:
    """Median and mean probability of the right step, and the mean chance that w samples draw it at least once."""
    p = [math.exp(x) for x in log_probs]
    return {"rounds": len(p), "median": math.exp(statistics.median(log_probs)), "mean": statistics.fmean(p),
            **{f"P(>=1 of {w})": statistics.fmean(1 - (1 - x) ** w for x in p) for w in widths}}


def main() -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="the model that searched (M(parent) of the rollout)")
    ap.add_argument("rollout", type=Path)
    ap.add_argument("--widths", type=int, nargs="+", default=[6, 12, 24])
    ap.add_argument("--by-event", action="store_true", help="the oracle's right share per position and event operation")
    args = ap.parse_args()
    params = load_params()
    questions = {p.id: p.problem for p in read_jsonl(params.problems_file("search"), Problem)}
    tables = {t: pl.read_parquet(args.rollout / f"{t}.parquet") for t in ("candidates", "rounds")}
    if args.by_event:
        print(f"{args.rollout}: candidates right and rounds with none right, per position and event operation")
        print("| position | operation | rounds | candidates | candidates right | rounds with none right |\n|---|---|---|---|---|---|")
        for r in by_event(tables, questions).iter_rows(named=True):
            print(f"| {r['position']} | {r['operation']} | {r['rounds']} | {r['candidates']} | "
                  f"{r['candidates_right']:.3f} | {r['rounds_none_right']:.2f} |")
        return
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model).eval()
    scores: dict[tuple[int, str], list[float]] = {}
    for r in round_kinds(tables).iter_rows(named=True):
        previous = previous_steps(r["prompt"])
        right = toy.right_step(questions[r["problem_id"]], previous)
        if right is None:
            continue
        prompt = tokenizer(r["prompt"], add_special_tokens=False)["input_ids"]
        target = tokenizer(format_step(len(previous) + 1, right), add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([prompt + target])).logits[0, len(prompt) - 1:-1].float()
        log_p = torch.log_softmax(logits, -1).gather(1, torch.tensor(target)[:, None]).sum().item()
        scores.setdefault((r["position"], r["kind"]), []).append(log_p)
    print(f"{args.rollout} under {args.model}: the right next step's probability, per position and round kind")
    print("| position | sampled | rounds | median p | mean p | " + " | ".join(f"P(>=1 of {w})" for w in args.widths)
          + " |\n|---|---|---|---|---|" + "---|" * len(args.widths))
    for (position, kind), log_probs in sorted(scores.items()):
        f = reach(log_probs, args.widths)
        print(f"| {position} | {kind} | {f['rounds']} | {f['median']:.2e} | {f['mean']:.3f} | "
              + " | ".join(f"{f[f'P(>=1 of {w})']:.3f}" for w in args.widths) + " |")


if __name__ == "__main__":
    main()
