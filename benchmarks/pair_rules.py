"""The pair link on its own (toy world): which of a rollout's pairs are right, and would a stricter rule keep them?

    python -m benchmarks.pair_rules data/rollouts/m2 [data/rollouts/m3 ...]

Reads a rollout's tables (no model, seconds) and the oracle's label of every candidate. For the pairs the
pipeline makes (``psrlm/queries/pairs.sql``: best vs worst of every decided, not rolled-back round) it
reports, per rollout:

- ``right``: the share whose chosen step is right and rejected wrong (the rollout metrics' ``pair_correct_rate``);
- ``from all-wrong rounds``: the share of the wrong pairs made in a round none of whose candidates is right
  (no verdict can make a right pair there; the judge must prefer one wrong step to another);
- ``checked``: the pairs whose every judgment of best against worst *proves* its verdict with the ``verify``
  explanation (``psrlm/proofs.py``), the pairs ``pairs.keep: proven`` trains on; and the share of those
  that are right. It asks the judge's own explanation, no oracle;
- ``copied``: the checked pairs whose judgments also quote each candidate's claim as the step writes it (its
  boxed answer, else its result; ``nothing`` for a step off the toy grammar) and whose worked-out step is
  exact arithmetic: a check of the explanation against its prompt, which ``proves`` does not make (a judge
  that checks "B says 2" where B boxed 5 proves nothing about B). Toy world: it reads the grammar.

A judge that writes the ``equation`` explanation, or the ``direct`` judge, has nothing to check: every pair
then fails the rule.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from psrlm.proofs import CHECK, NOTHING, proves
from psrlm.toy import apply, claim_of, parse_equation, well_formed


def copies_claims(raw: str, step_a: str, step_b: str) -> bool:
    """Does a ``verify`` explanation quote both candidates' claims as they are written, and is its own
    worked-out step (before ``A says``) exact? (``copied`` in the module doc)"""
    def written(step: str) -> str:
        body = step.split(": ", 1)[-1]
        claim = claim_of(body) if well_formed(body) else None
        return "nothing" if claim is None else str(claim)

    claims = {"A": written(step_a), "B": written(step_b)}
    quoted = {k: claim for k, claim, *_ in CHECK.findall(raw or "")} | {k: "nothing" for k in NOTHING.findall(raw or "")}
    work = parse_equation((raw or "").split(" A says")[0])
    return quoted == claims and work is not None and apply(work[1], work[0], work[2]) == work[3]

def pair_rules(pairs: list[dict]) -> dict:
    """``pairs``: one dict per pair: ``right`` (oracle: chosen right, rejected wrong), ``all_wrong`` (no right
    candidate in its round), ``judgments`` (the raw outputs of the best-vs-worst judgments whose winner is
    the chosen step), ``steps`` (the (step A, step B) texts of each of those judgments, in its order),
    ``compared`` (how many best-vs-worst judgments there were)."""
    n = len(pairs)
    wrong = [p for p in pairs if not p["right"]]
    checked = [p for p in pairs if p["compared"] and len(p["judgments"]) == p["compared"]
               and all(proves(raw) for raw in p["judgments"])]
    copied = [p for p in checked if all(copies_claims(raw, *steps) for raw, steps in zip(p["judgments"], p["steps"],
                                                                                          strict=True))]
    return {"pairs": n, "right": sum(p["right"] for p in pairs) / n if n else None,
            "wrong_from_all_wrong": sum(p["all_wrong"] for p in wrong) / len(wrong) if wrong else None,
            "checked": len(checked),
            "checked_right": sum(p["right"] for p in checked) / len(checked) if checked else None,
            "copied": len(copied),
            "copied_right": sum(p["right"] for p in copied) / len(copied) if copied else None}


def rollout_pairs(folder: Path) -> list[dict]:
    """The pairs of one rollout folder, as ``pair_rules`` takes them."""
    import duckdb

    t = {k: str(folder / f"{k}.parquet") for k in ("rounds", "candidates", "judgments")}
    rows = duckdb.sql(f"""
        WITH r AS (SELECT * FROM read_parquet('{t["rounds"]}') WHERE outcome = 'pair' AND NOT discarded),
        c AS (SELECT * FROM read_parquet('{t["candidates"]}')),
        j AS (SELECT j.*, a.text AS step_a, b.text AS step_b FROM read_parquet('{t["judgments"]}') j
              JOIN c a ON a.problem_id = j.problem_id AND a.round = j.round AND a.candidate = j.first
              JOIN c b ON b.problem_id = j.problem_id AND b.round = j.round AND b.candidate = j.second)
        SELECT r.problem_id, r.round, b.oracle = 'correct' AND w.oracle <> 'correct' AS right_pair,
               NOT EXISTS (SELECT 1 FROM c x WHERE x.problem_id = r.problem_id AND x.round = r.round
                           AND x.oracle = 'correct') AS all_wrong,
               list(j.raw ORDER BY j.first) FILTER (WHERE j.winner = r.best) AS won,
               list([j.step_a, j.step_b] ORDER BY j.first) FILTER (WHERE j.winner = r.best) AS steps,
               count(j.raw) AS compared
        FROM r
        JOIN c b ON b.problem_id = r.problem_id AND b.round = r.round AND b.candidate = r.best
        JOIN c w ON w.problem_id = r.problem_id AND w.round = r.round AND w.candidate = r.worst
        LEFT JOIN j ON j.problem_id = r.problem_id AND j.round = r.round
             AND ((j.first = r.best AND j.second = r.worst) OR (j.first = r.worst AND j.second = r.best))
        GROUP BY ALL""").fetchall()
    if rows and rows[0][2] is None:
        raise SystemExit(f"{folder}: the candidates carry no oracle label (toy world only)")
    return [{"right": bool(r), "all_wrong": bool(a), "judgments": won or [], "steps": [tuple(s) for s in steps or []],
             "compared": n} for _, _, r, a, won, steps, n in rows]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rollouts", nargs="+", type=Path, help="rollout folders (data/rollouts/<m>)")
    args = ap.parse_args(argv)

    def share(x):
        return "-" if x is None else f"{x:.3f}"

    for folder in args.rollouts:
        m = pair_rules(rollout_pairs(folder))
        print(f"{folder}: pairs {m['pairs']}, right {share(m['right'])}, wrong ones from all-wrong rounds "
              f"{share(m['wrong_from_all_wrong'])}; checked {m['checked']}, right {share(m['checked_right'])}; "
              f"copied {m['copied']}, right {share(m['copied_right'])}")


if __name__ == "__main__":
    main()
