"""IFT from real reference solutions: each solution cut into "Step n:" steps by rule (pure functions).

GSM8K: one step per line of the solution, calculator annotations ``<<48/2=24>>`` removed, and the
``#### N`` line turned into ``The answer is \\boxed{N}.`` at the end of the last step.
MATH: one step per paragraph; a paragraph longer than ``max_chars`` (one long block, as many MATH
solutions are) is cut at sentence ends, and its sentences packed back into steps of at most
``max_chars``. No cut falls inside math (``$...$``, ``$$...$$``, ``\\[...\\]``, ``\\(...\\)``), an
environment (``\\begin{..}...\\end{..}``) or an Asymptote figure (``[asy]...[/asy]``). The step that
holds the last ``\\boxed{}`` ends the solution: remarks after it join that step, so nothing is lost.

    from psrlm.real.ift import with_steps
    from psrlm.sets import build_ift
    records = build_ift(with_steps(load_problems("gsm8k", root, "train")))
"""

from __future__ import annotations

import re

from psrlm.real.answers import gsm8k_answer
from schemas import Problem

CALCULATOR = re.compile(r"<<[^<>]*>>")
MAX_STEP_CHARS = 200  # ~ one or two sentences: MATH solutions average 3 steps
_ABBREVIATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "St.", "vs.", "e.g.", "i.e.", "etc.", "cf.")


# ---- GSM8K ----------------------------------------------------------------------------------------

def gsm8k_lines(solution: str) -> list[str]:
    """The reasoning lines of a GSM8K solution, annotations kept (the ``####`` line and lines that
    hold nothing but an annotation dropped)."""
    return [line.strip() for line in solution.splitlines()
            if clean_gsm8k_line(line) and not line.lstrip().startswith("####")]


def clean_gsm8k_line(line: str) -> str:
    """A solution line as a step body: calculator annotations removed."""
    return " ".join(CALCULATOR.sub("", line).split())


def with_final_answer(body: str, answer: str) -> str:
    body = body.rstrip()
    if body and body[-1] not in ".!?":
        body += "."
    return f"{body} The answer is \\boxed{{{answer}}}."


def gsm8k_steps(solution: str) -> list[str]:
    """Step bodies of a GSM8K solution (see the module docstring)."""
    answer = gsm8k_answer(solution)
    steps = [clean_gsm8k_line(line) for line in gsm8k_lines(solution)]
    if not steps:
        raise ValueError("a GSM8K solution without reasoning lines")
    steps[-1] = with_final_answer(steps[-1], answer)
    return steps


# ---- MATH -----------------------------------------------------------------------------------------

def _closing(text: str, i: int, close: str) -> int:
    """Index just past the first unescaped ``close`` at or after ``i``, or -1."""
    while (j := text.find(close, i)) != -1:
        if close != "$" or j == 0 or text[j - 1] != "\\":
            return j + len(close)
        i = j + 1
    return -1


def _environment_end(text: str, i: int, name: str) -> int:
    begin, end, depth = f"\\begin{{{name}}}", f"\\end{{{name}}}", 0
    while i < len(text):
        if text.startswith(begin, i):
            depth, i = depth + 1, i + len(begin)
        elif text.startswith(end, i):
            depth, i = depth - 1, i + len(end)
            if depth == 0:
                return i
        else:
            i += 1
    return -1


_OPENER = re.compile(r"\[asy\]|\\begin\{([^}]*)\}|\$\$|\\\[|\\\(|\\.|\$", re.DOTALL)
_CLOSER = {"[asy]": "[/asy]", "$$": "$$", "\\[": "\\]", "\\(": "\\)", "$": "$"}


def protected_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every math span, environment and figure, in order: no step boundary
    falls inside one. An opener without its closer protects nothing (the text is cut as if plain)."""
    spans, i = [], 0
    while m := _OPENER.search(text, i):
        opener = m.group(0)
        if m.group(1) is not None:
            end = _environment_end(text, m.start(), m.group(1))
        elif opener in _CLOSER:
            end = _closing(text, m.end(), _CLOSER[opener])
        else:
            end = -1  # an escaped character (\$, \\) opens nothing
        if end != -1:
            spans.append((m.start(), end))
            i = end
        else:
            i = m.end()
    return spans


def _free_matches(pattern: re.Pattern, text: str, spans: list[tuple[int, int]]) -> list[re.Match]:
    """Matches of ``pattern`` that overlap no protected span (both in text order: one linear pass)."""
    out, k = [], 0
    for m in pattern.finditer(text):
        while k < len(spans) and spans[k][1] <= m.start():
            k += 1
        if k == len(spans) or m.end() <= spans[k][0]:
            out.append(m)
    return out


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[.!?](?:\$\$|\$|\\\])?$")
_SENTENCE_START = re.compile(r"[A-Z]|\$|\\\[")


def _cut(text: str, cuts: list[tuple[int, int]]) -> list[str]:
    """``text`` without the separator spans ``cuts``, as stripped non-empty pieces."""
    pieces, start = [], 0
    for a, b in cuts:
        pieces.append(text[start:a])
        start = b
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


def paragraphs(text: str) -> list[str]:
    spans = protected_spans(text)
    return _cut(text, [m.span() for m in _free_matches(_PARAGRAPH_BREAK, text, spans)])


def sentences(text: str) -> list[str]:
    """``text`` cut after each sentence end outside math (``... = 3.$  Also`` ends one too)."""
    spans = protected_spans(text)
    cuts = []
    for m in _free_matches(_SPACE, text, spans):
        before = text[max(0, m.start() - 6) : m.start()]
        if (_SENTENCE_END.search(before) and _SENTENCE_START.match(text, m.end())
                and not before.endswith(_ABBREVIATIONS)):
            cuts.append(m.span())
    return _cut(text, cuts)


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    """Consecutive sentences joined into chunks of at most ``max_chars`` (a longer one stands alone)."""
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 1 + len(piece) <= max_chars:
            chunks[-1] = f"{chunks[-1]} {piece}"
        else:
            chunks.append(piece)
    return chunks


def math_steps(solution: str, max_chars: int = MAX_STEP_CHARS) -> list[str]:
    """Step bodies of a MATH solution (see the module docstring); the last one holds the box."""
    steps = []
    for paragraph in paragraphs(solution):
        steps.extend(_pack(sentences(paragraph), max_chars) if len(paragraph) > max_chars else [paragraph])
    boxed = [i for i, s in enumerate(steps) if "\\boxed" in s]
    if not boxed:
        raise ValueError("a MATH solution without a \\boxed{} answer")
    last = boxed[-1]
    return steps[:last] + ["\n\n".join(steps[last:])]


# ---- problems with steps -------------------------------------------------------------------------

SPLITTERS = {"gsm8k": gsm8k_steps, "math": math_steps, "math500": math_steps}


def reference_steps(problem: Problem | dict) -> list[str]:
    """The step bodies of a problem's reference solution, by its source's rule."""
    p = problem if isinstance(problem, Problem) else Problem.model_validate(problem)
    if p.source not in SPLITTERS:
        raise ValueError(f"{p.id}: no step rule for source '{p.source}' (have: {', '.join(SPLITTERS)})")
    if not p.solution.strip():
        raise ValueError(f"{p.id}: no reference solution to cut into steps")
    return SPLITTERS[p.source](p.solution)


def with_steps(problems: list[Problem | dict]) -> list[Problem]:
    """The problems with ``steps`` filled from their reference solutions."""
    out = []
    for p in problems:
        p = p if isinstance(p, Problem) else Problem.model_validate(p)
        out.append(p.model_copy(update={"steps": reference_steps(p)}))
    return out

