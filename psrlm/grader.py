"""The one grader: answer extraction and equivalence, used by data filtering, the oracle and evaluation.

``extract_answer`` takes the last ``\\boxed{...}`` of a solution (balanced braces), falling back to
the last number in the text; ``is_equivalent`` compares two answers numerically when both parse as
numbers and as normalised strings otherwise.
"""

from __future__ import annotations

import re
from fractions import Fraction

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_FRAC = re.compile(r"^\\[dt]?frac\{(-?\d+)\}\{(-?\d+)\}$|^\\[dt]?frac(\d)(\d)$")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` in ``text`` (nested braces allowed), or None."""
    start = text.rfind("\\boxed")
    while start != -1:
        i = text.find("{", start)
        if i == -1:
            return None
        depth = 0
        for j in range(i, len(text)):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    return text[i + 1 : j].strip()
        # unbalanced: try an earlier box
        start = text.rfind("\\boxed", 0, start)
    return None


def last_number(text: str) -> str | None:
    matches = _NUMBER.findall(text)
    return matches[-1] if matches else None


def extract_answer(text: str, fallback_to_number: bool = True) -> str | None:
    """The final answer of a solution: last boxed content, else (optionally) the last number."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    return last_number(text) if fallback_to_number else None


def to_number(answer: str) -> Fraction | None:
    """Parse plain numbers, ``1,234``, ``27.0``, ``-3``, ``1/2`` and ``\\frac{1}{2}`` exactly."""
    s = answer.strip().strip("$").replace("\\!", "").replace(" ", "")
    s = s.removesuffix(".")
    if m := _FRAC.match(s):
        num, den = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
        return Fraction(int(num), int(den)) if int(den) != 0 else None
    s = s.replace(",", "")
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None


def normalize_answer(answer: str) -> str:
    s = answer.strip().strip("$").strip()
    s = re.sub(r"\\text\{(.*?)\}", r"\1", s)
    s = s.replace("\\left", "").replace("\\right", "").replace("\\dfrac", "\\frac")
    return "".join(s.split()).rstrip(".").lower()


def is_equivalent(predicted: str | None, gold: str) -> bool:
    if predicted is None:
        return False
    a, b = to_number(predicted), to_number(gold)
    if a is not None and b is not None:
        return a == b
    return normalize_answer(predicted) == normalize_answer(gold)


def is_correct(solution: str, gold: str) -> bool:
    return is_equivalent(extract_answer(solution), gold)
