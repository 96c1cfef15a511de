"""Preference pairs of one iteration: best vs worst step of every decided round (ties give none); with
``pairs.keep: proven``, only the rounds whose judgments of best against worst prove their verdicts; with
``exact``, only those whose chosen step is also the judges' own rewrite, word for word.

    python -m stages.pairs m2

Writes the pairs and ``metrics/pairs/<iteration>.json``: the decided rounds, the pairs kept, and (toy world)
the share of each whose chosen step is right and rejected wrong by the oracle.
"""

from __future__ import annotations

import logging

import polars as pl

from psrlm.analytics import query
from psrlm.params import Params, rollout_table
from psrlm.proofs import proves, rewrites
from psrlm.stage import run_stage
from schemas import PairMetrics, PreferencePair
from schemas.table import write_json, write_parquet

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
    n = write_parquet(params.pairs_file(iteration), PreferencePair, rows)

    def share(flags):
        return sum(flags) / len(flags) if flags else None

    metrics = PairMetrics(decided=decided, pairs=n, keep=params.pairs.keep,
                          decided_correct_rate=None if right is None else share(right),
                          pair_correct_rate=None if right is None else share([r for r, k in zip(right, keep) if k]))
    write_json(params.metrics_file("pairs", iteration), metrics.model_dump())
    finals = sum(r.chosen_final for r in rows)
    log.info("%s: %d step pairs from M(%s) of %d decided rounds (pairs.keep: %s; %d with a final chosen step)",
             iteration, n, source, decided, params.pairs.keep, finals)


if __name__ == "__main__":
    run_stage(main)
