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
"""

from __future__ import annotations

import argparse
import math
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
    args = ap.parse_args()
    params = load_params()
    questions = {p.id: p.problem for p in read_jsonl(params.problems_file("search"), Problem)}
    tables = {t: pl.read_parquet(args.rollout / f"{t}.parquet") for t in ("candidates", "rounds")}
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
