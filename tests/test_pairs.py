"""The pairs query and the search metrics query on hand-built rollout tables."""

import json
from pathlib import Path

import pytest

from psrlm.analytics import query
from psrlm.params import PairRules, load_params
from psrlm.proofs import proves
from schemas import Candidate, Judgment, PreferencePair, Round, SearchPath
from schemas.table import read_parquet, write_parquet

ROOT = Path(__file__).resolve().parents[1]


def cand(pid, rnd, i, text, wins, final=False, oracle=None):
    return Candidate(problem_id=pid, round=rnd, candidate=i, text=text, finish_reason="stop", final=final,
                     duplicate_of=None, wins=wins, oracle=oracle)


def rnd(pid, r, outcome, best, worst, bw, ww, discarded=False):
    return Round(problem_id=pid, round=r, position=1, prompt=f"prompt-{pid}-{r}", n_candidates=2, n_distinct=2,
                 best=best, worst=worst, best_wins=bw, worst_wins=ww, outcome=outcome, discarded=discarded)


def judgment(pid, r, first, second, verdict):
    winner = first if verdict == "A" else second if verdict == "B" else None
    return Judgment(problem_id=pid, round=r, first=first, second=second, raw=f"[[{verdict}]]", verdict=verdict,
                    p_a=None, winner=winner)


def tables(tmp_path):
    candidates = [cand("p", 0, 0, "Step 1: good", 2.0), cand("p", 0, 1, "Step 1: bad", 0.0),
                  cand("p", 1, 0, "Step 2: x", 1.0), cand("p", 1, 1, "Step 2: y", 1.0),
                  cand("q", 0, 0, "Step 1: dropped", 2.0), cand("q", 0, 1, "Step 1: worse", 0.0),
                  cand("q", 1, 0, "Step 1: ok \\boxed{3}", 1.0, final=True), cand("q", 1, 1, "Step 1: no", 0.0)]
    rounds = [rnd("p", 0, "pair", 0, 1, 2.0, 0.0), rnd("p", 1, "tie_rollback", None, None, 1.0, 1.0),
              rnd("q", 0, "pair", 0, 1, 2.0, 0.0, discarded=True), rnd("q", 1, "pair", 0, 1, 1.0, 0.0)]
    judgments = [judgment("p", 0, 0, 1, "A"), judgment("p", 0, 1, 0, "B"),  # consistent
                 judgment("p", 1, 0, 1, "A"), judgment("p", 1, 1, 0, "A"),  # a flip
                 judgment("q", 1, 0, 1, "A"), judgment("q", 1, 1, 0, None)]  # a parse failure
    paths = [SearchPath(problem_id="p", steps=["Step 1: good"], answer=None, gold="1", correct=False, n_rounds=2,
                        n_rollbacks=1, stop_reason="max_steps"),
             SearchPath(problem_id="q", steps=["Step 1: ok \\boxed{3}"], answer="3", gold="3", correct=True,
                        n_rounds=2, n_rollbacks=0, stop_reason="answer")]
    for name, model, rows in [("candidates", Candidate, candidates), ("rounds", Round, rounds),
                              ("judgments", Judgment, judgments), ("paths", SearchPath, paths)]:
        write_parquet(tmp_path / f"{name}.parquet", model, rows)
    return {k: tmp_path / f"{k}.parquet" for k in ("candidates", "rounds", "judgments", "paths")}


def test_pairs_skip_ties_and_rolled_back_rounds(tmp_path):
    t = tables(tmp_path)
    pairs = query("pairs", rounds=t["rounds"], candidates=t["candidates"], judgments=t["judgments"]).to_dicts()
    assert [(p["problem_id"], p["chosen"], p["rejected"]) for p in pairs] == [
        ("p", "Step 1: good", "Step 1: bad"), ("q", "Step 1: ok \\boxed{3}", "Step 1: no")]
    assert pairs[0]["prompt"] == "prompt-p-0" and pairs[1]["chosen_final"] and not pairs[1]["rejected_final"]


def test_search_metrics(tmp_path):
    t = tables(tmp_path)
    m = query("rollout_metrics", **t).row(0, named=True)
    assert m["pairs"] == 2 and m["rounds"] == 4 and m["rollbacks"] == 1
    assert m["tie_rate"] == 0.25
    assert m["parse_failures"] == 1 and abs(m["parse_failure_rate"] - 1 / 6) < 1e-9
    assert m["flip_rate"] == 0.5  # of the two pairs judged in both orders with both verdicts parsed
    assert m["path_accuracy"] == 0.5
    assert m["multi_candidate_rounds"] == 4
    assert m["too_long"] == 0  # no path ended for want of context
    assert m["judge_accuracy_wild"] is None and m["pair_correct_rate"] is None  # no oracle: not measured
    assert m["flip_rate_wild"] is None


def oracle_rollout(tmp_path, invert: bool):
    """Two problems, each a round of a right and a wrong step (right shown first in one, second in the
    other) plus a round where both are wrong, judged in both orders by a judge that is always right
    (or always wrong, ``invert``)."""
    candidates, rounds, judgments = [], [], []
    for pid, right in (("p", 0), ("q", 1)):  # the right candidate's index
        wrong = 1 - right
        candidates += [cand(pid, 0, right, "Step 1: right", 0.0, oracle="correct"),
                       cand(pid, 0, wrong, "Step 1: wrong", 0.0, oracle="arithmetic"),
                       cand(pid, 1, 0, "Step 2: wrong", 0.0, oracle="arithmetic"),
                       cand(pid, 1, 1, "Step 2: wrong too", 0.0, oracle="previous_value")]
        winner = wrong if invert else right
        for first, second in ((0, 1), (1, 0)):
            judgments.append(judgment(pid, 0, first, second, "A" if first == winner else "B"))
            judgments.append(judgment(pid, 1, first, second, "A"))  # not in the wild: both wrong
        rounds.append(Round(problem_id=pid, round=0, position=1, prompt="x", n_candidates=2, n_distinct=2,
                            best=winner, worst=1 - winner, best_wins=2.0, worst_wins=0.0, outcome="pair",
                            discarded=False))
        rounds.append(Round(problem_id=pid, round=1, position=2, prompt="y", n_candidates=2, n_distinct=2,
                            best=None, worst=None, best_wins=1.0, worst_wins=1.0, outcome="tie_rollback",
                            discarded=False))
    paths = [SearchPath(problem_id=pid, steps=["Step 1: x"], answer=None, gold="1", correct=False, n_rounds=2,
                        n_rollbacks=1, stop_reason="max_steps") for pid in "pq"]
    for name, model, rows in [("candidates", Candidate, candidates), ("rounds", Round, rounds),
                              ("judgments", Judgment, judgments), ("paths", SearchPath, paths)]:
        write_parquet(tmp_path / f"{name}.parquet", model, rows)
    return query("rollout_metrics", **{k: tmp_path / f"{k}.parquet" for k in
                                       ("candidates", "rounds", "judgments", "paths")}).row(0, named=True)


def test_oracle_metrics_score_a_right_judge_1_and_an_inverted_one_0(tmp_path):
    (tmp_path / "right").mkdir()
    (tmp_path / "inverted").mkdir()
    right, inverted = oracle_rollout(tmp_path / "right", False), oracle_rollout(tmp_path / "inverted", True)
    for m in (right, inverted):
        assert m["wild_judgments"] == 4  # the (right, wrong) comparisons in both orders, not the both-wrong ones
        assert m["mixed_rounds"] == 2 and m["multi_candidate_rounds"] == 4
    assert right["judge_accuracy_wild"] == 1.0 and inverted["judge_accuracy_wild"] == 0.0
    for m in (right, inverted):  # the both-wrong round flips (a tie: no harm), the right-vs-wrong one never
        assert m["flip_rate"] == 0.5 and m["flip_rate_wild"] == 0.0
    assert right["pair_correct_rate"] == 1.0 and right["correct_pairs"] == 2
    assert inverted["pair_correct_rate"] == 0.0 and inverted["correct_pairs"] == 0


def test_a_verify_explanation_proves_its_verdict_only_when_its_checks_do():
    assert proves("Second, she gives away 3, so 8 - 3 = 5. A says 6; 6 - 5 = 1. B says 5; 5 - 5 = 0. [[B]]")
    assert not proves("A says 6; 6 - 5 = 2. B says 5; 5 - 5 = 0. [[B]]")  # wrong arithmetic in a check
    assert not proves("A says 6; 6 - 5 = 1. B says 5; 5 - 4 = 1. [[B]]")  # two recomputed values, winner not 0
    assert not proves("A says 5; 5 - 5 = 0. B says 5; 5 - 5 = 0. [[A]]")  # the loser checks out too
    assert not proves("A says 6; 6 - 5 = 1. [[ says 5; 5 - 5 = 0. [[B]]")  # garbled: B is never checked
    assert not proves("[[A]]") and not proves(None)
    # a garbled candidate claims nothing: the other one's exact 0 proves the verdict, nothing else does
    assert proves("Second, she gives away 3, so 8 - 3 = 5. A says nothing. B says 5; 5 - 5 = 0. [[B]]")
    assert not proves("Second, she gives away 3, so 8 - 3 = 5. A says nothing. B says 6; 6 - 5 = 1. [[B]]")
    assert not proves("Second, she gives away 3, so 8 - 3 = 5. A says nothing. B says 5; 5 - 5 = 0. [[A]]")
    assert not proves("A says nothing. B says nothing. [[B]]")


def test_a_step_is_the_judges_rewrite_only_word_for_word_up_to_its_boxed_answer():
    from psrlm.proofs import rewrite_of, rewrites

    raw = "Second, she gets 1 more, so 4 + 1 = 5. A says 5; 5 - 5 = 0. B says 6; 6 - 5 = 1. [[A]]"
    assert rewrite_of(raw) == "Second, she gets 1 more, so 4 + 1 = 5."
    assert rewrites(raw, "Step 2: Second, she gets 1 more, so 4 + 1 = 5. The answer is \\boxed{5}.")
    assert not rewrites(raw, "Step 2: Second, she gets 1 more, so 3 + 2 = 5. The answer is \\boxed{5}.")
    assert not rewrites(raw, "Step 2: Second, she gives away 1, so 4 + 1 = 5.")
    assert not rewrites(raw, "S 2: Second, she gets 1 more, so 4 + 1 = 5.")
    assert rewrite_of("A says 5; 5 - 5 = 0. B says nothing. [[A]]") is None and rewrite_of(None) is None


def proof_rollout(folder):
    """A right pair whose judgments prove their verdicts (p), a right pair with one judgment that does not (q:
    its arithmetic is off), and a pair of two wrong steps whose judge recomputed the wrong value (r: its checks
    are exact, so the rule keeps it: the rule asks the judge, not the oracle)."""

    def explained(pid, r, first, second, claims, value):
        a, b = claims[first], claims[second]
        verdict = "A" if a == value else "B"
        raw = f"A says {a}; {a} - {value} = {a - value}. B says {b}; {b} - {value} = {b - value}. [[{verdict}]]"
        if pid == "q" and first == 1:
            raw = raw.replace(f"= {a - value}.", f"= {a - value + 1}.", 1)  # one unproven judgment
        return Judgment(problem_id=pid, round=r, first=first, second=second, raw=raw, verdict=verdict, p_a=None,
                        winner=first if verdict == "A" else second)

    candidates, rounds, judgments = [], [], []
    for pid, oracles, claims, value in (("p", ("correct", "arithmetic"), (5, 6), 5),
                                        ("q", ("correct", "arithmetic"), (5, 6), 5),
                                        ("r", ("event", "event"), (9, 12), 9)):
        candidates += [cand(pid, 0, i, f"Step 1: {claims[i]}", 0.0, oracle=oracles[i]) for i in (0, 1)]
        judgments += [explained(pid, 0, f, s, claims, value) for f, s in ((0, 1), (1, 0))]
        rounds.append(rnd(pid, 0, "pair", 0, 1, 2.0, 0.0))
    folder.mkdir(parents=True, exist_ok=True)
    for name, model, rows in [("candidates", Candidate, candidates), ("rounds", Round, rounds),
                              ("judgments", Judgment, judgments)]:
        write_parquet(folder / f"{name}.parquet", model, rows)


def test_the_pair_rules_benchmark_keeps_pairs_whose_explanations_prove_them(tmp_path):
    from benchmarks.pair_rules import pair_rules, rollout_pairs

    proof_rollout(tmp_path)
    m = pair_rules(rollout_pairs(tmp_path))
    assert m["pairs"] == 3 and m["right"] == 2 / 3 and m["wrong_from_all_wrong"] == 1.0
    assert m["checked"] == 2 and m["checked_right"] == 0.5  # p and r: the rule cannot see a judge's wrong value


def test_the_pair_rules_benchmark_tells_explanations_that_quote_the_candidates_from_those_that_do_not(tmp_path):
    """Three pairs whose judgments all prove their verdicts: p quotes both claims and works its step out exactly
    (right pair); q checks "A says 2" where A boxed 4 (an answer-mismatch step chosen); r works its step out
    wrong (5 - 3 = 1) and so prefers the step with the same slip. Only p is copied."""
    from benchmarks.pair_rules import copies_claims, pair_rules, rollout_pairs

    right, mismatch = "Step 1: First, he gives away 3, so 5 - 3 = 2.", "Step 1: First, he gives away 3, so 5 - 3 = 2. " \
        "The answer is \\boxed{4}."
    slip, garbled = "Step 1: First, he gives away 3, so 5 - 3 = 1.", "Step 1: First, he gives 3 - A says"
    work, slipped = "First, he gives away 3, so 5 - 3 = 2.", "First, he gives away 3, so 5 - 3 = 1."
    rounds = {"p": ((right, "correct"), (mismatch, "answer_mismatch"), work, "2; 2 - 2 = 0", "4; 4 - 2 = 2"),
              "q": ((mismatch, "answer_mismatch"), (garbled, "format"), work, "2; 2 - 2 = 0", "nothing"),
              "r": ((slip, "arithmetic"), (right, "correct"), slipped, "1; 1 - 1 = 0", "2; 2 - 1 = 1")}
    candidates, judgments = [], []
    for pid, (best, worst, worked, says_best, says_worst) in rounds.items():
        candidates += [cand(pid, 0, i, text, 0.0, oracle=oracle) for i, (text, oracle) in enumerate((best, worst))]
        for first, second in ((0, 1), (1, 0)):
            a, b = (says_best, says_worst) if first == 0 else (says_worst, says_best)
            verdict = "A" if first == 0 else "B"
            raw = f"{worked} A says {a}. B says {b}. [[{verdict}]]"
            judgments.append(Judgment(problem_id=pid, round=0, first=first, second=second, raw=raw, verdict=verdict,
                                      p_a=None, winner=0))
    for name, model, rows in [("candidates", Candidate, candidates), ("judgments", Judgment, judgments),
                              ("rounds", Round, [rnd(pid, 0, "pair", 0, 1, 2.0, 0.0) for pid in rounds])]:
        write_parquet(tmp_path / f"{name}.parquet", model, rows)
    m = pair_rules(rollout_pairs(tmp_path))
    assert m["pairs"] == 3 and m["checked"] == 3 and m["checked_right"] == 1 / 3
    assert m["copied"] == 1 and m["copied_right"] == 1.0
    assert not copies_claims(None, right, right)


@pytest.mark.parametrize("keep, kept, right", [("all", ["p", "q", "r"], 2 / 3), ("proven", ["p", "r"], 1 / 2)])
def test_the_pairs_stage_keeps_what_pairs_keep_says(tmp_path, keep, kept, right):
    from stages.pairs import main

    params = load_params(ROOT / "params.yaml")
    params = params.model_copy(update={
        "paths": params.paths.model_copy(update={k: str(tmp_path / k) for k in ("rollouts", "pairs", "metrics")}),
        "pairs": PairRules(keep=keep)})
    proof_rollout(tmp_path / "rollouts" / "m2")
    main(params, "m2")
    pairs = read_parquet(params.pairs_file("m2"), PreferencePair)
    assert [p.problem_id for p in pairs] == kept and all(p.model == "m1" for p in pairs)
    m = json.loads(params.metrics_file("pairs", "m2").read_text())
    assert m == {"decided": 3, "pairs": len(kept), "keep": keep, "decided_correct_rate": 2 / 3,
                 "pair_correct_rate": right}


def test_the_judge_links_benchmark_scores_each_link_and_counts_no_parse_failure_as_right():
    """``benchmarks.judge_links`` on a hand-built round: a right step (0), a well-formed wrong one (1), a garbled
    one (2). The judge proves its verdict on 0 vs 1 in both orders; it garbles its output on 2 vs 0 (no verdict,
    with the right step second: a parse failure must not count as choosing it)."""
    import polars as pl

    from benchmarks.judge_links import score_calls

    question = "Max has 5 coins. First, he gives away 3. Second, he gets 5 more. How many coins does Max have now?"
    texts = ["Step 1: First, he gives away 3, so 5 - 3 = 2.", "Step 1: First, he gives away 3, so 5 - 3 = 1.",
             "Step 1: First, he gives away 3, so 5 - 3 = 2. A says"]
    labels = ["correct", "arithmetic", "format"]
    candidates = [cand("p", 0, i, t, 0.0, oracle=o) for i, (t, o) in enumerate(zip(texts, labels))]
    work = "First, he gives away 3, so 5 - 3 = 2."
    judgments = [
        Judgment(problem_id="p", round=0, first=0, second=1, raw=f"{work} A says 2; 2 - 2 = 0. B says 1; 1 - 2 = -1. "
                 "[[A]]", verdict="A", p_a=None, winner=0),
        Judgment(problem_id="p", round=0, first=1, second=0, raw=f"{work} A says 1; 1 - 2 = -1. B says 2; 2 - 2 = 0. "
                 "[[B]]", verdict="B", p_a=None, winner=0),
        Judgment(problem_id="p", round=0, first=2, second=0, raw="First, he [[ says", verdict=None, p_a=None,
                 winner=None),
        Judgment(problem_id="p", round=0, first=1, second=2, raw="[[A]]", verdict="A", p_a=None,
                 winner=1)]  # both wrong: not in the wild
    rounds = [rnd("p", 0, "pair", 0, 1, 2.0, 0.0)]
    tables = {name: pl.DataFrame([r.model_dump() for r in rows])
              for name, rows in (("candidates", candidates), ("judgments", judgments), ("rounds", rounds))}
    scored = score_calls(tables, {"p": question})
    assert scored["calls"] == 3  # the both-wrong call is not in the wild
    links = scored["links"]
    assert links["verdict right"] == 2 and links["verdict follows"] == 2 and links["right step"] == 2
    assert links["claim A"] == 2 and links["claim B"] == 2
    assert scored["forms"] == {("well-formed", "arithmetic"): [2, 2, 0], ("garbled", "format"): [1, 0, 1]}
    assert scored["claims"] == {("well-formed", False): [2, 2], ("garbled", True): [1, 0]}  # "... = 2. A says" claims 2
    assert len(scored["wrong"]) == 1 and scored["wrong"][0][3] == "First, he [[ says"


def test_the_rewrite_link_is_scored_on_every_call_split_by_rounds_with_and_without_a_right_step():
    """``benchmarks.judge_links --rewrite``: the judge's first sentence against the right step on every call. Round 0
    holds the right step (one call rewrites it, one garbles); round 1 (after step 1) holds two steps that give away
    again where the question gives more: the judge that copies their event is wrong, the one that reads the
    question is right."""
    import polars as pl

    from benchmarks.judge_links import rewrites

    question = "Max has 5 coins. First, he gives away 3. Second, he gets 5 more. How many coins does Max have now?"
    step1 = "Step 1: First, he gives away 3, so 5 - 3 = 2."
    candidates = [cand("p", 0, 0, step1, 1.0, oracle="correct"),
                  cand("p", 0, 1, "Step 1: First, he gives away 3, so 5 - 3 = 1.", 0.0, oracle="arithmetic"),
                  cand("p", 1, 0, "Step 2: Second, he gives away 5, so 2 - 5 = 0. The answer is \\boxed{0}.", 1.0,
                       oracle="event"),
                  cand("p", 1, 1, "Step 2: Second, he gives away 5, so 2 - 5 = 1. The answer is \\boxed{1}.", 0.0,
                       oracle="event")]
    rounds = [rnd("p", 0, "pair", 0, 1, 1.0, 0.0),
              rnd("p", 1, "pair", 0, 1, 1.0, 0.0).model_copy(update={"prompt": f"Problem: ...\n{step1}\n"})]
    raws = [(0, "First, he gives away 3, so 5 - 3 = 2. A says 2; 2 - 2 = 0. B says 1; 1 - 2 = -1. [[A]]"),
            (0, "First, he [[ says"),
            (1, "Second, he gives away 5, so 2 - 5 = 0. A says 0; 0 - 0 = 0. B says 1; 1 - 0 = 1. [[A]]"),
            (1, "Second, he gets 5 more, so 2 + 5 = 7. A says 0; 0 - 7 = -7. B says 1; 1 - 7 = -6. [[B]]")]
    judgments = [Judgment(problem_id="p", round=r, first=0, second=1, raw=raw, verdict=None, p_a=None, winner=None)
                 for r, raw in raws]
    tables = {name: pl.DataFrame([r.model_dump() for r in rows])
              for name, rows in (("candidates", candidates), ("judgments", judgments), ("rounds", rounds))}
    assert rewrites(tables, {"p": question}) == {"a right candidate in the round": [2, 1], "no right candidate": [2, 1]}


def test_the_pair_kinds_tell_the_judges_misses_from_rounds_without_a_right_step():
    """``benchmarks.judge_links --pairs``: a pair is right, inverted, both right, or both wrong, and a both-wrong
    pair from a round that held a right candidate (the judge's miss) is told from one whose round held none; a
    single candidate or a round a rollback discarded is no pair."""
    import polars as pl

    from benchmarks.judge_links import PAIR_KINDS, pair_kinds

    labels = {"right": ["correct", "arithmetic"], "inverted": ["event", "correct"], "both right": ["correct", "correct"],
              "miss": ["format", "arithmetic", "correct"], "none": ["format", "arithmetic", "event"],
              "single": ["correct", "arithmetic"]}
    candidates = [cand(pid, 0, i, f"Step 1: {pid} {i}", 0.0, oracle=o) for pid, os in labels.items()
                  for i, o in enumerate(os)]
    rounds = [rnd(pid, 0, "single" if pid == "single" else "pair", 0, 1, 1.0, 0.0) for pid in labels]
    rounds.append(rnd("right", 1, "pair", 0, 1, 1.0, 0.0, discarded=True))  # a later rollback removed it: no pair
    candidates += [cand("right", 1, i, f"Step 2: {i}", 0.0, oracle=o) for i, o in enumerate(["correct", "event"])]
    tables = {"candidates": pl.DataFrame([c.model_dump() for c in candidates]),
              "rounds": pl.DataFrame([r.model_dump() for r in rounds])}
    assert pair_kinds(tables) == dict(zip(PAIR_KINDS, [1, 1, 1, 1, 1]))
    flipped = tables | {"candidates": tables["candidates"].with_columns(
        pl.when(pl.col("problem_id") == "right").then(pl.lit("format")).otherwise(pl.col("oracle")).alias("oracle"))}
    assert pair_kinds(flipped) == dict(zip(PAIR_KINDS, [0, 1, 1, 1, 2]))


def test_the_right_step_benchmark_splits_rounds_by_what_the_search_sampled_and_reaches_by_width():
    """``benchmarks.right_step``: a round is ``all`` right, ``mixed`` or ``none`` by its candidates' oracle labels;
    a step drawn with probability 1/2 is among w samples with probability 1 - 1/2^w, one of probability 0 never."""
    import math

    import polars as pl

    from benchmarks.right_step import reach, round_kinds

    labels = {"a": ["correct", "correct"], "m": ["correct", "event"], "n": ["format", "arithmetic"]}
    candidates = [cand(pid, 0, i, f"Step 1: {pid} {i}", 0.0, oracle=o) for pid, os in labels.items()
                  for i, o in enumerate(os)]
    rounds = [rnd(pid, 0, "pair", 0, 1, 1.0, 0.0) for pid in labels]
    tables = {"candidates": pl.DataFrame([c.model_dump() for c in candidates]),
              "rounds": pl.DataFrame([r.model_dump() for r in rounds])}
    kinds = dict(round_kinds(tables).select("problem_id", "kind").iter_rows())
    assert kinds == {"a": "all", "m": "mixed", "n": "none"}
    f = reach([math.log(0.5), -1e9], [1, 2])
    assert f["rounds"] == 2 and f["mean"] == pytest.approx(0.25)
    assert f["P(>=1 of 1)"] == pytest.approx(0.25) and f["P(>=1 of 2)"] == pytest.approx(0.375)
    # --by-event: rounds at position 1 of a question whose first event is a subtraction (m, n) or an addition (a)
    from benchmarks.right_step import by_event, event_operation
    questions = {"a": "Ben has 2 pens. First, he gets 3 more. Second, he gives away 1. How many pens does Ben have now?",
                 **{pid: "Ben has 4 pens. First, he gives away 1. Second, he gets 2 more. How many pens does Ben have "
                         "now?" for pid in "mn"}}
    assert [event_operation(questions["a"], n) for n in (1, 2, 3)] == ["add", "sub", None]
    rows = {r["operation"]: r for r in by_event(tables, questions).iter_rows(named=True)}
    assert rows["add"]["candidates_right"] == 1.0 and rows["add"]["rounds_none_right"] == 0.0
    assert (rows["sub"]["rounds"], rows["sub"]["candidates"], rows["sub"]["candidates_right"]) == (2, 4, 0.25)
    assert rows["sub"]["rounds_none_right"] == 0.5


@pytest.mark.parametrize("keep, kept", [("proven", ["p", "s"]), ("exact", ["p"])])
def test_pairs_keep_exact_also_asks_that_the_chosen_step_be_the_judges_rewrite(tmp_path, keep, kept):
    """p: the chosen step is what the judge worked out; s: it claims the same 5 from a false equation (3 + 2 after
    a step that left 4), so its proofs hold but it is not the judge's step."""
    from stages.pairs import main

    params = load_params(ROOT / "params.yaml")
    params = params.model_copy(update={
        "paths": params.paths.model_copy(update={k: str(tmp_path / k) for k in ("rollouts", "pairs", "metrics")}),
        "pairs": PairRules(keep=keep)})
    work = "Second, she gets 1 more, so 4 + 1 = 5."
    steps = {"p": (f"Step 2: {work}", "Step 2: Second, she gets 1 more, so 4 + 1 = 6."),
             "s": ("Step 2: Second, she gets 1 more, so 3 + 2 = 5.", "Step 2: Second, she gets 1 more, so 4 + 1 = 6.")}
    candidates, judgments = [], []
    for pid, (best, worst) in steps.items():
        candidates += [cand(pid, 0, 0, best, 2.0, oracle="correct" if pid == "p" else "previous_value"),
                       cand(pid, 0, 1, worst, 0.0, oracle="arithmetic")]
        judgments += [
            Judgment(problem_id=pid, round=0, first=0, second=1, raw=f"{work} A says 5; 5 - 5 = 0. B says 6; 6 - 5 = 1. "
                     "[[A]]", verdict="A", p_a=None, winner=0),
            Judgment(problem_id=pid, round=0, first=1, second=0, raw=f"{work} A says 6; 6 - 5 = 1. B says 5; 5 - 5 = 0. "
                     "[[B]]", verdict="B", p_a=None, winner=0)]
    folder = tmp_path / "rollouts" / "m2"
    folder.mkdir(parents=True)
    for name, model, rows in [("candidates", Candidate, candidates), ("judgments", Judgment, judgments),
                              ("rounds", Round, [rnd(pid, 0, "pair", 0, 1, 2.0, 0.0) for pid in steps])]:
        write_parquet(folder / f"{name}.parquet", model, rows)
    main(params, "m2")
    assert [p.problem_id for p in read_parquet(params.pairs_file("m2"), PreferencePair)] == kept
    m = json.loads(params.metrics_file("pairs", "m2").read_text())
    assert m["keep"] == keep and m["pair_correct_rate"] == 1 / len(kept)


@pytest.mark.parametrize("keep", ["all", "proven", "exact"])
def test_the_pairs_stage_writes_an_empty_table_when_no_round_was_decided(tmp_path, keep):
    from stages.pairs import main

    params = load_params(ROOT / "params.yaml")
    params = params.model_copy(update={
        "paths": params.paths.model_copy(update={k: str(tmp_path / k) for k in ("rollouts", "pairs", "metrics")}),
        "pairs": PairRules(keep=keep)})
    folder = tmp_path / "rollouts" / "m2"
    folder.mkdir(parents=True)
    write_parquet(folder / "candidates.parquet", Candidate, [cand("p", 0, 0, "Step 1: x", 1.0),
                                                             cand("p", 0, 1, "Step 1: y", 1.0)])
    write_parquet(folder / "rounds.parquet", Round, [rnd("p", 0, "tie_rollback", None, None, 1.0, 1.0)])
    write_parquet(folder / "judgments.parquet", Judgment, [judgment("p", 0, 0, 1, "A"), judgment("p", 0, 1, 0, "A")])
    main(params, "m2")
    assert read_parquet(params.pairs_file("m2"), PreferencePair) == []
    m = json.loads(params.metrics_file("pairs", "m2").read_text())
    assert m["decided"] == 0 and m["pairs"] == 0 and m["pair_correct_rate"] is None


def test_the_pairs_stage_adds_the_judges_own_step_where_every_judgment_writes_it_and_no_candidate_is_it(tmp_path):
    """pairs.rewrites: round 0 samples two wrong second steps and both judgments work out the right one
    (7 - 2 = 5), checking each claim exactly: that step, with its answer, is chosen over the worst candidate.
    Round 1: the judgments work out two different steps; round 2: the step they work out is a candidate (an
    exact pair, not a new one). Off, the stage writes what it always wrote."""
    from psrlm import toy
    from schemas import Problem
    from schemas.table import write_jsonl
    from stages.pairs import main

    question = "Eva has 2 stamps. First, she gets 5 more. Second, she gives away 2. How many stamps does Eva have now?"
    first = "Step 1: First, she gets 5 more, so 2 + 5 = 7."
    right = "Second, she gives away 2, so 7 - 2 = 5."
    wrong = {0: ("Step 2: Second, she gets 2 more, so 7 + 2 = 9. The answer is \\boxed{9}.", 9, "event"),
             1: ("Step 2: Second, she gives away 2, so 7 - 2 = 6. The answer is \\boxed{6}.", 6, "arithmetic")}
    worked = {0: [right, right], 1: [right, "Second, she gives away 2, so 7 - 2 = 4."], 2: [right.replace("= 5.", "= 6.")] * 2}
    candidates, judgments, rounds = [], [], []
    for r in (0, 1, 2):
        wins = (1.0, 0.0) if r == 2 else (0.0, 1.0)
        candidates += [cand("p", r, i, wrong[i][0], wins[i], final=True, oracle=wrong[i][2]) for i in (0, 1)]
        for (a, b), work in zip(((0, 1), (1, 0)), worked[r]):
            value = toy.parse_equation(work)[3]
            verdict = "A" if wrong[a][1] == value else "B" if wrong[b][1] == value else "B"
            raw = (f"{work} A says {wrong[a][1]}; {wrong[a][1]} - {value} = {wrong[a][1] - value}. "
                   f"B says {wrong[b][1]}; {wrong[b][1]} - {value} = {wrong[b][1] - value}. [[{verdict}]]")
            judgments.append(Judgment(problem_id="p", round=r, first=a, second=b, raw=raw, verdict=verdict, p_a=None,
                                      winner=a if verdict == "A" else b))
        rounds.append(Round(problem_id="p", round=r, position=2, prompt=f"<|user|>\nProblem: {question}<|end|>\n"
                            f"<|assistant|>\n{first}\n", n_candidates=2, n_distinct=2, best=None, worst=None,
                            best_wins=1.0, worst_wins=1.0, outcome="tie_forced", discarded=False))
    folder = tmp_path / "rollouts" / "m2"
    folder.mkdir(parents=True)
    for name, model, rows in [("candidates", Candidate, candidates), ("rounds", Round, rounds),
                              ("judgments", Judgment, judgments)]:
        write_parquet(folder / f"{name}.parquet", model, rows)
    write_jsonl(tmp_path / "problems" / "search.jsonl", Problem, [Problem(
        id="p", source="toy", problem=question, answer="5", steps=toy.solve(question), solution="")])
    params = load_params(ROOT / "params.yaml")
    paths = params.paths.model_copy(update={k: str(tmp_path / k) for k in ("rollouts", "pairs", "metrics", "problems")})
    from psrlm.proofs import new_step
    slipped = judgments[0].raw.replace("= 4.", "= 3.", 1)  # a check whose arithmetic is off proves nothing
    assert new_step([judgments[0].raw, judgments[1].raw], [c.text for c in candidates[:2]]) == right
    assert new_step([slipped, judgments[1].raw], [c.text for c in candidates[:2]]) is None
    for rewrites, expected in ((True, 1), (False, 0)):
        main(params.model_copy(update={"paths": paths, "pairs": PairRules(keep="exact", rewrites=rewrites)}), "m2")
        pairs = read_parquet(params.model_copy(update={"paths": paths}).pairs_file("m2"), PreferencePair)
        m = json.loads(params.model_copy(update={"paths": paths}).metrics_file("pairs", "m2").read_text())
        assert len(pairs) == expected
        if rewrites:
            (pair,) = pairs
            assert pair.chosen == f"Step 2: {right} The answer is \\boxed{{5}}." and pair.chosen_final
            assert pair.rejected == wrong[0][0] and (pair.round, pair.chosen_wins, pair.rejected_wins) == (0, 2.0, 0.0)
            assert m["rewrite_pairs"] == 1 and m["rewrite_correct_rate"] == 1.0 and m["pair_correct_rate"] == 1.0
        else:
            assert "rewrite_pairs" not in m and m["pairs"] == 0
