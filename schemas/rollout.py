"""What the step-wise search writes: every candidate, every judgment, every round, every path."""

from typing import Literal

from schemas.table import Row

FinishReason = Literal["stop", "eos", "length"]
RoundOutcome = Literal["pair", "tie_rollback", "tie_forced", "single"]
# too_long: the next prompt (reasoning or judge) and its generation would not fit generation.vllm.max_model_len
StopReason = Literal["answer", "eos", "length", "max_steps", "too_long"]


class Candidate(Row):
    """A sampled next step. ``duplicate_of`` names the earlier identical candidate it merged into."""

    problem_id: str
    round: int
    candidate: int
    text: str
    finish_reason: FinishReason
    final: bool  # ends its solution (answer or end of sequence): see psrlm.steps.is_final_step
    duplicate_of: int | None
    wins: float | None
    # toy world: the oracle's view of the step given the path so far: "correct" or what is wrong with it
    # (psrlm.toy.step_error: arithmetic, previous_value, answer_mismatch, event, final, extra, format);
    # None where there is no oracle (real problems)
    oracle: str | None = None


class Judgment(Row):
    """One judge call: candidate ``first`` shown as A, ``second`` as B.

    ``verdict`` is None when the output held no ``[[A]]``/``[[B]]`` (a parse failure, kept and counted,
    never scored). ``winner`` is the candidate index the verdict names.
    """

    problem_id: str
    round: int
    first: int
    second: int
    raw: str
    verdict: Literal["A", "B"] | None
    p_a: float | None  # direct judge: P(A) / (P(A) + P(B)); None in explain mode
    winner: int | None


class Round(Row):
    """One search step of one problem: sample, merge, judge, select.

    ``prompt`` is the exact text the candidates were sampled from (problem prompt + steps so far).
    ``discarded`` marks a round whose chosen step a later rollback removed; its pair is not used.
    """

    problem_id: str
    round: int
    position: int
    prompt: str
    n_candidates: int
    n_distinct: int
    best: int | None
    worst: int | None
    best_wins: float | None
    worst_wins: float | None
    outcome: RoundOutcome
    discarded: bool


class SearchPath(Row):
    """The greedy path the search kept for one problem, graded against the gold answer."""

    problem_id: str
    steps: list[str]
    answer: str | None
    gold: str
    correct: bool
    n_rounds: int
    n_rollbacks: int
    stop_reason: StopReason


# The tables of one rollout directory, each written as <name>.parquet.
ROLLOUT_TABLES: dict[str, type[Row]] = {
    "candidates": Candidate,
    "judgments": Judgment,
    "rounds": Round,
    "paths": SearchPath,
}
