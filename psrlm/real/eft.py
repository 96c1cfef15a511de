"""EFT from real steps: a right and a wrong next step after the same correct prefix (pure functions).

Two sources, each pair in both orders (A/B) by ``psrlm.sets.both_orders``, as for the toy world:

* PRMBench: the original PRM800K step against the perturbed one at the first error step. Only
  items where the perturbation left the question and every earlier step alone qualify, so the two
  candidates really continue the same solution; the README's broken items (no error steps, an error
  step past the end) and the rest are skipped and counted by reason.
* GSM8K: a reference step whose calculator annotation ``<<a*b=c>>`` checks out, against the same
  step with its result changed: the annotation's expression proves the new result wrong.

``real_eft_sets`` makes a real-data run's EFT train and test: from problems that appear in no other
split (the GSM8K problems of the eft split; PRMBench items whose problem no other split holds), and
split by problem, so that no problem of EFT test appears in EFT train (PRMBench by the problem its
items perturb, ``prmbench_groups``).

The explanation says what is wrong with the wrong step, in the toy oracle's words where it can
(``Assistant A's step computes 9*2 = 20, which is wrong.``).

    from psrlm.real.eft import build_gsm8k_eft, build_prmbench_eft, real_eft_sets
    records, skipped = build_prmbench_eft(load_prmbench(root))
    train, test, skipped = real_eft_sets(params, splits, load_prmbench(root))   # splits: name -> problems
"""

from __future__ import annotations

import ast
import operator
import random
import re
from collections import Counter
from fractions import Fraction

from psrlm.params import Params
from psrlm.real.answers import gsm8k_answer
from psrlm.real.ift import clean_gsm8k_line, gsm8k_lines, with_final_answer
from psrlm.real.overlap import TextIndex, same_key, text_key
from psrlm.sets import both_orders, step_texts
from psrlm.steps import format_step
from schemas import EFTRecord, PerturbedSolution, Problem

# What the perturbed step does wrong, by PRMBench's error class.
PRMBENCH_ERRORS = {
    "confidence": "asserts a wrong result with unwarranted confidence",
    "step_contradiction": "contradicts an earlier step",
    "circular": "assumes what it has to show",
    "domain_inconsistency": "applies a rule outside the domain where it holds",
    "counterfactual": "contradicts the facts given or known results",
    "redundency": "repeats earlier work without making progress",
    "deception": "hides an error behind plausible-looking reasoning",
    "missing_condition": "ignores a condition the problem gives",
}


# ---- PRMBench -------------------------------------------------------------------------------------

def prmbench_defect(item: dict | PerturbedSolution) -> str | None:
    """Why a PRMBench item cannot give a step pair (the README's broken items), or None."""
    x = item if isinstance(item, PerturbedSolution) else PerturbedSolution.model_validate(item)
    if not x.error_steps:
        return "no error steps"  # the 10 multi_solutions items
    if max(x.error_steps) > len(x.modified_steps) or min(x.error_steps) < 1:
        return "error step beyond the modified solution"  # 11 items
    return None


def prmbench_skip_reason(x: PerturbedSolution) -> str | None:
    """Why ``x`` gives no clean step pair, or None."""
    if defect := prmbench_defect(x):
        return defect
    first = min(x.error_steps) - 1
    if x.modified_question != x.original_question:
        return "question modified"
    if first >= len(x.original_steps):
        return "no original step at the first error"
    if x.original_steps[:first] != x.modified_steps[:first]:
        return "steps before the first error modified"
    if x.original_steps[first].strip() == x.modified_steps[first].strip():
        return "first error step unchanged"
    return None


def prmbench_pair(item: PerturbedSolution | dict, problem_id: str | None = None) -> list[EFTRecord]:
    """Both orders of the original vs the perturbed step at the first error, or [] (see the reason).
    ``problem_id``: the problem's id (``prmbench_groups``: items of several idx can perturb one problem);
    default ``prmbench/<idx>``."""
    x = item if isinstance(item, PerturbedSolution) else PerturbedSolution.model_validate(item)
    if prmbench_skip_reason(x):
        return []
    first = min(x.error_steps) - 1
    error = PRMBENCH_ERRORS.get(x.classification, "is wrong")

    def explain(a_is_right: bool) -> str:
        if a_is_right:
            return f"Assistant A's step is right; Assistant B's step {error}."
        return f"Assistant A's step {error}, so it is wrong."

    return both_orders(
        problem_id or f"prmbench/{x.idx}", x.problem, step_texts(x.original_steps[:first]),
        format_step(first + 1, x.original_steps[first]), format_step(first + 1, x.modified_steps[first]),
        f"eft-{x.id}", f"prmbench_{x.classification}", explain,
    )


def build_prmbench_eft(items: list[PerturbedSolution | dict],
                       problem_id: str | None = None) -> tuple[list[EFTRecord], Counter]:
    """EFT records from PRMBench items, and how many items were skipped for which reason."""
    records, skipped = [], Counter()
    for item in items:
        x = item if isinstance(item, PerturbedSolution) else PerturbedSolution.model_validate(item)
        if reason := prmbench_skip_reason(x):
            skipped[reason] += 1
        else:
            records.extend(prmbench_pair(x, problem_id))
    return records, skipped


# ---- GSM8K perturbations --------------------------------------------------------------------------

# <<expression=result>> followed by the result as the text shows it (an integer, not the start of a
# longer number such as 1,200 or 2.5)
ANNOTATION = re.compile(r"<<([0-9+\-*/(). ]+)=(-?\d+)>>(-?\d+)(?![\d.,]\d)")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def evaluate(expression: str) -> Fraction | None:
    """Exact value of a calculator expression (numbers, + - * /, parentheses), or None."""
    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        raise ValueError("unsupported expression")

    try:
        return ev(ast.parse(expression.strip(), mode="eval").body)
    except (ValueError, SyntaxError, ZeroDivisionError, TypeError):
        return None


def checkable_annotations(line: str) -> list[re.Match]:
    """Annotations of ``line`` whose shown result is their expression's exact integer value."""
    return [m for m in ANNOTATION.finditer(line)
            if m.group(2) == m.group(3) and evaluate(m.group(1)) == int(m.group(2))]


def wrong_result(result: int, rng: random.Random) -> int:
    """A nearby wrong result (non-negative when the right one is), as the toy's wrong arithmetic."""
    spread = max(3, abs(result) // 10)
    return result + rng.choice([d for d in range(-spread, spread + 1) if d != 0 and (result < 0 or result + d >= 0)])


def gsm8k_pair(problem: Problem | dict, rng: random.Random) -> list[EFTRecord]:
    """Both orders of a reference step against its wrong-result copy, or [] if no step is checkable."""
    p = problem if isinstance(problem, Problem) else Problem.model_validate(problem)
    lines = gsm8k_lines(p.solution)
    candidates = [(k, m) for k, line in enumerate(lines) for m in checkable_annotations(line)]
    if not candidates:
        return []
    k, m = rng.choice(candidates)
    expression, result = m.group(1).strip(), int(m.group(2))
    wrong = wrong_result(result, rng)
    wrong_line = lines[k][: m.start()] + f"<<{expression}={wrong}>>{wrong}" + lines[k][m.end() :]
    bodies = [clean_gsm8k_line(line) for line in lines]
    right_body, wrong_body = bodies[k], clean_gsm8k_line(wrong_line)
    if k == len(lines) - 1:  # the last step states the answer; a wrong result there is the answer
        answer = gsm8k_answer(p.solution)
        right_body = with_final_answer(right_body, answer)
        wrong_body = with_final_answer(wrong_body, str(wrong) if answer == str(result) else answer)

    def explain(a_is_right: bool) -> str:
        shown = result if a_is_right else wrong
        return f"Assistant A's step computes {expression} = {shown}, which is {'right' if a_is_right else 'wrong'}."

    return both_orders(p.id, p.problem, step_texts(bodies[:k]), format_step(k + 1, right_body),
                       format_step(k + 1, wrong_body), f"eft-{p.id}", "wrong_arithmetic", explain)


def build_gsm8k_eft(problems: list[Problem | dict], seed: int) -> tuple[list[EFTRecord], Counter]:
    """One perturbation pair (two records) per GSM8K problem, and the count of problems without one."""
    rng = random.Random(seed)
    records, skipped = [], Counter()
    for p in problems:
        pair = gsm8k_pair(p, rng)
        if pair:
            records.extend(pair)
        else:
            skipped["no checkable calculator annotation"] += 1
    return records, skipped


# ---- the EFT sets of a real-data run: problems no other split has, train and test split by problem ----

OTHER_SPLIT = "problem in another split"


def _solution(item: PerturbedSolution | dict) -> PerturbedSolution:
    return item if isinstance(item, PerturbedSolution) else PerturbedSolution.model_validate(item)


def _problem(p: Problem | dict) -> Problem:
    return p if isinstance(p, Problem) else Problem.model_validate(p)


def prmbench_texts(x: PerturbedSolution) -> tuple[str, str]:
    """The texts of the problem a PRMBench item perturbs (its question as shown, and the original)."""
    return x.problem, x.original_question


def prmbench_groups(items: list[PerturbedSolution | dict]) -> list[list[PerturbedSolution]]:
    """PRMBench items grouped by the problem they perturb, in the items' order. Items that share their
    ``idx`` (one PRM800K solution) or whose questions are the same problem (``same_problem``) are one
    problem: the same problem appears under several idx (PRM800K phases 1 and 2), and one idx under
    reformatted questions, so both links are followed."""
    xs = [_solution(x) for x in items]
    parent = list(range(len(xs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    keys = [{text_key(t) for t in prmbench_texts(x)} for x in xs]
    for i, x in enumerate(xs):
        for j in range(i):
            if xs[j].idx == x.idx or any(same_key(a, b) for a in keys[i] for b in keys[j]):
                parent[root(i)] = root(j)
    groups: dict[int, list[PerturbedSolution]] = {}
    for i, x in enumerate(xs):
        groups.setdefault(root(i), []).append(x)
    return list(groups.values())


def split_real_eft(gsm8k: list[Problem | dict], prmbench: list[PerturbedSolution | dict], taken: TextIndex, *,
                   test_problems: int, train_problems: int, prmbench_test_share: float,
                   seed: int) -> tuple[list[EFTRecord], list[EFTRecord], Counter]:
    """EFT train and test records, and the skipped items by reason (``"<source>: <reason>"``).

    ``gsm8k``: the problems held out for EFT; the first ``test_problems`` of them that no other split
    has give EFT test, the next ``train_problems`` EFT train (one pair per problem with a checkable
    calculator annotation). ``prmbench``: every item; a problem any of whose texts ``taken`` (the other
    splits) holds is skipped whole, the others that give a pair are shuffled (``seed``) and split by
    problem, ``prmbench_test_share`` of them (at least one) to EFT test.
    """
    skipped: Counter = Counter()
    fresh = []
    for p in map(_problem, gsm8k):
        if taken.matches(p.problem):
            skipped[f"gsm8k: {OTHER_SPLIT}"] += 1
        else:
            fresh.append(p)
    train, test = [], []
    for records, problems, offset in ((test, fresh[:test_problems], 1),
                                      (train, fresh[test_problems : test_problems + train_problems], 0)):
        made, why = build_gsm8k_eft(problems, seed + offset)  # seeds as the toy sets': train seed, test seed + 1
        records += made
        skipped.update({f"gsm8k: {k}": v for k, v in why.items()})
    usable = []
    for group in prmbench_groups(prmbench):
        if any(taken.matches(t) for x in group for t in prmbench_texts(x)):
            skipped[f"prmbench: {OTHER_SPLIT}"] += len(group)
            continue
        made, why = build_prmbench_eft(group, f"prmbench/{group[0].idx}")  # one id for the problem
        skipped.update({f"prmbench: {k}": v for k, v in why.items()})
        if made:
            usable.append(made)
    random.Random(seed).shuffle(usable)
    held_out = max(1, round(len(usable) * prmbench_test_share)) if usable else 0
    test += [r for made in usable[:held_out] for r in made]
    train += [r for made in usable[held_out:] for r in made]
    return train, test, skipped


def real_eft_sets(params: Params, splits: dict[str, list[Problem | dict]],
                  prmbench: list[PerturbedSolution | dict]) -> tuple[list[EFTRecord], list[EFTRecord], Counter]:
    """A real-data run's EFT train and test (``split_real_eft``) from its problem splits by name (the eft
    split and every other one: sft, search, test, bench-<task>) and the PRMBench items, as
    ``params.problems.real.eft`` and ``params.sets`` say."""
    real, cfg = params.problems.real, params.sets
    taken = TextIndex(_problem(p).problem for name, rows in splits.items() if name != "eft" for p in rows)
    return split_real_eft(splits.get("eft", []) if "gsm8k" in real.eft else [],
                          prmbench if "prmbench" in real.eft else [], taken,
                          test_problems=cfg.eft_test_problems, train_problems=cfg.eft_train_problems,
                          prmbench_test_share=real.prmbench_test_share, seed=params.seed)
