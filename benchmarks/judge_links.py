"""Where the toy judge goes wrong: each part of its explanation checked on the search's own comparisons.

    python -m benchmarks.judge_links data/rollouts/m2 [--show 5]

On every judge call of a rollout whose two candidates are one right and one wrong step (oracle), the
verify explanation (``Second, ... so 7 + 4 = 11. A says 9; 9 - 11 = -2. B says 11; 11 - 11 = 0.``)
is taken apart and each link scored: the right step worked out, each candidate's claim copied, the
differences computed, "is it 0" right, the verdict following its own checks, and the verdict right.
Prints the shares; ``--show`` prints wrong calls beside the explanation the oracle would write.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import polars as pl

from psrlm import toy
from psrlm.params import load_params
from psrlm.steps import step_body
from schemas import Problem
from schemas.table import read_jsonl

CHECK = re.compile(r"([AB]) says (-?\d+); (-?\d+) - (-?\d+) = (-?\d+)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rollout", type=Path)
    ap.add_argument("--show", type=int, default=0)
    args = ap.parse_args()
    params = load_params()
    questions = {p.id: p.problem for split in ("search", "test")
                 for p in read_jsonl(params.problems_file(split), Problem)}
    tables = {t: pl.read_parquet(args.rollout / f"{t}.parquet") for t in ("judgments", "candidates", "rounds")}
    cand = {(c["problem_id"], c["round"], c["candidate"]): c for c in tables["candidates"].iter_rows(named=True)}
    prompts = {(r["problem_id"], r["round"]): r["prompt"] for r in tables["rounds"].iter_rows(named=True)}
    links = dict.fromkeys(("right step", "claim A", "claim B", "differences", "zero test", "verdict follows",
                           "verdict right"), 0)
    n = shown = 0
    for j in tables["judgments"].iter_rows(named=True):
        a, b = cand[(j["problem_id"], j["round"], j["first"])], cand[(j["problem_id"], j["round"], j["second"])]
        if (a["oracle"] == "correct") == (b["oracle"] == "correct"):
            continue  # not a right-vs-wrong comparison (or no oracle)
        n += 1
        previous = [step_body(s) for s in re.findall(r"^Step \d+:.*$", prompts[(j["problem_id"], j["round"])], re.M)]
        right = toy.right_step(questions[j["problem_id"]], previous)
        raw, bodies = j["raw"], {"A": step_body(a["text"]), "B": step_body(b["text"])}
        checks = {k: tuple(int(v) for v in rest) for k, *rest in CHECK.findall(raw)}
        links["right step"] += bool(right) and raw.startswith(right.split(" The answer is ")[0])
        for k in "AB":
            links[f"claim {k}"] += k in checks and checks[k][0] == toy.claim_of(bodies[k])
        links["differences"] += all(k in checks and checks[k][3] == checks[k][1] - checks[k][2] for k in "AB")
        links["zero test"] += all(k in checks and (checks[k][3] == 0) == (checks[k][1] == checks[k][2]) for k in "AB")
        zero = [k for k in "AB" if k in checks and checks[k][3] == 0]
        links["verdict follows"] += len(zero) == 1 and j["verdict"] == zero[0]
        ok = (j["verdict"] == "A") == (a["oracle"] == "correct")
        links["verdict right"] += ok
        if not ok and shown < args.show and right:
            shown += 1
            print(f"A: {a['text']}\nB: {b['text']}\nexpected: {toy.verify_explanation(right, bodies['A'], bodies['B'])[0]}"
                  f"\njudge:    {raw}\n")
    if not n:
        raise SystemExit(f"{args.rollout}: no right-vs-wrong judge calls (no oracle, or no contested rounds)")
    print(f"{n} right-vs-wrong judge calls: " + ", ".join(f"{k} {v / n:.3f}" for k, v in links.items()))


if __name__ == "__main__":
    main()
