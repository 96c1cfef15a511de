"""Problems: the raw input of every stage (toy generator output, or a real data set's loader)."""

from pydantic import Field, field_validator

from schemas.table import Row


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

    @field_validator("problem", "answer")
    @classmethod
    def not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v
