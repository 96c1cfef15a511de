"""The step-wise search on hand-built candidates and verdicts: scoring, selection, ties, rollback."""

from psrlm.generation import Completion
from psrlm.judge import Verdict
from psrlm.params import Search
from psrlm.schedules import Knockout, count_wins, judge_schedule, select_best_worst
from psrlm.search import ProblemSearch, SearchProblem, merge_duplicates

PROBLEM = SearchProblem(id="p1", question="Mia has 2 apples. She finds 3 more.", gold="5", prompt="<prompt>\n")


def cands(*texts, reason="stop"):
    return [Completion(t, reason, 5) for t in texts]


def judge_by(preferred: str):
    """A judge that prefers the candidate containing ``preferred``; returns outputs for a schedule."""

    def outputs(state: ProblemSearch, schedule):
        out = []
        for a, b in schedule:
            if preferred in state.candidate_text(a):
                out.append(Verdict("A is right [[A]]", "A", None))
            elif preferred in state.candidate_text(b):
                out.append(Verdict("B is right [[B]]", "B", None))
            else:
                out.append(Verdict("A [[A]]", "A", None))  # position-biased on the rest
        return out

    return outputs


def test_merge_duplicates_normalises_whitespace():
    assert merge_duplicates(["Step 1: 2 + 3 = 5.", "Step 1:  2 + 3 = 5.", "Step 1: 2 + 3 = 6."]) == [None, 0, None]


def test_schedule_both_orders_and_one_order():
    assert judge_schedule([0, 1, 2], "both") == [(0, 1), (1, 0), (0, 2), (2, 0), (1, 2), (2, 1)]
    assert judge_schedule([0, 1, 2], "one") == [(0, 1), (2, 0), (1, 2)]


def test_wins_ignore_parse_failures():
    wins = count_wins([0, 1, 2], [(0, 1, "A"), (1, 0, None), (0, 2, "B"), (2, 0, "B")])
    assert wins == {0: 2.0, 1: 0.0, 2: 1.0}


def test_ties_go_to_lowest_index():
    assert select_best_worst({0: 1.0, 1: 1.0, 2: 0.0, 3: 0.0}) == (0, 2)
    assert select_best_worst({3: 2.0, 1: 2.0}) == (1, 1)


def test_correct_step_is_chosen_and_pair_recorded():
    s = ProblemSearch(PROBLEM, Search(width=3, max_steps=5), "both")
    schedule = s.take_candidates(cands("Step 1: 2 + 3 = 6.", "Step 1: 2 + 3 = 5. The answer is \\boxed{5}.",
                                       "Step 1: 2 + 3 = 7."))
    s.take_verdicts(judge_by("= 5")(s, schedule))
    (r,) = s.rounds
    assert r["outcome"] == "pair" and r["best"] == 1 and r["best_wins"] > r["worst_wins"]
    assert r["prompt"] == "<prompt>\n"
    assert s.done and s.stop_reason == "answer" and s.finished_steps() == ["Step 1: 2 + 3 = 5. The answer is \\boxed{5}."]
    assert len(s.judgments) == 6 and {c["final"] for c in s.candidates if c["candidate"] == 1} == {True}


def test_all_scores_equal_rolls_back_the_previous_step_and_its_pair():
    s = ProblemSearch(PROBLEM, Search(width=2, max_steps=5, max_rollbacks=3), "both")
    schedule = s.take_candidates(cands("Step 1: 2 + 3 = 5.", "Step 1: 2 + 3 = 4."))
    s.take_verdicts(judge_by("= 5")(s, schedule))
    assert len(s.steps) == 1 and s.rounds[0]["outcome"] == "pair"
    # step 2: the judge says A both times: one win each, a tie
    schedule = s.take_candidates(cands("Step 2: 5 + 1 = 6.", "Step 2: 5 + 1 = 7."))
    s.take_verdicts([Verdict("[[A]]", "A", None)] * len(schedule))
    assert s.rounds[1]["outcome"] == "tie_rollback"
    assert s.steps == [] and s.rollbacks == 1
    assert s.rounds[0]["discarded"] is True  # the pair of the dropped step is not used
    assert s.prompt() == "<prompt>\n"


def test_rollbacks_are_bounded_then_best_is_kept_without_pair():
    s = ProblemSearch(PROBLEM, Search(width=2, max_steps=5, max_rollbacks=1), "both")
    for _ in range(2):
        schedule = s.take_candidates(cands("Step 1: a", "Step 1: b"))
        s.take_verdicts([Verdict("no verdict", None, None)] * len(schedule))
    assert [r["outcome"] for r in s.rounds] == ["tie_rollback", "tie_forced"]
    assert s.finished_steps() == ["Step 1: a"] and not s.done


def test_identical_samples_make_no_pair_and_no_judge_call():
    s = ProblemSearch(PROBLEM, Search(width=3, max_steps=5), "both")
    assert s.take_candidates(cands("Step 1: x", "Step 1: x", "Step 1:  x")) == []
    assert s.rounds[0]["outcome"] == "single" and s.rounds[0]["n_distinct"] == 1
    assert s.finished_steps() == ["Step 1: x"]


def test_stops_at_eos_and_at_max_steps():
    s = ProblemSearch(PROBLEM, Search(width=2, max_steps=5), "one")
    s.take_candidates(cands("Step 1: done", "Step 1: done", reason="eos"))
    assert s.stop_reason == "eos" and s.steps[0].final

    s = ProblemSearch(PROBLEM, Search(width=2, max_steps=1), "one")
    schedule = s.take_candidates(cands("Step 1: a", "Step 1: b"))
    s.take_verdicts([Verdict("[[B]]", "B", 0.2)] * len(schedule))
    assert s.stop_reason == "max_steps" and s.finished_steps() == ["Step 1: b"]


def play(schedule, strength):
    """Drive a schedule with a judge that prefers the stronger candidate; returns the calls made."""
    calls, total = schedule.next_calls(), 0
    while calls:
        total += len(calls)
        schedule.record([(a, b, "A" if strength[a] >= strength[b] else "B") for a, b in calls])
        calls = schedule.next_calls()
    return total


def test_knockout_finds_best_and_worst_with_fewer_comparisons():
    strength = {0: 3, 1: 5, 2: 1, 3: 4, 4: 0, 5: 2}
    ko = Knockout(list(range(6)), "both")
    calls = play(ko, strength)
    wins, best, worst = ko.result()
    assert (best, worst) == (1, 4)
    assert calls == 2 * 7 < len(judge_schedule(list(range(6)), "both")) == 30  # 3w/2 - 2 comparisons


def test_knockout_in_the_search_multi_phase():
    s = ProblemSearch(PROBLEM, Search(width=3, max_steps=5), "one", "knockout")
    calls = s.take_candidates(cands("Step 1: 2 + 3 = 6.", "Step 1: 2 + 3 = 5. The answer is \\boxed{5}.",
                                    "Step 1: 2 + 3 = 7."))
    phases = 0
    while calls:
        phases += 1
        calls = s.take_verdicts(judge_by("= 5")(s, calls))
    assert phases == 2 and s.rounds[0]["outcome"] == "pair" and s.rounds[0]["best"] == 1
    assert s.stop_reason == "answer"


def biased_direct_judge(state: ProblemSearch, schedule):
    """Says A every time (P(A) > 0.5), a little more sure when A holds the right result."""
    return [Verdict("[[A]]", "A", 0.8 if "= 5" in state.candidate_text(a) else 0.6) for a, _ in schedule]


def test_a_position_biased_judge_ties_every_pair_unless_orders_are_averaged():
    texts = cands("Step 1: 2 + 3 = 6.", "Step 1: 2 + 3 = 5.", "Step 1: 2 + 3 = 4.")
    plain = ProblemSearch(PROBLEM, Search(width=3, max_steps=5), "both")
    plain.take_verdicts(biased_direct_judge(plain, plain.take_candidates(texts)))
    assert plain.rounds[-1]["outcome"] == "tie_rollback"

    averaged = ProblemSearch(PROBLEM, Search(width=3, max_steps=5), "both", average_orders=True)
    averaged.take_verdicts(biased_direct_judge(averaged, averaged.take_candidates(texts)))
    r = averaged.rounds[-1]
    assert r["outcome"] == "pair" and r["best"] == 1 and r["best_wins"] == 4
    # each order's own verdict is kept: the flip rate still sees the bias
    assert {j["verdict"] for j in averaged.judgments} == {"A"}
    assert all(j["winner"] == j["first"] for j in averaged.judgments)


def test_the_oracle_judge_picks_the_right_step_and_ties_two_wrong_ones():
    ref = ["First, she gets 3 more, so 2 + 3 = 5.", "Second, she gets 1 more, so 5 + 1 = 6. The answer is \\boxed{6}."]
    problem = SearchProblem(id="o1", question="Mia has 2 apples. First, she gets 3 more. Second, she gets 1 more.",
                            gold="6", prompt="<prompt>\n", reference=ref)
    s = ProblemSearch(problem, Search(width=3, max_steps=5, max_rollbacks=1), "both")
    calls = s.take_candidates(cands("Step 1: First, she gets 3 more, so 2 + 3 = 6.", f"Step 1: {ref[0]}",
                                    "Step 1: First, she gets 3 more, so 2 + 3 = 4."))
    assert s.take_verdicts(s.oracle_verdicts(calls)) == []
    assert [c["oracle"] for c in s.candidates] == ["arithmetic", "correct", "arithmetic"]
    assert s.rounds[0]["outcome"] == "pair" and s.rounds[0]["best"] == 1
    calls = s.take_candidates(cands("Step 2: Second, she gets 1 more, so 5 + 1 = 7. The answer is \\boxed{7}.",
                                    "Step 2: Second, she gets 1 more, so 4 + 1 = 5. The answer is \\boxed{5}."))
    s.take_verdicts(s.oracle_verdicts(calls))
    assert s.rounds[1]["outcome"] == "tie_rollback"  # both wrong: the oracle prefers neither
