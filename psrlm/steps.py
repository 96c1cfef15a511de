"""The "Step n:" solution format shared by the reasoner, the judge, the search and the trainers.

A solution is a list of steps; step n is rendered as ``Step n: <body>`` and steps are joined by a
newline. The final step carries the answer in ``\\boxed{...}``. A prefix of steps is rendered with a
trailing newline so that the next step always starts on a fresh token (``Step``): the DPO trainer
splits prompt from completion by their common token prefix, and a clean boundary keeps that exact.
"""

from __future__ import annotations

import re

STEP_HEADER = re.compile(r"^Step (\d+):\s?", re.MULTILINE)
# Where a generated step ends: the next step header on a new line (a step may span lines: the paper's
# and real math's), or the end of its first line (``search.step_end: line``: a world whose steps are
# one line each, the toy's, where text after the line is never part of a right step).
NEXT_STEP_STOP = "\nStep "
LINE_STOP = "\n"


def step_stops(step_end: str) -> tuple[str, ...]:
    """The stop strings of a generated step: ``step_end`` is ``search.step_end`` (header | line)."""
    return {"header": (NEXT_STEP_STOP,), "line": (LINE_STOP,)}[step_end]


def format_step(number: int, body: str) -> str:
    """``format_step(2, "5 + 3 = 8.")`` -> ``"Step 2: 5 + 3 = 8."``."""
    return f"Step {number}: {body.strip()}"


def join_steps(steps: list[str]) -> str:
    """Render finished steps as the text that precedes the next step (ends in a newline, or empty)."""
    return "".join(step.rstrip("\n") + "\n" for step in steps)


def split_steps(text: str) -> list[str]:
    """Split a solution into its steps (each keeps its ``Step n:`` header).

    Text before the first header (a preamble) is kept as its own leading step so nothing is lost.
    """
    starts = [m.start() for m in STEP_HEADER.finditer(text)]
    if not starts:
        return [text.strip()] if text.strip() else []
    pieces = [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]
    preamble = text[: starts[0]].strip()
    steps = [p.strip() for p in pieces if p.strip()]
    return ([preamble] if preamble else []) + steps


def step_body(step: str) -> str:
    """The step without its ``Step n:`` header."""
    return STEP_HEADER.sub("", step.strip(), count=1).strip()


def normalize_step(step: str) -> str:
    """Whitespace-normalised step text, used to merge identical candidates."""
    return " ".join(step.split())


def has_final_answer(text: str) -> bool:
    return "\\boxed{" in text


def is_final_step(text: str, finish_reason: str) -> bool:
    """A step ends its solution when it gives the answer or the model ended the sequence after it.

    Only a final step is trained to be followed by end-of-sequence (step-wise DPO, METHOD.md).
    """
    return has_final_answer(text) or finish_reason == "eos"
