"""Does a judge's ``verify`` explanation prove its own verdict? (toy world, ``sets.explanation: verify``)

The verify judge writes the step it expects, then checks each candidate's claim against it::

    Second, she gets 4 more, so 7 + 4 = 11. A says 9; 9 - 11 = -2. B says 11; 11 - 11 = 0. [[B]]

Such an explanation *proves* its verdict when both claims are checked against one recomputed value, each
check's arithmetic is exact, and the winner's difference is 0 and the loser's is not; or when the winner's
check is exact with difference 0 and the loser is garbled and claims nothing (``A says nothing.``). A verdict that does
not follow from its own explanation (or whose explanation is cut off, garbled, or checks one candidate
only) proves nothing. ``pairs.keep: proven`` trains only on pairs every best-vs-worst judgment of which
proves (``stages/pairs.py``); ``pairs.keep: exact`` also asks that the chosen step be the judge's own rewrite
word for word (:func:`rewrites`): a proof checks the claim, and a step can claim the right number from a wrong
event or a false equation (``First, he gets 1 more, so 3 + 2 = 5.`` where the judge wrote ``4 + 1 = 5``);
``benchmarks.judge_links`` and ``benchmarks.pair_rules`` read the same checks.
``pairs.rewrites`` reads one more thing: where every judgment of a round works out the same step, checks
both claims against it exactly, and that step is none of the candidates (:func:`new_step`), the judge has
written the step the reasoner did not sample, and it becomes a chosen step of its own.
No oracle is asked: the rule reads the judge's own words.
"""

from __future__ import annotations

import re

from psrlm.prompts import parse_verdict
from psrlm.steps import step_body
from psrlm.toy import well_formed

CHECK = re.compile(r"([AB]) says (-?\d+); (-?\d+) - (-?\d+) = (-?\d+)")
SAYS = re.compile(r" ?\b[AB] says ")
NOTHING = re.compile(r"\b([AB]) says nothing\.")


def proves(raw: str | None) -> bool:
    """Does this ``verify`` explanation prove its own verdict (see the module doc)?"""
    checks, nothing = _checks(raw)
    if not _exact(checks, nothing):
        return False
    verdict = parse_verdict(raw or "")
    if verdict is None or verdict not in checks:
        return False
    loser = "B" if verdict == "A" else "A"
    if loser in nothing:
        return checks[verdict][3] == 0
    return checks[verdict][3] == 0 and checks[loser][3] != 0


def _checks(raw: str | None) -> tuple[dict[str, tuple[int, ...]], set[str]]:
    """The explanation's checks (``A says 9; 9 - 11 = -2``: claim, copied claim, value, difference) per
    candidate, and the candidates it says nothing of."""
    return ({k: tuple(int(v) for v in rest) for k, *rest in CHECK.findall(raw or "")},
            set(NOTHING.findall(raw or "")))


def checks_exactly(raw: str | None) -> bool:
    """Both claims checked (or said to be nothing) against one recomputed value, each check's arithmetic
    exact, whatever the verdict."""
    return _exact(*_checks(raw))


def _exact(checks: dict[str, tuple[int, ...]], nothing: set[str]) -> bool:
    if nothing & set(checks) or set(checks) | nothing != {"A", "B"}:
        return False
    if any(claim != copied or claim - value != diff for claim, copied, value, diff in checks.values()):
        return False
    return len({value for _, _, value, _ in checks.values()}) <= 1


def new_step(raws: list[str], candidates: list[str]) -> str | None:
    """The step (a body, without its answer) that every judgment of a round works out, each checking exactly,
    when it is a step of the toy grammar and none of ``candidates`` (``Step n: ...``) is it; else None."""
    if not raws or not all(checks_exactly(raw) for raw in raws):
        return None
    steps = {rewrite_of(raw) for raw in raws}
    if len(steps) != 1 or None in steps:
        return None
    step = steps.pop()
    if not well_formed(step) or " The answer is " in step:
        return None
    if any(step_body(c).split(" The answer is ")[0].strip() == step for c in candidates):
        return None
    return step


def rewrite_of(raw: str | None) -> str | None:
    """The step the judge worked out: its explanation up to the first check (``A says ...``), or None."""
    m = SAYS.search(raw or "")
    return raw[:m.start()].strip() if m and m.start() > 0 else None


def rewrites(raw: str | None, step: str) -> bool:
    """Is ``step`` (``Step n: ...``) the judge's own rewrite, word for word, up to its boxed answer (which the
    claim check sees)?"""
    return rewrite_of(raw) == step_body(step).split(" The answer is ")[0].strip()
