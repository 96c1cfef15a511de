"""What the solution-level rollout (the SRLM arm) writes: every sampled solution with its self-judged
score, and every pairwise judgment of two whole solutions (``srlm.judge: pairwise``)."""

from typing import Literal

from pydantic import Field

from schemas.table import Row


class SolutionSample(Row):
    """One whole solution M(parent) sampled for a problem, and how M(parent) judged it.

    ``rubric``: ``raw`` is the judge's output and ``score`` the additive rubric's points (0-5), None when
    the output held no ``Score: n`` (a parse failure, kept and counted, never scored). ``pairwise``:
    ``raw`` is empty and ``score`` is the solution's wins over the others (a parse failure counts for
    neither side). ``correct``: the oracle's view, its answer (``grading.fallback``) against the gold.
    """

    problem_id: str
    sample: int = Field(ge=0)
    prompt: str  # the exact reasoning prompt the solution was sampled from
    text: str
    finish_reason: Literal["stop", "eos", "length"]
    tokens: int = Field(ge=0)  # tokens sampled for it
    answer: str | None
    gold: str
    correct: bool
    raw: str
    score: float | None
    too_long: bool = False  # its judge prompt would not fit generation.vllm.max_model_len: not judged


class SolutionJudgment(Row):
    """One pairwise judge call on two whole solutions: ``first`` shown as A, ``second`` as B. ``verdict``
    None: a parse failure (kept and counted, never scored)."""

    problem_id: str
    first: int
    second: int
    raw: str
    verdict: Literal["A", "B"] | None
    winner: int | None


# The tables of one solution-level rollout directory, each written as <name>.parquet.
# (not "judgments": the report globs <rollouts>/*/judgments.parquet for the step arm's tables)
SOLUTION_TABLES: dict[str, type[Row]] = {"solutions": SolutionSample, "solution_judgments": SolutionJudgment}
