"""Where the toy judge goes wrong: each part of its explanation checked on the search's own comparisons.

    python -m benchmarks.judge_links data/rollouts/m2 [--show 5]

On every judge call of a rollout whose two candidates are one right and one wrong step (oracle), the
verify explanation (``Second, ... so 7 + 4 = 11. A says 9; 9 - 11 = -2. B says 11; 11 - 11 = 0.``)
is taken apart and each link scored: the right step worked out, each candidate's claim copied, the
differences computed, "is it 0" right, the verdict following its own checks, and the verdict right.
Prints the shares; ``--show`` prints wrong calls beside the explanation the oracle would write; ``--forms``
splits the calls by the wrong candidate's form (``well-formed``: a step of the toy grammar,
``psrlm.toy.well_formed``, ``Step 2: Second, she gets 4 more, so 7 + 4 = 11.`` with at most a boxed answer after
it; ``garbled``: anything else, such as a step cut off at ``search.max_step_tokens`` or text spliced from
elsewhere) and its oracle label, with the verdict's accuracy and the parse failures of each, and by whether it
claims what the right step claims (the verify check compares claims only: such a pair is a coin flip to it);
``--pairs`` splits the search's pairs (rounds decided best vs worst) by what the oracle says of them: right
(chosen right, rejected wrong), inverted, both right, and both wrong with or without a right candidate in the
round: a pair that is not right because no candidate was right is the reasoner's miss, not the judge's; ``--rewrite`` scores the judge's
rewrite of the right step on every call, split by whether a right candidate was in the round.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import polars as pl

from psrlm import toy
from psrlm.params import load_params
from psrlm.prompts import step_claim
from psrlm.proofs import CHECK
from psrlm.steps import step_body
from schemas import Problem
from schemas.table import read_jsonl


def previous_steps(prompt: str) -> list[str]:
    """The bodies of the steps a round's prompt has written so far (``Step n: ...`` lines)."""
    return [step_body(s) for s in re.findall(r"^Step \d+:.*$", prompt, re.M)]


def score_calls(tables: dict[str, pl.DataFrame], questions: dict[str, str]) -> dict:
    """Every right-vs-wrong judge call of a rollout's ``tables`` (judgments, candidates, rounds), scored link by
    link: ``calls``, ``links`` (counts per link), ``forms`` ((form, oracle label) -> [calls, verdict right,
    parse failures]), ``claims`` ((form, the wrong step claims what the right one claims) -> [calls, verdict
    right]: a check of the claim alone cannot tell such a pair apart) and ``wrong`` (the calls whose verdict is not right: A, B, the expected explanation, the
    judge's)."""
    cand = {(c["problem_id"], c["round"], c["candidate"]): c for c in tables["candidates"].iter_rows(named=True)}
    prompts = {(r["problem_id"], r["round"]): r["prompt"] for r in tables["rounds"].iter_rows(named=True)}
    links = dict.fromkeys(("right step", "claim A", "claim B", "differences", "zero test", "verdict follows",
                           "verdict right"), 0)
    n, forms, claims, wrong_calls = 0, {}, {}, []
    for j in tables["judgments"].iter_rows(named=True):
        a, b = cand[(j["problem_id"], j["round"], j["first"])], cand[(j["problem_id"], j["round"], j["second"])]
        if a["oracle"] is None or (a["oracle"] == "correct") == (b["oracle"] == "correct"):
            continue  # not a right-vs-wrong comparison (or no oracle)
        n += 1
        previous = previous_steps(prompts[(j["problem_id"], j["round"])])
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
        ok = j["verdict"] == ("A" if a["oracle"] == "correct" else "B")  # a parse failure is not right
        links["verdict right"] += ok
        loser = b if a["oracle"] == "correct" else a
        form = "well-formed" if toy.well_formed(step_body(loser["text"])) else "garbled"
        f = forms.setdefault((form, loser["oracle"]), [0, 0, 0])
        f[0], f[1], f[2] = f[0] + 1, f[1] + ok, f[2] + (j["verdict"] is None)
        winner = a if loser is b else b
        c = claims.setdefault((form, step_claim(loser["text"]) == step_claim(winner["text"])), [0, 0])
        c[0], c[1] = c[0] + 1, c[1] + ok
        if not ok and right:
            wrong_calls.append((a["text"], b["text"], toy.verify_explanation(right, bodies["A"], bodies["B"])[0], raw))
    return {"calls": n, "links": links, "forms": forms, "claims": claims, "wrong": wrong_calls}


PAIR_KINDS = ("right", "inverted", "both right", "both wrong, a right candidate in the round",
              "both wrong, no right candidate")


def right_labels(tables: dict[str, pl.DataFrame]) -> tuple[dict, dict]:
    """The oracle's labels of a rollout's candidates ((problem, round, candidate) -> right) and, per round,
    whether any candidate was right."""
    label = {(c["problem_id"], c["round"], c["candidate"]): c["oracle"] == "correct"
             for c in tables["candidates"].iter_rows(named=True)}
    any_right: dict = {}
    for (pid, r, _), ok in label.items():
        any_right[(pid, r)] = any_right.get((pid, r), False) or ok
    return label, any_right


def pair_kinds(tables: dict[str, pl.DataFrame]) -> dict[str, int]:
    """The pairs of a rollout (as the pairs stage takes them: rounds decided best over worst that no later rollback
    discarded), counted by the oracle's labels of their best and worst step and of the round's other candidates
    (``PAIR_KINDS``)."""
    label, any_right = right_labels(tables)
    kinds = dict.fromkeys(PAIR_KINDS, 0)
    for row in tables["rounds"].filter((pl.col("outcome") == "pair") & ~pl.col("discarded")).iter_rows(named=True):
        key = (row["problem_id"], row["round"])
        best, worst = label[(*key, row["best"])], label[(*key, row["worst"])]
        kinds["right" if best and not worst else "inverted" if worst and not best else "both right" if best
              else PAIR_KINDS[3] if any_right[key] else PAIR_KINDS[4]] += 1
    return kinds


def rewrites(tables: dict[str, pl.DataFrame], questions: dict[str, str]) -> dict[str, list[int]]:
    """The judge's rewrite of the right step (its explanation's first sentence) on every judge call of a rollout,
    not only the right-vs-wrong ones: {round kind: [calls, rewrite right]}, the round kind being whether a right
    candidate was in the round. Where none was, a wrong rewrite is how a pair of two wrong steps gets proven:
    the judge copies the candidates' wrong event and finds one of them "right"."""
    label, any_right = right_labels(tables)
    prompts = {(r["problem_id"], r["round"]): r["prompt"] for r in tables["rounds"].iter_rows(named=True)}
    out = {"a right candidate in the round": [0, 0], "no right candidate": [0, 0]}
    for j in tables["judgments"].iter_rows(named=True):
        key = (j["problem_id"], j["round"])
        previous = previous_steps(prompts[key])
        right = toy.right_step(questions[j["problem_id"]], previous)
        if right is None:
            continue
        row = out["a right candidate in the round" if any_right[key] else "no right candidate"]
        row[0] += 1
        row[1] += (j["raw"] or "").startswith(right.split(" The answer is ")[0])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rollout", type=Path)
    ap.add_argument("--show", type=int, default=0)
    ap.add_argument("--forms", action="store_true", help="split by the wrong candidate's form and oracle label")
    ap.add_argument("--pairs", action="store_true", help="split the pairs by the oracle's labels of their steps")
    ap.add_argument("--rewrite", action="store_true", help="the judge's rewrite of the right step on every call")
    args = ap.parse_args()
    params = load_params()
    questions = {p.id: p.problem for split in ("search", "test")
                 for p in read_jsonl(params.problems_file(split), Problem)}
    tables = {t: pl.read_parquet(args.rollout / f"{t}.parquet") for t in ("judgments", "candidates", "rounds")}
    scored = score_calls(tables, questions)
    if args.pairs:
        kinds = pair_kinds(tables)
        total = sum(kinds.values())
        print(f"{total} pairs: " + ", ".join(f"{k} {v}" for k, v in kinds.items()))
        print(f"right where a right candidate was in the round: {kinds['right']}/{total - kinds[PAIR_KINDS[4]]}")
    if args.rewrite:
        for kind, (calls, right) in rewrites(tables, questions).items():
            print(f"rewrite right, {kind}: {right}/{calls} = {right / max(calls, 1):.3f}")
    n, forms = scored["calls"], scored["forms"]
    for a, b, expected, raw in scored["wrong"][:args.show]:
        print(f"A: {a}\nB: {b}\nexpected: {expected}\njudge:    {raw}\n")
    if not n:
        raise SystemExit(f"{args.rollout}: no right-vs-wrong judge calls (no oracle, or no contested rounds)")
    print(f"{n} right-vs-wrong judge calls: " + ", ".join(f"{k} {v / n:.3f}" for k, v in scored["links"].items()))
    if args.forms:
        print("| wrong candidate | oracle label | calls | verdict right | parse failures |\n|---|---|---|---|---|")
        for (form, label), (calls, ok, failed) in sorted(forms.items(), key=lambda kv: (kv[0][0], -kv[1][0])):
            print(f"| {form} | {label} | {calls} | {ok / calls:.2f} | {failed / calls:.2f} |")
        print("| wrong candidate | claims what the right one claims | calls | verdict right |\n|---|---|---|---|")
        for (form, same), (calls, ok) in sorted(scored["claims"].items()):
            print(f"| {form} | {'yes' if same else 'no'} | {calls} | {ok / calls:.2f} |")
        garbled = sum(v[0] for k, v in forms.items() if k[0] == "garbled")
        print(f"garbled: {garbled / n:.2f} of the calls, verdict right "
              f"{sum(v[1] for k, v in forms.items() if k[0] == 'garbled') / max(garbled, 1):.2f}; well-formed "
              f"{sum(v[1] for k, v in forms.items() if k[0] == 'well-formed') / max(n - garbled, 1):.2f}")


if __name__ == "__main__":
    main()
