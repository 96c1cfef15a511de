"""Gold answers of the real math sources, normalised once: one function per source format.

Each takes the source's raw field (a solution text, a number, a LaTeX string, a list) and gives the
answer string that ``schemas.Problem`` stores and the grader compares against, or raises
``AnswerFormatError`` (``psrlm.real.loaders`` adds file, line and field).

    from psrlm.real.answers import gsm8k_answer
    gsm8k_answer("...\\n#### 1,080")  # "1080"
"""

from __future__ import annotations

import ast
import re
from typing import Any

from psrlm.grader import last_boxed


class AnswerFormatError(ValueError):
    """A gold answer that its format's normaliser cannot read (the loader adds file and line)."""


def gsm8k_answer(solution: str) -> str:
    """GSM8K's final ``#### 1,080`` line -> ``1080``."""
    m = re.search(r"^####\s*(.+?)\s*$", solution, re.MULTILINE)
    if m is None:
        raise AnswerFormatError("no '#### <answer>' line in the solution")
    return m.group(1).replace(",", "")


def without_currency(answer: str) -> str:
    """``\\$18.90`` -> ``18.90``: a dollar sign is a unit no grader needs (and an odd ``$`` reads as
    an unbalanced math delimiter)."""
    return " ".join(answer.replace("\\$", "").split())


def math_answer(solution: str) -> str:
    """MATH's answer: the last ``\\boxed{...}`` (or ``\\boxed 2``) of the solution, currency dropped."""
    answer = without_currency(last_boxed(solution) or "")
    if not answer:
        raise AnswerFormatError("no \\boxed{} answer in the solution")
    return answer


def integer_answer(value: Any) -> str:
    """AIME's zero-padded ``"025"`` -> ``25``."""
    s = str(value).strip()
    if not re.fullmatch(r"-?\d+", s):
        raise AnswerFormatError(f"expected an integer answer, got {value!r}")
    return str(int(s))


def amc_answer(value: Any) -> str:
    """AMC's float-like ``27.0`` -> ``27`` (a non-integer value keeps its decimals)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise AnswerFormatError(f"expected a number, got {value!r}") from None
    if x != x or x in (float("inf"), float("-inf")):
        raise AnswerFormatError(f"expected a finite number, got {value!r}")
    return str(int(x)) if x.is_integer() else repr(x)


def latex_answer(value: Any) -> str:
    """Gaokao's ``$\\frac{\\pi}{3}$`` or ``$48$, $384$`` -> ``\\frac{\\pi}{3}``, ``48, 384``: math
    delimiters (unescaped ``$``) and currency signs dropped, whitespace collapsed."""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise AnswerFormatError(f"expected a LaTeX string, got {type(value).__name__}")
    s = without_currency(re.sub(r"(?<!\\)\$", "", str(value)))
    if not s:
        raise AnswerFormatError(f"empty answer {value!r}")
    return s


def olympiad_answer(value: Any) -> str:
    """OlympiadBench's answer list, as a list or stringified (``"['$\\frac{1}{2}$']"``): each entry
    through ``latex_answer``, several joined with ``", "``."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise AnswerFormatError(f"final_answer is not a (stringified) list: {value[:80]!r}") from None
    if not isinstance(value, list) or not value:
        raise AnswerFormatError(f"final_answer must be a non-empty list, got {value!r}")
    return ", ".join(latex_answer(v) for v in value)
