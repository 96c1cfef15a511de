"""The step-wise search of one problem (paper Eqs. 1-5) as a pure state machine.

The model samples w candidate next steps; identical candidates merge; every pair of distinct
candidates is judged (both orders, or one); a candidate's score is its number of wins. Best and
worst (ties to the lowest index) make a preference pair when best beats worst. When all scores are
equal the judge cannot tell the candidates apart: the previous step and its pair are discarded and
the search goes back one step (at most ``max_rollbacks`` times, then best is kept). The path is
greedy and stops at an answer (``\\boxed{}``), at end of sequence, or after ``max_steps`` steps; or,
when the engine finds its next prompt too long for the model's context, with ``too_long``.

No model is called here: :class:`ProblemSearch` says which prompts it needs and takes the outputs,
so the engine can batch every problem in flight into one generation call per phase, and tests can
drive it with hand-built candidates and verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psrlm.generation import Completion
from psrlm.judge import Verdict
from psrlm.params import Search
from psrlm.schedules import SCHEDULES, count_wins, judge_schedule, select_best_worst  # noqa: F401 (re-exported)
from psrlm.steps import has_final_answer, is_final_step, join_steps, normalize_step, step_body
from psrlm.toy import step_error


def merge_duplicates(texts: list[str]) -> list[int | None]:
    """For each candidate, the index of the first identical one (after whitespace normalisation),
    or None when it is the first of its kind."""
    first: dict[str, int] = {}
    out: list[int | None] = []
    for i, t in enumerate(texts):
        key = normalize_step(t)
        if key in first:
            out.append(first[key])
        else:
            first[key] = i
            out.append(None)
    return out


@dataclass
class Step:
    text: str
    round: int
    final: bool  # ended its solution (answer or end of sequence)
    finish_reason: str


@dataclass
class SearchProblem:
    id: str
    question: str
    gold: str
    prompt: str  # the chat-rendered reasoning prompt, before any step
    reference: list[str] | None = None  # toy world: the reference step bodies (the oracle); None: no oracle


@dataclass
class ProblemSearch:
    """The search state of one problem; records every candidate, judgment and round as dicts of the
    ``schemas.rollout`` row models."""

    problem: SearchProblem
    cfg: Search
    orders: str
    schedule_name: str = "round_robin"
    average_orders: bool = False  # score by P(A) averaged over both orders (direct judge; params.Judge)
    steps: list[Step] = field(default_factory=list)
    rollbacks: int = 0
    round: int = 0
    stop_reason: str | None = None
    candidates: list[dict] = field(default_factory=list)
    judgments: list[dict] = field(default_factory=list)
    rounds: list[dict] = field(default_factory=list)
    # the round in progress
    _texts: list[Completion] = field(default_factory=list)
    _distinct: list[int] = field(default_factory=list)
    _duplicate_of: list[int | None] = field(default_factory=list)
    _oracle: list[str | None] = field(default_factory=list)
    _schedule: object = None
    _calls: list[tuple[int, int]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.stop_reason is not None

    def prompt(self) -> str:
        """Problem prompt + steps so far: the prompt the next candidates are sampled from."""
        return self.problem.prompt + join_steps([s.text for s in self.steps])

    def take_candidates(self, completions: list[Completion]) -> list[tuple[int, int]]:
        """Record this round's samples; returns the first (A, B) candidate comparisons to judge
        (none when the samples are all identical: the round is then already decided)."""
        self._texts = [Completion(c.text.strip(), c.finish_reason, c.num_tokens) for c in completions]
        self._duplicate_of = merge_duplicates([c.text for c in self._texts])
        self._distinct = [i for i, d in enumerate(self._duplicate_of) if d is None]
        reference, previous = self.problem.reference, [step_body(s.text) for s in self.steps]
        self._oracle = [step_error(reference, previous, step_body(c.text)) if reference else None for c in self._texts]
        self._schedule = SCHEDULES[self.schedule_name](self._distinct, self.orders)
        return self._ask()

    def _ask(self) -> list[tuple[int, int]]:
        self._calls = self._schedule.next_calls()
        if not self._calls:
            self._finish_round()
        return list(self._calls)

    def take_verdicts(self, outputs: list[Verdict]) -> list[tuple[int, int]]:
        """Record judge outputs for the comparisons asked last; returns the next comparisons to judge
        (a knockout's next phase), or [] once the round is decided: selected, paired or rolled back."""
        if not self._calls:
            raise RuntimeError("no comparisons are pending: the round is already decided")
        assert len(outputs) == len(self._calls), "one judge output per scheduled comparison"
        p_first = _order_averaged(self._calls, outputs) if self.average_orders else [None] * len(outputs)
        verdicts = []
        for (first, second), out, p in zip(self._calls, outputs, p_first):
            winner = first if out.verdict == "A" else second if out.verdict == "B" else None
            verdicts.append((first, second, out.verdict if p is None else "A" if p >= 0.5 else "B"))
            self.judgments.append(dict(problem_id=self.problem.id, round=self.round, first=first, second=second,
                                       raw=out.raw, verdict=out.verdict, p_a=out.p_a, winner=winner))
        self._schedule.record(verdicts)
        return self._ask()

    def _finish_round(self) -> None:
        wins, best, worst = self._schedule.result()
        for i, c in enumerate(self._texts):
            self.candidates.append(dict(problem_id=self.problem.id, round=self.round, candidate=i, text=c.text,
                                        finish_reason=c.finish_reason, final=is_final_step(c.text, c.finish_reason),
                                        duplicate_of=self._duplicate_of[i],
                                        wins=wins.get(i), oracle=self._oracle[i]))
        if len(self._distinct) == 1:
            outcome = "single"
        elif wins[best] > wins[worst]:
            outcome = "pair"
        elif self.rollbacks < self.cfg.max_rollbacks:
            outcome = "tie_rollback"
        else:
            outcome = "tie_forced"
        self.rounds.append(dict(
            problem_id=self.problem.id, round=self.round, position=len(self.steps) + 1, prompt=self.prompt(),
            n_candidates=len(self._texts), n_distinct=len(self._distinct),
            best=None if outcome == "tie_rollback" else best,
            worst=worst if outcome == "pair" else None,
            best_wins=wins[best], worst_wins=wins[worst], outcome=outcome, discarded=False,
        ))
        if outcome == "tie_rollback":
            self._roll_back()
        else:
            self._append(best)
        self.round += 1

    def _roll_back(self) -> None:
        self.rollbacks += 1
        if self.steps:
            dropped = self.steps.pop()
            for r in self.rounds:
                if r["round"] == dropped.round:
                    r["discarded"] = True

    def _append(self, index: int) -> None:
        c = self._texts[index]
        answer = has_final_answer(c.text)
        final = is_final_step(c.text, c.finish_reason)
        self.steps.append(Step(text=c.text, round=self.round, final=final, finish_reason=c.finish_reason))
        if answer:
            self.stop_reason = "answer"
        elif c.finish_reason in ("eos", "length"):
            self.stop_reason = c.finish_reason
        elif len(self.steps) >= self.cfg.max_steps:
            self.stop_reason = "max_steps"

    def end(self, reason: str) -> None:
        """Stop the search here: ``too_long`` when the next prompt (reasoning or judge) would not fit the
        model's context. A round in progress is dropped unjudged (nothing chose among its candidates, so
        they are not recorded); the path keeps the steps so far."""
        self.stop_reason = reason
        self._calls = []

    def candidate_text(self, index: int) -> str:
        return self._texts[index].text

    def oracle_verdicts(self, calls: list[tuple[int, int]]) -> list[Verdict]:
        """The oracle's verdicts (``judge.oracle``): the right step of a pair wins; two steps equally
        right or wrong give the first shown the win, so both orders of such a pair tie."""
        if self.problem.reference is None:
            raise ValueError(f"{self.problem.id}: judge.oracle needs toy problems (no reference steps here)")
        out = []
        for a, b in calls:
            right_a, right_b = self._oracle[a] == "correct", self._oracle[b] == "correct"
            verdict = "B" if right_b and not right_a else "A"
            out.append(Verdict(raw=f"(oracle) {self._oracle[a]} vs {self._oracle[b]} [[{verdict}]]",
                               verdict=verdict, p_a=None))
        return out

    def finished_steps(self) -> list[str]:
        return [s.text for s in self.steps]


def _order_averaged(calls: list[tuple[int, int]], outputs: list[Verdict]) -> list[float | None]:
    """P(first beats second) per call, averaged with the mirrored call of the same phase:
    (P_A(x, y) + 1 - P_A(y, x)) / 2; None where either order has no probability. An exact 0.5 makes
    each order's first the winner: one win each, a tie."""
    p_a = {call: out.p_a for call, out in zip(calls, outputs)}
    averaged = []
    for first, second in calls:
        here, mirror = p_a[(first, second)], p_a.get((second, first))
        averaged.append(None if here is None or mirror is None else (here + 1.0 - mirror) / 2)
    return averaged
