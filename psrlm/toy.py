"""The toy world: seeded multi-step arithmetic word problems, their steps, and step corruptions.

A problem is a start value and a chain of operations told as a short story::

    Mia has 23 marbles. She finds 9 more marbles. She gives 14 marbles to Ben.
    Then the number of marbles doubles... How many marbles does Mia have now?

Events are numbered (``First, she finds 9 more marbles.``). A reference step restates its event and
computes it (``Second, she finds 9 more marbles, so 23 + 9 = 32.``), the last one ending in
``The answer is \\boxed{36}.``; the free-form solution (M0's pretraining text) tells the same
arithmetic in prose without the ``Step n:`` format. Numbered, restated events keep every step local:
a tiny model copies what follows the step's ordinal in the question (an induction pattern it learns
early) and computes next to it, instead of finding the n-th event of the story by counting. Measured
with the 1.1M-parameter default: without the ordinals M1 copied the wrong event so often that it
solved 13% of held-out problems while getting 80% of its equations right. The corruptions make the wrong next steps an
oracle judge knows to be wrong: wrong arithmetic, a wrong operand, a skipped step, a repeated step, and
garbled text (a step cut off, run on, or with words spliced in), the one kind that is not a step of the grammar at all.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from psrlm.params import ToyProblems

NAMES = [
    ("Mia", "she", "her"), ("Ben", "he", "his"), ("Ava", "she", "her"), ("Leo", "he", "his"),
    ("Zoe", "she", "her"), ("Sam", "he", "his"), ("Ivy", "she", "her"), ("Max", "he", "his"),
    ("Lea", "she", "her"), ("Tom", "he", "his"), ("Eva", "she", "her"), ("Jay", "he", "his"),
]
ITEMS = ["marbles", "apples", "stickers", "coins", "books", "shells", "cards", "pens", "stamps", "beads"]
ORDINALS = ["First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth", "Ninth", "Tenth"]
SYMBOL = {"add": "+", "sub": "-", "mul": "*"}
KIND = {v: k for k, v in SYMBOL.items()}
EQUATION = re.compile(r"(\d+) ([+\-*]) (\d+) = (\d+)\.")
ANSWER_SUFFIX = " The answer is \\boxed{{{}}}."


@dataclass(frozen=True)
class Op:
    kind: str  # add | sub | mul
    value: int


def apply(kind: str, a: int, x: int) -> int:
    return {"add": a + x, "sub": a - x, "mul": a * x}[kind]


def equation(a: int, kind: str, x: int, result: int) -> str:
    return f"{a} {SYMBOL[kind]} {x} = {result}."


def _sentence(op: Op, pro: str) -> str:
    """One event, in one fixed phrasing per operation: a tiny model copies it token for token."""
    x = op.value
    return {"add": f"{pro} gets {x} more.", "sub": f"{pro} gives away {x}.", "mul": f"{pro} multiplies them by {x}."}[
        op.kind
    ]


def _sample_ops(rng: random.Random, cfg: ToyProblems, start: int) -> list[Op] | None:
    n = rng.randint(cfg.min_ops, cfg.max_ops)
    ops, value = [], start
    for _ in range(n):
        choices = list(cfg.operations)
        rng.shuffle(choices)
        for kind in choices:
            if kind == "mul":
                x = rng.randint(2, cfg.factor_max)
            elif kind == "sub":
                if value < 2:
                    continue
                x = rng.randint(1, min(cfg.operand_max, value - 1))
            else:
                x = rng.randint(1, cfg.operand_max)
            result = apply(kind, value, x)
            if 0 <= result <= cfg.value_max:
                ops.append(Op(kind, x))
                value = result
                break
        else:
            return None
    return ops


def make_problem(rng: random.Random, cfg: ToyProblems) -> dict:
    """One random problem as a dict of ``problems.Problem`` fields (without ``id``/``source``)."""
    while True:
        start = rng.randint(2, cfg.operand_max)
        ops = _sample_ops(rng, cfg, start)
        if ops:
            break
    name, pro, _ = rng.choice(NAMES)
    item = rng.choice(ITEMS)
    events = [f"{ORDINALS[i]}, {_sentence(op, pro)}" for i, op in enumerate(ops)]
    story = [f"{name} has {start} {item}.", *events, f"How many {item} does {name} have now?"]
    steps, prose, value = [], [f"{name} has {start} {item}."], start
    for op, event in zip(ops, events):
        result = apply(op.kind, value, op.value)
        # a step restates the event it computes, then the equation: the solution stays local to it
        steps.append(f"{event.rstrip('.')}, so {equation(value, op.kind, op.value, result)}")
        prose.append(f"{event.rstrip('.')}, so {pro} has {equation(value, op.kind, op.value, result)}")
        value = result
    steps[-1] += ANSWER_SUFFIX.format(value)
    prose.append(f"The answer is {value}.")
    return {"problem": " ".join(story), "answer": str(value), "steps": steps, "solution": " ".join(prose)}


def generate_splits(cfg: ToyProblems, sizes: dict[str, int], seed: int) -> dict[str, list[dict]]:
    """Disjoint splits of unique problems (no problem text appears in two splits)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: dict[str, list[dict]] = {}
    for split, size in sizes.items():
        rows = []
        attempts = 0
        while len(rows) < size:
            attempts += 1
            if attempts > 50 * size + 1000:
                raise ValueError(f"toy: cannot draw {size} unique '{split}' problems; widen the difficulty knobs")
            p = make_problem(rng, cfg.for_split(split))
            if p["problem"] in seen:
                continue
            seen.add(p["problem"])
            rows.append({"id": f"{split}-{len(rows):06d}", "source": "toy", **p})
        out[split] = rows
    return out


# --- corruptions (the oracle's wrong next steps) --------------------------------------------------


def parse_equation(body: str) -> tuple[int, str, int, int] | None:
    m = EQUATION.search(body)
    if not m:
        return None
    return int(m.group(1)), KIND[m.group(2)], int(m.group(3)), int(m.group(4))


def event_of(body: str) -> str:
    """The restated event of a step (the text before its equation)."""
    return body.split(", so ")[0]


def _finish(event: str, a: int, kind: str, x: int, result: int, final: bool) -> str:
    return f"{event}, so {equation(a, kind, x, result)}" + (ANSWER_SUFFIX.format(result) if final else "")


CORRUPTIONS = ("wrong_arithmetic", "wrong_previous", "answer_mismatch", "wrong_event", "wrong_operand",
               "skipped_step", "repeated_step", "garbled")

# A step of the toy grammar (its body, without ``Step n:``): one restated event, one equation, at most a
# boxed answer. Anything else is garbled: the oracle calls it a ``format`` error, the judge's check gives it
# no claim (``A says nothing.``).
WELL_FORMED = re.compile(rf"(?:{'|'.join(ORDINALS)}), (?:he|she) "
                         r"(?:gets \d+ more|gives away \d+|multiplies them by \d+), "
                         r"so -?\d+ [-+*] -?\d+ = -?\d+\.(?: The answer is \\boxed\{-?\d+\}\.)?")


def well_formed(body: str) -> bool:
    """Is ``body`` (a step without its header) a step of the toy grammar?"""
    return WELL_FORMED.fullmatch(body.strip()) is not None


def corrupt_step(steps: list[str], position: int, kind: str, rng: random.Random, cfg: ToyProblems) -> str | None:
    """A wrong version of step ``position`` (0-based) of the reference ``steps``, or None if ``kind``
    does not apply there (e.g. nothing to repeat at the first step, or skipping a step that repeats
    the same operation would give the right step)."""
    wrong = _corrupt(steps, position, kind, rng, cfg)
    return None if wrong == steps[position] else wrong


def carry_on(steps: list[str], position: int, wrong: str) -> list[str] | None:
    """A whole wrong solution: the reference ``steps`` with step ``position`` (0-based) replaced by
    ``wrong`` and every later step computed on from the value it carries (the error propagates to the
    boxed answer, as in a solution a model writes), or None if a later value would be negative."""
    parsed = parse_equation(wrong)
    if parsed is None:
        return None
    out, value = [*steps[:position], wrong], parsed[3]
    for i in range(position + 1, len(steps)):
        _, op, x, _ = parse_equation(steps[i])
        result = apply(op, value, x)
        if result < 0:
            return None
        out.append(_finish(event_of(steps[i]), value, op, x, result, i == len(steps) - 1))
        value = result
    return out


def both_wrong_event(steps: list[str], position: int, rng: random.Random, cfg: ToyProblems) -> tuple[str, str] | None:
    """Two wrong versions of step ``position`` that restate the same wrong event: the better one worked on
    consistently, the other the same step garbled (it claims nothing), or None where none applies.

    The search's rounds in which no candidate is right look like this: after a first step that gives
    something away, M1's candidates give away again (the previous step's operation with this event's
    number) and its judge, rewriting the right step, copies that event from the candidates (measured on
    the default's rollouts: the judge's rewritten step is wrong in 18-25% of its judgments, and a pair
    of two such steps is proven when its rewrite matches one of them). Neither candidate here holds the
    right event: the judge must read it off the question. The verdict, the well-formed step over the one
    that claims nothing, follows from the verify checks like every other (and proves nothing: the
    winner's difference is not 0)."""
    parsed = parse_equation(steps[position])
    if parsed is None:
        return None
    a, op, x, b = parsed
    previous = parse_equation(steps[position - 1]) if position else None
    wrong = None
    if previous is not None and previous[1] != op and apply(previous[1], a, x) >= 0 and previous[1] != "mul":
        ordinal, rest = event_of(steps[position]).split(", ", 1)
        pro = rest.split(" ", 1)[0]
        k = previous[1]
        wrong = _finish(f"{ordinal}, {_sentence(Op(k, x), pro).rstrip('.')}", a, k, x, apply(k, a, x),
                        position == len(steps) - 1)
    if wrong is None:
        wrong = corrupt_step(steps, position, "wrong_event", rng, cfg)
    if wrong is None or claim_of(wrong) == b:
        return None
    garbled = next((g for g in (_garble(wrong, rng) for _ in range(8)) if not well_formed(g)), None)
    return None if garbled is None else (wrong, garbled)


def _near(rng: random.Random, value: int, spread: int = 3) -> int:
    """A value 1..spread away from ``value`` (never negative): the size of the slips a model makes."""
    return value + rng.choice([d for d in range(-spread, spread + 1) if d != 0 and value + d >= 0])


def _corrupt(steps: list[str], position: int, kind: str, rng: random.Random, cfg: ToyProblems) -> str | None:
    parsed = parse_equation(steps[position])
    if parsed is None:
        return None
    a, op, x, b = parsed
    event = event_of(steps[position])
    final = position == len(steps) - 1
    if kind == "wrong_arithmetic":  # the equation's result is off (the search's most common error)
        return _finish(event, a, op, x, _near(rng, b, max(3, b // 10)), final)
    if kind == "wrong_previous":  # a wrong carried-over value, computed on consistently
        options = [v for v in range(max(0, a - 3), a + 4) if v != a and apply(op, v, x) >= 0]
        if not options:
            return None
        v = rng.choice(options)
        return _finish(event, v, op, x, apply(op, v, x), final)
    if kind == "answer_mismatch":  # the last step's boxed answer differs from the result it computed
        if not final:
            return None
        return f"{event}, so {equation(a, op, x, b)}" + ANSWER_SUFFIX.format(_near(rng, b))
    if kind == "wrong_event":  # an event the question does not tell, restated and computed consistently
        ordinal, rest = event.split(", ", 1)
        pro = rest.split(" ", 1)[0]
        options = [(k, y) for k in cfg.operations
                   for y in (range(2, cfg.factor_max + 1) if k == "mul" else range(1, cfg.operand_max + 1))
                   if (k, y) != (op, x) and apply(k, a, y) >= 0]
        if not options:
            return None
        k, y = rng.choice(options)
        return _finish(f"{ordinal}, {_sentence(Op(k, y), pro).rstrip('.')}", a, k, y, apply(k, a, y), final)
    if kind == "wrong_operand":
        hi = cfg.factor_max if op == "mul" else cfg.operand_max
        lo = 2 if op == "mul" else 1
        options = [y for y in range(lo, hi + 1) if y != x and apply(op, a, y) >= 0]
        if not options:
            return None
        y = rng.choice(options)
        return _finish(event, a, op, y, apply(op, a, y), final)
    if kind == "skipped_step":
        if final:
            return None
        nxt = parse_equation(steps[position + 1])
        if nxt is None or apply(nxt[1], a, nxt[2]) < 0:
            return None
        result = apply(nxt[1], a, nxt[2])
        return _finish(event_of(steps[position + 1]), a, nxt[1], nxt[2], result, position + 1 == len(steps) - 1)
    if kind == "repeated_step":
        if position == 0:
            return None
        return steps[position - 1]
    if kind == "garbled":  # a cut can end a final step at its equation: a well-formed step, drawn again
        return next((g for g in (_garble(steps[position], rng) for _ in range(8)) if not well_formed(g)), None)
    raise ValueError(f"unknown corruption '{kind}'")


def _garble(step: str, rng: random.Random) -> str:
    """The right step made garbled the ways the search's DPO models garble theirs (measured on the
    default's rollouts, ``benchmarks.judge_links --forms``): cut off (``Second, he gets 5 more, so 6 +``),
    a tail of other text after it (``... = 11. A``, ``... = 4. The 7; 7 - 8 = -1.``, the judge's words),
    a second event spliced into it (``First, she gives away 0. How, she gives away 2, so 5 - 2 = 3.``),
    a boxed answer left open that runs on (``... = 1. The answer is \\boxed{1. The answer is``), a broken box
    (``\\boxedboxed{``, ``\\boxed}.1}.``, ``\\boxedAboxedA]]``: the DPO models' commonest garble), or junk
    inside the line (``5 +  BeginB 3 = 8``, ``\\boxedth}``). Its claim may be the right result: only the
    form is wrong."""
    event, rest = step.split(", so ", 1)
    ordinal, clause = event.split(", ", 1)
    pro = clause.split(" ", 1)[0]
    n, m = rng.randint(0, 20), rng.randint(0, 20)
    form = rng.choice(("cut", "tail", "splice", "open_box", "broken_box", "noise"))
    if form == "cut":
        words = step.split(" ")
        return " ".join(words[: rng.randrange(1, len(words))])
    if form == "tail":
        tail = rng.choice(("A", "B", "The", "The answer is", f"A says {n}; {n} - {m} = {n - m}.",
                           f"The {n}; {n} - {m} = {n - m}.", f"B says {n}; {n} - {m}", "B]]", f"{pro} gets {n} more,"))
        return f"{step} {tail}"
    if form == "open_box":
        result = parse_equation(step)[3]
        run_on = rng.choice(("The answer is", f"{ordinal}, {pro} gets {n} more", f"{n} - {m} = {n - m}.", "[[B",
                             "[[A", f"A says {n};", "The", f"{pro} gives{n} - {m} = {n - m}."))
        return f"{step.split(' The answer is ')[0]} The answer is \\boxed{{{rng.choice((result, n))}. {run_on}"
    if form == "broken_box":  # the box's braces lost or doubled, its word repeated (the commonest form at M4's search)
        result = parse_equation(step)[3]
        pieces = ("boxed", "boxed", "A]]", "B]]", "{", "}", "}.", f"{{{result}", f"{result}}}.", "ce}.", "th}",
                  f"{{{result} = {n}. [[", "A", f"}}.{result}}}.")
        return f"{step.split(' The answer is ')[0]} The answer is \\boxed{''.join(rng.choices(pieces, k=rng.randint(1, 3)))}"
    fragment = rng.choice(("th", "Begin", "B", "A", "[[", "ond", "}", "{", "How", " ", "The"))
    at = rng.randrange(1, len(step) - 1)
    return f"{step[:at]}{fragment}{step[at:]}"


# --- the oracle: is a step the right next step? ---------------------------------------------------

BOXED = re.compile(r"\\boxed\{(-?\d+)\}")
START = re.compile(r"\bhas (\d+) ")


def claim_of(body: str) -> int | None:
    """The number a step claims: its boxed answer if it gives one, else its equation's result."""
    boxed = BOXED.search(body)
    if boxed:
        return int(boxed.group(1))
    parsed = parse_equation(body)
    return parsed[3] if parsed else None


def carried_value(question: str, previous_bodies: list[str]) -> int | None:
    """The value the next step starts from: the previous step's result as written (right or wrong),
    or the question's start value before any step."""
    if previous_bodies:
        parsed = parse_equation(previous_bodies[-1])
        return parsed[3] if parsed else None
    start = START.search(question)
    return int(start.group(1)) if start else None


EVENT = re.compile(r"\b(First|Second|Third|Fourth|Fifth|Sixth|Seventh|Eighth|Ninth|Tenth), (?:he|she) "
                   r"(?:gets (\d+) more|gives away (\d+)|multiplies them by (\d+))\.")


def solve(question: str) -> list[str] | None:
    """The reference steps of a toy question, read from its text (None if it is not a toy question):
    the oracle needs nothing but the question, so it judges any rollout or EFT record of the toy world."""
    start = START.search(question)
    events = list(EVENT.finditer(question))
    if start is None or not events or [m.group(1) for m in events] != ORDINALS[: len(events)]:
        return None
    value, steps = int(start.group(1)), []
    for m in events:
        kind = "add" if m.group(2) else "sub" if m.group(3) else "mul"
        x = int(m.group(2) or m.group(3) or m.group(4))
        result = apply(kind, value, x)
        steps.append(f"{m.group(0).rstrip('.')}, so {equation(value, kind, x, result)}")
        value = result
    steps[-1] += ANSWER_SUFFIX.format(value)
    return steps


def step_error(reference: list[str], previous_bodies: list[str], body: str) -> str:
    """The oracle's view of a candidate next step, given the steps before it as written: ``correct``,
    or the first thing wrong with it: ``format`` (not a step of the grammar: no equation, cut off, other
    text spliced in or after it), ``event`` (not the next event of the
    story: a skipped, repeated or invented event, or a wrong operand), ``previous_value`` (starts
    from a value other than the one carried over), ``arithmetic`` (its result is wrong),
    ``answer_mismatch`` (its boxed answer differs from its result), ``final`` (answers too early, or
    does not answer at the last event), ``extra`` (a step past the last event)."""
    position = len(previous_bodies)
    if position >= len(reference):
        return "extra"
    parsed, ref = parse_equation(body), parse_equation(reference[position])
    if parsed is None or ref is None or not well_formed(body):
        return "format"
    a, op, x, b = parsed
    if event_of(body) != event_of(reference[position]) or (op, x) != (ref[1], ref[2]):
        return "event"
    previous = parse_equation(previous_bodies[-1]) if previous_bodies else None
    carried = previous[3] if previous else None if previous_bodies else ref[0]  # the start value before any step
    if a != carried:
        return "previous_value"
    if b != apply(op, a, x):
        return "arithmetic"
    claim = claim_of(body)
    if claim != b:
        return "answer_mismatch"
    if ("\\boxed{" in body) != (position == len(reference) - 1):
        return "final"
    return "correct"


# --- the judge's explanation ----------------------------------------------------------------------


def check_claim(label: str, true: int, body: str) -> tuple[str, bool]:
    """One candidate's check, as the judge writes it: what the step claims (its boxed answer, else its
    result) minus the right result (0: the step is right)::

        A says 9; 9 - 11 = -2.

    Why a difference and not "yes"/"no": a tiny model learns a new arithmetic fact far faster than a
    one-bit equality test of two numbers (measured from the same M0, 8 x 16 checks a step: the
    difference form was 87% right at 500 steps, a yes/no form 49% at 500 and 68% at 1,500).
    """
    claim = claim_of(body) if well_formed(body) else None
    if claim is None:  # garbled: whatever number it holds, it claims nothing
        return f"{label} says nothing.", False
    return f"{label} says {claim}; {claim} - {true} = {claim - true}.", claim == true


def verify_explanation(right_step: str, body_a: str, body_b: str) -> tuple[str, bool, bool]:
    """The judge's explanation (``sets.explanation: verify``): the right next step worked out (its
    event restated from the question, from the value carried over, as the reasoner writes it), then a
    check of each candidate's claim against its result, so that the verdict (the step whose
    difference is 0) follows from what it wrote::

        Second, she gets 4 more, so 7 + 4 = 11. A says 9; 9 - 11 = -2. B says 11; 11 - 11 = 0.

    The check sees every kind of wrong step whose claim differs from the right result: arithmetic,
    a wrong carried value, a wrong, skipped or repeated event, a boxed answer off its result."""
    parsed = parse_equation(right_step)
    if parsed is None:
        raise ValueError(f"not a step with an equation: {right_step!r}")
    true = parsed[3]
    line_a, ok_a = check_claim("A", true, body_a)
    line_b, ok_b = check_claim("B", true, body_b)
    return f"{right_step.split(' The answer is ')[0]} {line_a} {line_b}", ok_a, ok_b


def right_step(question: str, previous_bodies: list[str]) -> str | None:
    """The right next step given the steps so far as written (the event the question tells next,
    computed from the value carried over), or None past the last event or off the toy world."""
    reference, carried = solve(question), carried_value(question, previous_bodies)
    position = len(previous_bodies)
    if reference is None or carried is None or position >= len(reference):
        return None
    _, op, x, _ = parse_equation(reference[position])
    return _finish(event_of(reference[position]), carried, op, x, apply(op, carried, x),
                   position == len(reference) - 1)


def check_sentence(rng: random.Random, result: int) -> str:
    """A check in M0's pretraining prose, after an equation with ``result``: somebody claims a number
    (half of the time right, a quarter off by the size of a slip, a quarter any value, as a wrong
    event gives) and the claim minus the result is worked out (``Ben says 9; 9 - 11 = -2.``): the
    arithmetic the judge's explanation does, seen tens of thousands of times before SFT."""
    r = rng.random()
    claim = result if r < 0.5 else _near(rng, result) if r < 0.75 else rng.randint(0, 2 * result + 3)
    return f"{rng.choice(NAMES)[0]} says {claim}; {claim} - {result} = {claim - result}."


def with_checks(solution: str, rng: random.Random, rate: float) -> str:
    """``solution`` (free-form prose) with :func:`check_sentence` after its equations: ``rate`` checks
    per equation on average (its whole part always, one more with the fractional part's probability).

    Checks stand inside the prose, right after the equation they check: measured with the default
    model, 64k of them there took M0 to 98% right on "is the difference 0" (94% exact), while 48k in
    separate documents of checks left it at chance (52%)."""
    def add(m: re.Match) -> str:
        n = int(rate) + (rng.random() < rate - int(rate))
        return " ".join([m.group(0), *(check_sentence(rng, int(m.group(4))) for _ in range(n))])

    return EQUATION.sub(add, solution)


def pretraining_document(problem: str, solution: str, rng: random.Random | None = None, checks: float = 0.0) -> str:
    """M0's pretraining document: the problem and its free-form solution, with ``checks`` check sentences
    per equation on average (:func:`with_checks`). SFT replays the first ones (``sft.prose_replay``)."""
    solution = with_checks(solution, rng, checks) if checks and rng is not None else solution
    return f"Problem: {problem}\nSolution: {solution}"


def judge_explanation(step_a_body: str, a_is_right: bool) -> str:
    """The oracle's short explanation: it checks Assistant A's step; the verdict follows from it.

    Every mistake the corruptions make shows inside the step itself: wrong arithmetic in its equation,
    a wrong operand against the event it restates, a skipped or repeated step in an ordinal that does
    not match the step's number. So the judge learns to verify the step it reads, rather than to
    solve the problem again (which is the reasoner's harder job). One clause: every judge call
    decodes it, w(w-1) times per searched step.
    """
    parsed = parse_equation(step_a_body)
    eq = f"{parsed[0]} {SYMBOL[parsed[1]]} {parsed[2]} = {parsed[3]}" if parsed else "its claim"
    return f"Assistant A's step computes {eq}, which is {'right' if a_is_right else 'wrong'}."
