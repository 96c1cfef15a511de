"""The one grader: answer extraction and equivalence, used by data filtering, the oracle and evaluation.

``extract_answer`` takes the last ``\\boxed{...}`` of a solution (balanced braces), the paper's rule
(METHOD.md). A solution without one has no answer, unless the fallback (params ``grading.fallback``,
one rule for greedy evaluation, test-time search and the rollouts' paths) is ``last_number``: then
its last number is its answer. ``is_equivalent`` compares two answers: plain numbers exactly (the fast
path every toy answer takes), then as normalised strings, and otherwise for mathematical equivalence
with math-verify (``\\frac{\\sqrt2}{2}`` = ``\\sqrt{2}/2``, ``(1, 2)`` = ``1,2``, intervals, sets,
``x = 3`` = ``3``), as the Qwen2.5-Math evaluation the paper uses does.

math-verify's own timeout uses ``signal.alarm``: it fails outside the main thread and would cancel
any alarm the caller (a test runner, a server) has set. So it runs without one, and answers whose
evaluation could blow up (power towers, huge exponents or factorials, very long answers) never
reach sympy: they fall back to the string comparison. Any error inside math-verify means "not
equivalent", never a crash.
"""

from __future__ import annotations

import logging
import re
from fractions import Fraction
from functools import lru_cache
from typing import get_args

from psrlm.params import Fallback

log = logging.getLogger(__name__)
# math-verify warns once that its signal-based timeout is off: we bound the cost ourselves (too_costly)
logging.getLogger("math_verify").setLevel(logging.ERROR)

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_FRAC = re.compile(r"^\\[dt]?frac\{(-?\d+)\}\{(-?\d+)\}$|^\\[dt]?frac(\d)(\d)$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")  # 1,234 (but 1,2 is a list)
_WORD = re.compile(r"^[a-z]{2,}$")
_BARE_BOXED = re.compile(r"[^\s${}]+")  # the answer of `\boxed 2`
# Answers longer than this are compared as strings only (a boxed answer is short; a long one is
# usually a whole sentence, and sympy time grows with length).
MAX_SYMBOLIC_CHARS = 300
_BIG_DIGITS = re.compile(r"\d{6,}")  # an exponent or factorial argument this long hangs sympy


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` in ``text`` (nested braces allowed), or None.

    MATH also writes ``\\boxed 2`` without braces (two training solutions): the token after the
    space is the answer.
    """
    start = text.rfind("\\boxed")
    while start != -1:
        i = start + len("\\boxed")
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            depth = 0
            for j in range(i, len(text)):
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        return text[i + 1 : j].strip()
        elif i > start + len("\\boxed") and (m := _BARE_BOXED.match(text, i)):
            return m.group(0)
        # unbalanced or empty: try an earlier box
        start = text.rfind("\\boxed", 0, start)
    return None


def last_number(text: str) -> str | None:
    matches = _NUMBER.findall(text)
    return matches[-1] if matches else None


# What a solution without a ``\\boxed{}`` answers (params ``grading.fallback``): nothing (the paper's
# rule) or its last number
FALLBACKS = get_args(Fallback)


def extract_answer(text: str, fallback: str = "none") -> str | None:
    """The final answer of a solution: the last boxed content, else per ``fallback`` (``FALLBACKS``)."""
    if fallback not in FALLBACKS:
        raise ValueError(f"unknown answer fallback {fallback!r} (known: {', '.join(FALLBACKS)})")
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    return last_number(text) if fallback == "last_number" else None


def to_number(answer: str) -> Fraction | None:
    """Parse plain numbers, ``1,234``, ``27.0``, ``-3``, ``1/2`` and ``\\frac{1}{2}`` exactly.

    A comma counts only as a thousands separator: ``1,2`` is a list of two numbers, not twelve.
    """
    s = answer.strip().strip("$").replace("\\!", "").replace(" ", "")
    s = s.removesuffix(".")
    if m := _FRAC.match(s):
        num, den = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
        return Fraction(int(num), int(den)) if int(den) != 0 else None
    if "," in s:
        if not _THOUSANDS.match(s):
            return None
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


def _unwrap(answer: str) -> str:
    """``$\\boxed{x}$`` -> ``x``: an answer passed with its box or math delimiters."""
    s = answer.strip().strip("$").strip()
    if "\\boxed" in s and (inner := last_boxed(s)) is not None:
        return inner
    return s


def _group_after(text: str, i: int) -> str:
    """The exponent that starts at ``text[i]``: a braced or parenthesised group, else one token."""
    while i < len(text) and text[i].isspace():
        i += 1
    if i < len(text) and text[i] in "{(":
        opening, closing = text[i], "}" if text[i] == "{" else ")"
        depth = 0
        for j in range(i, len(text)):
            depth += (text[j] == opening) - (text[j] == closing)
            if depth == 0:
                return text[i + 1 : j]
        return text[i + 1 :]
    m = re.match(r"-?[\w.\\]+", text[i:])
    return m.group(0) if m else ""


def too_costly(answer: str) -> bool:
    """Whether sympy could hang evaluating ``answer`` (``10^{10^{10}}``, ``9^{99999999}``, ``10^7!``)."""
    if len(answer) > MAX_SYMBOLIC_CHARS:
        return True
    for m in re.finditer(r"\^|\*\*", answer):
        exponent = _group_after(answer, m.end())
        if "^" in exponent or "**" in exponent or _BIG_DIGITS.search(exponent):
            return True
    return bool(re.search(r"\d{6,}\s*!", answer))


@lru_cache(maxsize=8192)
def _parse(answer: str) -> list:
    """math-verify's parse of one answer, put in a box so that its LaTeX extraction takes it whole."""
    from math_verify import parse

    return parse(f"\\boxed{{{answer}}}", parsing_timeout=None)


def symbolic_equivalent(predicted: str, gold: str) -> bool:
    """math-verify's verdict on two unwrapped answers; False on anything it cannot handle."""
    if too_costly(predicted) or too_costly(gold):
        return False
    try:
        from math_verify import verify

        gold_parsed, predicted_parsed = _parse(gold), _parse(predicted)
        if not gold_parsed or not predicted_parsed:
            return False
        return bool(verify(gold_parsed, predicted_parsed, timeout_seconds=None))
    except Exception as err:  # noqa: BLE001 -- sympy raises anything; a failure only means "not shown equal"
        log.debug("math-verify failed on %r vs %r: %s", predicted, gold, err)
        return False


def is_equivalent(predicted: str | None, gold: str) -> bool:
    if predicted is None:
        return False
    predicted, gold = _unwrap(predicted), _unwrap(gold)
    a, b = to_number(predicted), to_number(gold)
    if a is not None and b is not None:
        return a == b
    p, g = normalize_answer(predicted), normalize_answer(gold)
    if p == g:
        return True
    if not p or not g:
        return False
    # Two plain words (names, "east"): sympy would read them as products of one-letter symbols, so
    # that anagrams compare equal. They are equal only as strings.
    if _WORD.match(p) and _WORD.match(g):
        return False
    return symbolic_equivalent(predicted, gold)


def is_correct(solution: str, gold: str, fallback: str = "none") -> bool:
    return is_equivalent(extract_answer(solution, fallback), gold)
