"""The SRLM arm's pure parts: the rubric score parser, the solution pairs of a hand-built rollout, the
judging of a problem's solutions by a scripted model (a score that does not parse is stored and counted,
never scored), the solution EFT, the params of the arm, and the comparison of both arms."""

from __future__ import annotations

import random

import pytest

from psrlm.compare import table
from psrlm.generation import Completion
from psrlm.params import ParamsError, Sets, ToyProblems, load_profile, parse_params
from psrlm.prompts import parse_score, parse_verdict
from psrlm.sets import build_solution_eft
from psrlm.solution_judge import solution_eft_examples, solution_pairs
from psrlm.solution_rollout import judge_solutions, solution_stats
from psrlm.toy import claim_of, generate_splits
from schemas import Problem, SolutionSample
from tests.test_params import DEFAULT, ROOT


def sample(problem: str, i: int, score: float | None, correct: bool, text: str | None = None) -> SolutionSample:
    return SolutionSample(problem_id=problem, sample=i, prompt=f"prompt of {problem}",
                          text=text or f"{problem} solution {i}",
                          finish_reason="eos", tokens=5, answer="1", gold="1" if correct else "2", correct=correct,
                          raw="" if score is None else f"Score: {score}", score=score)


def test_parse_score():
    assert parse_score("Second, so 7 + 4 = 11. It says 11; 11 - 11 = 0. Score: 5") == 5
    assert parse_score("Score: 2 ... Score: 4") == 4  # the last one wins, as the verdict's
    assert parse_score("It says 9; 9 - 11 = -2.") is None  # no score: a parse failure
    assert parse_score("Score: 7") is None  # above the rubric's 5 points: not a score of it
    assert parse_score("Score: five") is None


def test_solution_pairs_of_a_hand_built_rollout():
    rollout = [
        sample("p1", 0, 5, True), sample("p1", 1, 3, False), sample("p1", 2, None, False), sample("p1", 3, 5, True),
        sample("p2", 0, 4, True), sample("p2", 1, 4, False),  # a tie: no pair
        sample("p3", 0, 5, True), sample("p3", 1, None, False),  # one scored solution: no pair
        sample("p4", 0, 2, True), sample("p4", 1, 4, False), sample("p4", 2, 1, True),  # the judge prefers a wrong one
    ]
    pairs = solution_pairs(rollout, "m1")
    assert [(p.problem_id, p.chosen, p.rejected) for p in pairs] == [
        ("p1", "p1 solution 0", "p1 solution 1"),  # equal best scores: the first sample
        ("p4", "p4 solution 1", "p4 solution 2")]
    assert all(p.chosen_final and p.rejected_final and p.prompt == f"prompt of {p.problem_id}" for p in pairs)
    assert (pairs[0].chosen_wins, pairs[0].rejected_wins) == (5, 3)
    stats = solution_stats(rollout, [], FakeTokenizer(), "rubric", "m1")
    assert (stats.pairs, stats.correct_pairs, stats.pair_correct_rate) == (2, 1, 0.5)
    assert (stats.parse_failures, stats.judgments) == (2, 11)  # unparsed scores counted
    assert stats.tie_rate == pytest.approx(2 / 4)  # p2 (tie) and p3 (one score) of the four scored problems


class FakeTokenizer:
    chat_template = None  # chat_prompt renders the bare text

    def __call__(self, texts, add_special_tokens=False):
        texts = [texts] if isinstance(texts, str) else texts
        return {"input_ids": [t.split() for t in texts]}


class ScriptedJudge:
    """A generator whose judge answers come from ``answer(prompt)``."""

    tokenizer = FakeTokenizer()

    def __init__(self, answer):
        self.answer, self.queue = answer, []

    def submit(self, requests):
        self.queue += requests

    def collect(self):
        done, self.queue = [(r, [Completion(self.answer(r.prompt), "eos", 3)]) for r in self.queue], []
        return done


PARAMS = parse_params(DEFAULT)


def texts(n: int) -> list[dict]:
    return [dict(problem_id="p", sample=i, prompt="q", text=f"Step 1: answer {i}", finish_reason="eos", tokens=3,
                 answer=str(i), gold="1", correct=i == 1) for i in range(n)]


def test_a_rubric_score_that_does_not_parse_is_stored_and_counted_not_scored():
    answers = {"answer 0": "It says 0. Score: 3", "answer 1": "It says 1. Score: 5", "answer 2": "It says 2, so"}
    judge = ScriptedJudge(lambda prompt: next(v for k, v in answers.items() if k in prompt))
    problem = Problem(id="p", problem="Q?", answer="1", steps=["x"], solution="x", source="toy")
    [(samples, judgments)] = judge_solutions(judge, [(problem, texts(3))], PARAMS)
    rows = [SolutionSample(**s) for s in samples]
    assert [r.score for r in rows] == [3, 5, None] and rows[2].raw == "It says 2, so" and judgments == []
    stats = solution_stats(rows, [], FakeTokenizer(), "rubric", "m1")
    assert (stats.parse_failures, stats.parse_failure_rate, stats.pairs, stats.correct_pairs) == (1, 1 / 3, 1, 1)
    assert stats.mean_score == 4.0  # over the parsed scores only


def test_pairwise_solution_judge_scores_wins_in_both_orders():
    # the judge always prefers the solution that says "answer 1"; a parse failure counts for neither
    def verdict(prompt: str) -> str:
        a = prompt.split("[Solution A]")[1].split("[Solution B]")[0]
        b = prompt.split("[Solution B]")[1]
        if "answer 2" in a and "answer 0" in b:
            return "no verdict"
        return "[[A]]" if "answer 1" in a else "[[B]]" if "answer 1" in b else "[[A]]"

    params = parse_params({**DEFAULT, "srlm": {**DEFAULT["srlm"], "judge": "pairwise"}})
    problem = Problem(id="p", problem="Q?", answer="1", steps=["x"], solution="x", source="toy")
    [(samples, judgments)] = judge_solutions(ScriptedJudge(verdict), [(problem, texts(3))], params)
    assert len(judgments) == 6 and sum(j.verdict is None for j in judgments) == 1
    assert [s["score"] for s in samples] == [1.0, 4.0, 0.0]  # 0 beats 2 as A once; 1 wins all four
    stats = solution_stats([SolutionSample(**s) for s in samples], judgments, FakeTokenizer(), "pairwise", "m1")
    assert (stats.pairs, stats.correct_pairs, stats.parse_failures) == (1, 1, 1)


def test_solution_eft_matches_the_step_eft_in_sources_and_size():
    problems = [Problem(**p) for p in generate_splits(ToyProblems(), {"sft": 60}, seed=0)["sft"]]
    records = build_solution_eft(problems, Sets.model_fields["corruptions"].default, 0, ToyProblems())
    assert len(records) == len(problems)  # one record per problem, two examples each (as the step EFT's both orders)
    for r in records:
        k = r.wrong_step - 1
        assert r.right[:k] == r.wrong[:k] and r.right[k] != r.wrong[k]
        assert claim_of(r.wrong[-1]) != claim_of(r.right[-1])  # the error reaches the boxed answer
        rubric = solution_eft_examples(r, "compact", "rubric")
        assert [parse_score(answer) for _, answer in rubric] == [5, 3]
        pairwise = solution_eft_examples(r, "compact", "pairwise")
        assert [parse_verdict(answer) for _, answer in pairwise] == ["A", "B"]
    assert len({r.corruption for r in records}) > 2 and "skipped_step" not in {r.corruption for r in records}


@pytest.mark.parametrize("srlm, message", [
    ({"iterations": {"m2": {"parent": "m1", "first_problem": 0, "num_problems": 4}}}, "not a valid new model name"),
    ({"iterations": {"s2": {"parent": "m2", "first_problem": 0, "num_problems": 4}}}, "must be m1 or one of"),
    ({"iterations": {"s2": {"parent": "m1", "first_problem": 1400, "num_problems": 400}}}, "problems.splits.search"),
])
def test_srlm_params_are_checked(srlm, message):
    with pytest.raises(ParamsError, match=message):
        parse_params({**DEFAULT, "srlm": {**DEFAULT["srlm"], **srlm}})


def test_the_srlm_profile_runs_both_arms_on_the_same_slices_and_the_arm_may_repeat_them():
    assert DEFAULT["srlm"]["iterations"] == {} and not DEFAULT["srlm"]["eft"]  # the default: the step arm alone
    both = load_profile(ROOT / "profiles" / "tiny-cpu-srlm.yaml")
    assert [(k, it.parent) for k, it in both.srlm.iterations.items()] == [("s2", "m1"), ("s3", "s2"), ("s4", "s3")]
    for s, m in (("s2", "m2"), ("s3", "m3"), ("s4", "m4")):
        same = (both.iteration(s).first_problem, both.iteration(s).num_problems)
        assert same == (both.iteration(m).first_problem, both.iteration(m).num_problems)
    assert both.srlm.eft
    assert parse_params({**DEFAULT, "srlm": {**DEFAULT["srlm"], "iterations": {}}}).srlm.iterations == {}
    on = parse_params({**DEFAULT, "srlm": {**DEFAULT["srlm"], "iterations": {
        "s2": {"parent": "m1", "first_problem": 0, "num_problems": 400},
        "s3": {"parent": "s2", "first_problem": 400, "num_problems": 400}}}})
    assert on.iteration("s3").parent == "s2" and on.solution_level("s3") and not on.solution_level("m3")


def test_compare_reports_the_last_model_of_each_arm():
    rng = random.Random(0)
    runs = [{"name": f"r{s}", "params": {"seed": s}, "experiment": True, "summary": {
        "m1": {"accuracy": 0.5}, "m2": {"accuracy": 0.6 + rng.random() / 10},
        "s2": {"accuracy": 0.55, "solution_level": True}}} for s in range(3)]
    text, stats = table(runs, ["seed"])
    assert stats["gain"]["model"] == "m2" and stats["solution_gain"]["model"] == "s2"
    assert stats["solution_gain"]["values"] == pytest.approx([0.05] * 3)
    assert "s2 - m1 accuracy per run" in text


class ScriptedModel(ScriptedJudge):
    """Samples from its seeds alone (as the real backends do) and scores a solution by its answer; with
    ``fail_after`` generate calls it dies (a kill mid-rollout)."""

    def __init__(self, fail_after: int | None = None):
        super().__init__(lambda prompt: f"It says. Score: {int(prompt.rsplit('boxed{', 1)[1][0]) % 6}")
        self.fail_after, self.calls, self.sampled = fail_after, 0, []

    def generate(self, prompts, sampling, desc=None, seeds=None):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("killed")
        self.calls += 1
        self.sampled += prompts
        return [[Completion(f"Step 1: so {(s + i) % 7}. The answer is \\boxed{{{(s + i) % 7}}}.", "eos", 9)
                 for i in range(sampling.n)] for s in seeds]

    def close(self):
        pass


def test_a_killed_solution_rollout_resumes_where_it_stopped(tmp_path, monkeypatch):
    import psrlm.solution_rollout as sr
    from schemas.solutions import SOLUTION_TABLES
    from schemas.table import read_parquet

    params = parse_params({**DEFAULT, "srlm": {**DEFAULT["srlm"], "width": 3, "max_in_flight": 2}})
    problems = [Problem(**p) for p in generate_splits(ToyProblems(), {"search": 5}, seed=0)["search"]]
    model = tmp_path / "m1"
    model.mkdir()
    (model / "config.json").write_text("{}")

    def run(generator, out):
        monkeypatch.setattr(sr, "open_generator", lambda *a, **k: generator)
        sr.solution_rollout(params, "s2", model, problems, out)
        return {name: read_parquet(out / f"{name}.parquet", m) for name, m in SOLUTION_TABLES.items()}

    clean = run(ScriptedModel(), tmp_path / "clean")
    with pytest.raises(KeyboardInterrupt):
        run(ScriptedModel(fail_after=2), tmp_path / "killed")  # two shards of two problems written
    resumed_model = ScriptedModel()
    resumed = run(resumed_model, tmp_path / "killed")
    assert len(resumed_model.sampled) == 1  # only the fifth problem is sampled again
    assert resumed == clean and len(clean["solutions"]) == 15
    assert not list(tmp_path.glob(".killed.partial-*"))  # the shards are removed once the tables are whole
