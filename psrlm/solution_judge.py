"""The SRLM arm's judging, pure functions: the cold-start examples of the solution judge, the score of a
whole solution from its judge outputs, and the solution pairs of a rollout (no model, no I/O).

Solution-level self-rewarding (Yuan et al. 2024): M(t) samples w whole solutions per problem and judges
them itself. ``rubric`` scores each alone (the additive 5-point rubric, ``Score: n``; an output without a
score is a parse failure: stored, counted, never scored); ``pairwise`` compares every two in the step
judge's ``[[A]]``/``[[B]]`` format and scores each by its wins. Chosen = the highest score, rejected = the
lowest; equal scores give no pair.
"""

from __future__ import annotations

from collections import defaultdict

from psrlm import toy
from psrlm.prompts import RUBRIC_POINTS, rubric_target, solution_judge_prompt, solution_rubric_prompt
from psrlm.steps import join_steps, step_body
from schemas import PreferencePair, SolutionEFTRecord, SolutionJudgment, SolutionSample

# the rubric's points for a toy solution with a wrong answer: it works step by step on the question and uses
# its events (2 points), but a calculation, a carried value or an event is wrong (-1) and so is the answer (-1)
WRONG_SOLUTION_POINTS = RUBRIC_POINTS - 2


def answer_check(record: SolutionEFTRecord, solution: list[str], label: str) -> tuple[str, str]:
    """The right final step worked out (from the question, as the step judge's explanation does), and the
    check of a solution's boxed answer against it (``It says 11; 11 - 11 = 0.``)."""
    right_last = step_body(record.right[-1])
    worked = right_last.split(" The answer is ")[0]
    return worked, toy.check_claim(label, toy.parse_equation(right_last)[3], step_body(solution[-1]))[0]


def solution_eft_examples(record: SolutionEFTRecord, style: str, judge: str) -> list[tuple[str, str]]:
    """The two (judge prompt, answer) examples of one solution EFT record: ``rubric``, the right solution
    scored 5 and the wrong one 3; ``pairwise``, the two compared in both orders."""
    right, wrong = join_steps(record.right).rstrip("\n"), join_steps(record.wrong).rstrip("\n")
    if judge == "rubric":
        out = []
        for solution, text, points in ((record.right, right, RUBRIC_POINTS),
                                       (record.wrong, wrong, WRONG_SOLUTION_POINTS)):
            worked, check = answer_check(record, solution, "It")
            out.append((solution_rubric_prompt(record.problem, text, style),
                        rubric_target(f"{worked} {check}", points)))
        return out
    out = []
    for verdict in ("A", "B"):
        (a, a_text), (b, b_text) = ((record.right, right), (record.wrong, wrong))[:: 1 if verdict == "A" else -1]
        worked, check_a = answer_check(record, a, "A")
        check_b = answer_check(record, b, "B")[1]
        out.append((solution_judge_prompt(record.problem, a_text, b_text, style),
                    f"{worked} {check_a} {check_b} [[{verdict}]]"))
    return out


def pairwise_scores(n: int, judgments: list[SolutionJudgment]) -> list[float]:
    """Each of ``n`` solutions' wins over the others; a parse failure counts for neither side."""
    wins = [0.0] * n
    for j in judgments:
        if j.winner is not None:
            wins[j.winner] += 1
    return wins


def solution_pairs(samples: list[SolutionSample], model: str) -> list[PreferencePair]:
    """Per problem, the highest-scored solution (chosen) against the lowest (rejected), both final (DPO keeps
    end-of-sequence after them). No pair when fewer than two solutions have a score (parse failures are
    never scored), when the best and worst scores are equal (a tie), or when the two texts are the same.
    Equal scores at the top or bottom: the first sample wins (deterministic)."""
    by_problem: dict[str, list[SolutionSample]] = defaultdict(list)
    for s in samples:
        by_problem[s.problem_id].append(s)
    pairs = []
    for problem_id in sorted(by_problem):
        group = sorted(by_problem[problem_id], key=lambda s: s.sample)
        scored = [s for s in group if s.score is not None]
        if len(scored) < 2:
            continue
        best = max(scored, key=lambda s: (s.score, -s.sample))
        worst = min(scored, key=lambda s: (s.score, s.sample))
        if best.score == worst.score or best.text == worst.text:
            continue
        pairs.append(PreferencePair(
            prompt=best.prompt, chosen=best.text, rejected=worst.text, chosen_final=True, rejected_final=True,
            chosen_wins=best.score, rejected_wins=worst.score, problem_id=problem_id, round=0, position=0,
            n_distinct=len({s.text for s in group}), model=model))
    return pairs
