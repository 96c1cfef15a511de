"""Training sets of the cold start: IFT (step-format solutions) and EFT (pairwise step judgments).

Records hold content, not rendered prompts: the prompt templates in ``psrlm/prompts`` render them at
training and evaluation time, so a template change reruns exactly the stages that read it.
"""

from typing import Literal

from pydantic import Field

from schemas.table import Row


class IFTRecord(Row):
    """A problem and its reference solution as ``Step n:`` steps (final step holds ``\\boxed{}``)."""

    id: str
    problem_id: str
    problem: str
    steps: list[str] = Field(min_length=1)


class EFTRecord(Row):
    """A judge example: which of two candidate next steps is better, with a short explanation.

    ``previous_steps`` are the steps so far (rendered with headers); ``step_a``/``step_b`` the two
    candidates in the order shown; ``verdict`` names the better one. ``corruption`` says how the
    wrong step was made (toy: ``wrong_arithmetic``, ``answer_mismatch``, ...; real: ``wrong_arithmetic``
    for a GSM8K perturbation, ``prmbench_<class>`` for PRMBench). ``source`` (not a column: read off
    ``problem_id``) names the data set the pair comes from.
    """

    id: str
    problem_id: str
    problem: str
    previous_steps: list[str]
    step_a: str
    step_b: str
    verdict: Literal["A", "B"]
    explanation: str
    corruption: str
    pair_id: str

    @property
    def source(self) -> str:
        """``gsm8k`` or ``prmbench`` for real pairs (their problem ids are ``<source>/...``), ``toy`` for
        the toy world's (``sft-000123``)."""
        return self.problem_id.split("/", 1)[0] if "/" in self.problem_id else "toy"


class SolutionEFTRecord(Row):
    """A judge example of the SRLM arm's cold start (``srlm.eft``): two whole solutions of one problem,
    ``right`` (the reference, right answer) and ``wrong`` (one step corrupted as the step EFT's are, the
    steps after it carried on from the wrong value, so its boxed answer is wrong). ``wrong_step`` (1-based)
    and ``corruption`` say where and how. SFT renders it per ``srlm.judge``: each solution scored alone
    (rubric) or the two compared in both orders (pairwise)."""

    id: str
    problem_id: str
    problem: str
    right: list[str] = Field(min_length=1)
    wrong: list[str] = Field(min_length=1)
    wrong_step: int = Field(ge=1)
    corruption: str
