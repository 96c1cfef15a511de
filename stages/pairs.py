"""Preference pairs of one iteration: best vs worst step of every decided round (ties give none); with
``pairs.keep: proven``, only the rounds whose judgments of best against worst prove their verdicts; with
``exact``, only those whose chosen step is also the judges' own rewrite, word for word. ``pairs.rewrites``
adds the rounds where the judges wrote a step no candidate is (``psrlm.proofs.new_step``): that step, chosen,
against the round's worst candidate.

    python -m stages.pairs m2

Writes the pairs and ``metrics/pairs/<iteration>.json``: the decided rounds, the pairs kept, and (toy world)
the share of each whose chosen step is right and rejected wrong by the oracle.
"""

from __future__ import annotations

import logging

import polars as pl

from psrlm.analytics import query
from psrlm.params import Params, rollout_table
from psrlm import toy
from psrlm.proofs import new_step, proves, rewrites
from psrlm.stage import run_stage
from psrlm.steps import format_step, step_body
from schemas import PairMetrics, PreferencePair, Problem
from schemas.table import read_jsonl, write_json, write_parquet

log = logging.getLogger("stages.pairs")


def proven(won_raw: list[str], compared: int, chosen: str | None = None) -> bool:
    """Best won every judgment against worst, and each one proves its verdict (``psrlm/proofs.py``); given the
    ``chosen`` step, each one's rewrite is that step, word for word (``pairs.keep: exact``)."""
    return compared > 0 and len(won_raw) == compared and all(
        proves(raw) and (chosen is None or rewrites(raw, chosen)) for raw in won_raw)


def oracle_right(frame: pl.DataFrame, candidates: pl.DataFrame) -> list[bool] | None:
    """Per pair: chosen right and rejected wrong by the oracle; None when the candidates carry no label."""
    labels = {(r["problem_id"], r["round"], r["text"]): r["oracle"] for r in candidates.iter_rows(named=True)}
    if not labels or any(v is None for v in labels.values()):
        return None
    return [labels[(p, r, c)] == "correct" and labels[(p, r, w)] != "correct"
            for p, r, c, w in frame.select("problem_id", "round", "chosen", "rejected").iter_rows()]


def rewrite_pairs(rounds: pl.DataFrame, candidates: pl.DataFrame, judgments: pl.DataFrame) -> list[dict]:
    """``pairs.rewrites``: per judged round whose judges all wrote one step no candidate is (``new_step``),
    that step (with the answer when most candidates answer) chosen over the candidate with the fewest wins;
    chosen_wins = the round's judgments (each checked every claim against the judges' step)."""
    raws = judgments.group_by("problem_id", "round").agg(pl.col("raw"))
    cands = (candidates.filter(pl.col("wins").is_not_null()).sort("candidate")
             .group_by("problem_id", "round").agg("text", "wins", "final"))
    frame = (rounds.select("problem_id", "round", "prompt", "position", "n_distinct")
             .join(raws, on=["problem_id", "round"]).join(cands, on=["problem_id", "round"])
             .sort("problem_id", "round"))
    out = []
    for r in frame.iter_rows(named=True):
        step = new_step(r["raw"], r["text"])
        if step is None:
            continue
        worst = min(range(len(r["wins"])), key=lambda i: r["wins"][i])
        final = 2 * sum(r["final"]) > len(r["final"])
        chosen = format_step(r["position"], step + (toy.ANSWER_SUFFIX.format(toy.parse_equation(step)[3]) if final else ""))
        if float(len(r["raw"])) <= r["wins"][worst]:
            continue
        out.append({"prompt": r["prompt"], "chosen": chosen, "rejected": r["text"][worst], "chosen_final": final,
                    "rejected_final": r["final"][worst], "chosen_wins": float(len(r["raw"])),
                    "rejected_wins": float(r["wins"][worst]), "problem_id": r["problem_id"], "round": r["round"],
                    "position": r["position"], "n_distinct": r["n_distinct"]})
    return out


def oracle_right_rewrites(pairs: list[dict], problems_file) -> list[bool]:
    """Per rewrite pair (toy): the judges' step right and the rejected wrong, by the oracle (``toy.step_error``)."""
    reference = {p.id: p.steps for p in read_jsonl(problems_file, Problem)}

    def label(pair, text):
        previous = [step_body(line) for line in pair["prompt"].split("<|assistant|>")[-1].splitlines()
                    if line.startswith("Step ")]
        return toy.step_error(reference[pair["problem_id"]], previous, step_body(text))

    return [label(p, p["chosen"]) == "correct" and label(p, p["rejected"]) != "correct" for p in pairs]


def main(params: Params, iteration: str) -> None:
    rollout = params.rollout_dir(iteration)
    source = params.iteration(iteration).parent
    frame = query("pairs", rounds=rollout_table(rollout, "rounds"), candidates=rollout_table(rollout, "candidates"),
                  judgments=rollout_table(rollout, "judgments"))
    decided = frame.height
    right = oracle_right(frame, pl.read_parquet(rollout_table(rollout, "candidates")))
    keep = [True] * decided
    if params.pairs.keep == "proven":
        keep = [proven(w, n) for w, n in frame.select("won_raw", "compared").iter_rows()]
    elif params.pairs.keep == "exact":
        keep = [proven(w, n, c) for w, n, c in frame.select("won_raw", "compared", "chosen").iter_rows()]
    kept = frame.filter(pl.Series(keep, dtype=pl.Boolean)).drop("won_raw", "compared")
    rows = [PreferencePair(**r, model=source) for r in kept.iter_rows(named=True)]
    kept_right = None if right is None else [r for r, k in zip(right, keep) if k]
    new, new_right = [], None
    if params.pairs.rewrites:
        new = rewrite_pairs(pl.read_parquet(rollout_table(rollout, "rounds")),
                            pl.read_parquet(rollout_table(rollout, "candidates")),
                            pl.read_parquet(rollout_table(rollout, "judgments")))
        new_right = oracle_right_rewrites(new, params.problems_file("search")) if right is not None else None
        rows += [PreferencePair(**r, model=source) for r in new]
    n = write_parquet(params.pairs_file(iteration), PreferencePair, rows)

    def share(flags):
        return sum(flags) / len(flags) if flags else None

    metrics = PairMetrics(decided=decided, pairs=n, keep=params.pairs.keep,
                          decided_correct_rate=None if right is None else share(right),
                          pair_correct_rate=None if right is None else share(kept_right + (new_right or [])))
    if params.pairs.rewrites:
        metrics = metrics.model_copy(update={"rewrite_pairs": len(new), "rewrite_correct_rate": share(new_right or [])})
    # without pairs.rewrites the file holds the keys it always had
    write_json(params.metrics_file("pairs", iteration),
               metrics.model_dump(exclude=None if params.pairs.rewrites else {"rewrite_pairs", "rewrite_correct_rate"}))
    finals = sum(r.chosen_final for r in rows)
    log.info("%s: %d step pairs from M(%s) of %d decided rounds (pairs.keep: %s; %d with a final chosen step; "
             "%d of them the judges' own step, pairs.rewrites)", iteration, n, source, decided, params.pairs.keep,
             finals, len(new))


if __name__ == "__main__":
    run_stage(main)
