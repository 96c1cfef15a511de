"""Problems: the raw input of every stage (toy generator output, or a real data set's loader)."""

import re
from typing import ClassVar

from pydantic import Field, field_validator

from schemas.table import Row


def answer_defect(answer: str) -> str | None:
    """Why no grader could parse ``answer`` (unbalanced braces or delimiters, an empty box), or None."""
    depth = 0
    for ch in answer:
        depth += ch == "{"
        depth -= ch == "}"
        if depth < 0:
            return "unbalanced braces ('}' before its '{')"
    if depth:
        return "unbalanced braces (a '{' is never closed)"
    if len(re.findall(r"(?<!\\)\$", answer)) % 2:  # unescaped; \$18.90 is a currency sign
        return "unbalanced '$' math delimiters"
    if re.search(r"\\boxed\{\s*\}", answer) or not answer.strip("$ \t\n"):
        return "empty answer"
    return None


class Problem(Row):
    """One math problem with its gold answer.

    ``steps`` are the reference solution's step bodies (without ``Step n:`` headers), empty when the
    source has none; ``solution`` is a free-form reference solution (M0's pretraining text).
    """

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    problem: str = Field(min_length=1, max_length=20_000)
    answer: str = Field(min_length=1)
    steps: list[str] = []
    solution: str = ""

    unique_key: ClassVar[str] = "id"
    unique_text: ClassVar[str] = "problem"

    @field_validator("problem", "answer")
    @classmethod
    def not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v

    @field_validator("answer")
    @classmethod
    def parseable(cls, v: str) -> str:
        defect = answer_defect(v)
        if defect:
            raise ValueError(f"no grader can parse this answer: {defect}")
        return v
