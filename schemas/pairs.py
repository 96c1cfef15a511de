"""Step-level preference pairs, in TRL's explicit-prompt preference format plus provenance."""

from pydantic import model_validator

from schemas.table import Row


class PreferencePair(Row):
    """``prompt`` = problem prompt + steps so far (exactly as sampled); ``chosen``/``rejected`` = one step.

    ``*_final`` says whether that step ended its solution (an answer or end of sequence): only a final
    step is trained to be followed by end-of-sequence.
    """

    prompt: str
    chosen: str
    rejected: str
    chosen_final: bool
    rejected_final: bool
    chosen_wins: float
    rejected_wins: float
    problem_id: str
    round: int
    position: int
    n_distinct: int
    model: str

    @model_validator(mode="after")
    def chosen_beats_rejected(self):
        if not self.chosen_wins > self.rejected_wins:
            raise ValueError("chosen must have more wins than rejected (ties make no pair)")
        if self.chosen == self.rejected:
            raise ValueError("chosen and rejected are the same step")
        return self
