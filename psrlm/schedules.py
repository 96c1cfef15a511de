"""Judge schedules: which candidate comparisons a search step asks the judge for.

``round_robin`` (the paper's): every unordered pair of distinct candidates, O(w^2) comparisons, all
in one batch. ``knockout``: a tournament that finds best and worst with about 3w/2 - 2 comparisons:
candidates meet in pairs; winners play on for best, losers for worst (a leftover plays in both),
phase by phase, so each phase is one batch of judge calls. A comparison is one unordered pair judged
in both orders (or one, alternating by comparison index): more wins takes it, a tie goes to the
lower candidate index for best and for worst alike (as in round robin).
"""

from __future__ import annotations

from itertools import combinations


def ordered(pairs: list[tuple[int, int]], orders: str, offset: int = 0) -> list[tuple[int, int]]:
    """The (A, B) judge calls for unordered ``pairs``: both orders, or one alternating by index."""
    if orders == "both":
        return [o for i, j in pairs for o in ((i, j), (j, i))]
    return [(i, j) if (k + offset) % 2 == 0 else (j, i) for k, (i, j) in enumerate(pairs)]


def judge_schedule(distinct: list[int], orders: str) -> list[tuple[int, int]]:
    """Round robin: ordered (A, B) calls over every unordered pair of ``distinct`` candidates."""
    return ordered(list(combinations(distinct, 2)), orders)


def count_wins(distinct: list[int], verdicts: list[tuple[int, int, str | None]]) -> dict[int, float]:
    """Wins per candidate from ``(first, second, verdict)``; a parse failure (None) scores nobody."""
    wins = {i: 0.0 for i in distinct}
    for first, second, verdict in verdicts:
        if verdict == "A":
            wins[first] += 1
        elif verdict == "B":
            wins[second] += 1
    return wins


def select_best_worst(wins: dict[int, float]) -> tuple[int, int]:
    """argmax and argmin of the wins; ties go to the lowest candidate index."""
    order = sorted(wins)
    best = max(order, key=lambda i: (wins[i], -i))
    worst = min(order, key=lambda i: (wins[i], i))
    return best, worst


class RoundRobin:
    def __init__(self, distinct: list[int], orders: str):
        self.distinct, self.orders = distinct, orders
        self.verdicts: list[tuple[int, int, str | None]] = []
        self.asked = False

    @property
    def done(self) -> bool:
        return self.asked or len(self.distinct) < 2

    def next_calls(self) -> list[tuple[int, int]]:
        if self.done:
            return []
        self.asked = True
        return judge_schedule(self.distinct, self.orders)

    def record(self, verdicts: list[tuple[int, int, str | None]]) -> None:
        self.verdicts += verdicts

    def result(self) -> tuple[dict[int, float], int, int]:
        wins = count_wins(self.distinct, self.verdicts)
        best, worst = select_best_worst(wins)
        return wins, best, worst


class Knockout:
    def __init__(self, distinct: list[int], orders: str):
        self.distinct, self.orders = distinct, orders
        self.verdicts: list[tuple[int, int, str | None]] = []
        self.top: list[int] = []  # still in the race for best
        self.bottom: list[int] = []  # still in the race for worst
        self.pending: list[tuple[str, int, int]] = []  # (bracket, i, j) of the phase being judged
        self.matches = 0
        self.started = False

    @property
    def done(self) -> bool:
        return self.started and not self.pending and len(self.top) <= 1 and len(self.bottom) <= 1

    def next_calls(self) -> list[tuple[int, int]]:
        if len(self.distinct) < 2:
            self.started, self.top, self.bottom = True, list(self.distinct), list(self.distinct)
            return []
        if not self.started:
            self.started = True
            pool = list(self.distinct)
            self.pending = [("first", pool[k], pool[k + 1]) for k in range(0, len(pool) - 1, 2)]
            if len(pool) % 2:  # the leftover plays on in both brackets
                self.top.append(pool[-1])
                self.bottom.append(pool[-1])
        else:
            self.pending = []
            for bracket in ("top", "bottom"):
                pool = getattr(self, bracket)
                if len(pool) > 1:
                    setattr(self, bracket, [pool[-1]] if len(pool) % 2 else [])
                    self.pending += [(bracket, pool[k], pool[k + 1]) for k in range(0, len(pool) - 1, 2)]
        calls = ordered([(i, j) for _, i, j in self.pending], self.orders, offset=self.matches)
        self.matches += len(self.pending)
        return calls

    def record(self, verdicts: list[tuple[int, int, str | None]]) -> None:
        self.verdicts += verdicts
        for bracket, i, j in self.pending:
            w = count_wins([i, j], [v for v in verdicts if {v[0], v[1]} == {i, j}])
            winner, loser = (i, j) if w[i] >= w[j] else (j, i)  # a tie goes to the lower index (i < j)
            if bracket in ("first", "top"):
                self.top.append(winner)
            if bracket == "first":
                self.bottom.append(loser)
            if bracket == "bottom":
                self.bottom.append(i if w[i] <= w[j] else j)  # the weaker plays on; a tie: the lower index
        self.top.sort()
        self.bottom.sort()
        self.pending = []

    def result(self) -> tuple[dict[int, float], int, int]:
        wins = count_wins(self.distinct, self.verdicts)
        return wins, self.top[0], self.bottom[0]


SCHEDULES = {"round_robin": RoundRobin, "knockout": Knockout}
