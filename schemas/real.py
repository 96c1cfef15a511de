"""Rows of the real step-labelled data (ProcessBench, PRMBench) and of OpenAI's GSM8K model solutions,
as ``psrlm.real.loaders`` reads them from the offline copies (``../shared/data/README.md``)."""

from pydantic import Field, model_validator

from schemas.table import Row


class LabelledSolution(Row):
    """A ProcessBench item: a model's solution in steps, labelled with its first wrong step.

    ``first_error`` is the 0-based index of the first wrong step, -1 when every step is right.
    """

    id: str
    source: str
    generator: str
    problem: str = Field(min_length=1)
    steps: list[str] = Field(min_length=1)
    first_error: int = Field(ge=-1)
    final_answer_correct: bool

    @model_validator(mode="after")
    def error_within_steps(self):
        if self.first_error >= len(self.steps):
            raise ValueError(f"first wrong step {self.first_error} is beyond the {len(self.steps)} steps")
        return self


class PerturbedSolution(Row):
    """A PRMBench item: a correct PRM800K solution and an LLM-perturbed copy with wrong steps.

    ``error_steps`` are 1-based positions in ``modified_steps``; ``classification`` is the error type.
    """

    id: str
    idx: str
    problem: str = Field(min_length=1)
    original_question: str
    modified_question: str
    original_steps: list[str] = Field(min_length=1)
    modified_steps: list[str] = Field(min_length=1)
    error_steps: list[int]
    classification: str
    reason: str


class ModelSolution(Row):
    """One of OpenAI's sample solutions to a GSM8K test problem, with its outcome label."""

    problem_id: str
    problem: str
    answer: str
    model: str
    solution: str
    is_correct: bool
