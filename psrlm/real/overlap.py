"""When two problem texts are the same problem, across sources that write it differently (pure functions).

PRMBench rewrites PRM800K's MATH problems: ``$\\$1.24$`` becomes ``$1.24``, a newline is written out as
backslash-n, answer choices lose their ``\\text{(A) }...\\quad``, and some questions stop before the
choices. ``text_key`` keeps lower-case letters and digits only, with LaTeX command names and written-out
newlines dropped; two texts are the same problem when their keys are equal, or when one key begins the
other and the shorter has at least ``PREFIX`` characters (a question cut before its choices). Matching
too much only makes a held-out set smaller, never leaky. On ``../shared/data`` this matches 393 of the
394 PRMBench questions to a MATH problem; the last one shares its PRMBench ``idx`` with matched items,
which is how ``psrlm.real.eft.prmbench_groups`` ties it to its problem.

    index = TextIndex(p["problem"] for p in other_splits)
    index.matches("Express $555_{10}$ in base $5$.")
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PREFIX = 40

# a written-out newline "\n", unless it starts a LaTeX command (\neq, \nu, \nabla, \not, ...)
_N_COMMANDS = "e|eq|eg|u|abla|ot|otin|mid|ewline|oindent|leq|geq|sim|cong|exists"
_WRITTEN_NEWLINE = re.compile(rf"\\n(?!(?:{_N_COMMANDS})(?![a-zA-Z]))")
_COMMAND = re.compile(r"\\[a-zA-Z]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def text_key(text: str) -> str:
    """The letters and digits of ``text``, lower-cased, without LaTeX command names."""
    text = _COMMAND.sub(" ", _WRITTEN_NEWLINE.sub(" ", text))
    return _NOT_ALNUM.sub("", text.lower())


def same_key(a: str, b: str) -> bool:
    """Whether two ``text_key``s are the same problem: equal, or one begins the other and is long enough."""
    short, long = sorted((a, b), key=len)
    return a == b or (len(short) >= PREFIX and long.startswith(short))


def same_problem(a: str, b: str) -> bool:
    """Whether two texts are the same problem (see the module docstring)."""
    return same_key(text_key(a), text_key(b))


class TextIndex:
    """The problem texts of some splits, asked whether a text is one of them (``same_problem``)."""

    def __init__(self, texts: Iterable[str] = ()):
        self._keys: set[str] = set()
        self._by_prefix: dict[str, set[str]] = {}
        for text in texts:
            self.add(text)

    def add(self, text: str) -> None:
        key = text_key(text)
        self._keys.add(key)
        if len(key) >= PREFIX:
            self._by_prefix.setdefault(key[:PREFIX], set()).add(key)

    def __len__(self) -> int:
        return len(self._keys)

    def matches(self, text: str) -> bool:
        key = text_key(text)
        if key in self._keys:
            return True
        if len(key) < PREFIX:
            return False
        return any(k.startswith(key) or key.startswith(k) for k in self._by_prefix.get(key[:PREFIX], ()))
