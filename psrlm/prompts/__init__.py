"""Prompt templates (versioned files beside this module) and the parser of the judge's verdict.

Each style is a folder holding ``reasoning.txt`` and ``judge.txt``, and the SRLM arm's solution judges
``solution_rubric.txt`` (Yuan et al.'s additive 5-point rubric, adapted to math; parsed by
:func:`parse_score`) and ``solution_judge.txt`` (the step judge's pairwise format on whole solutions).
``paper``: the paper's reasoning prompt (Fig. 4, paraphrased) and pairwise step judge (Fig. 5, after
MT-Bench). ``compact``: the same
structure in fewer words, for tiny models whose compute is dominated by prompt tokens (the judge
prompt falls from ~240 to ~130 tokens). Templates use ``$name`` placeholders (not braces, which LaTeX
answers are full of). Stages that render a template list this folder as a dependency.
``compact-claims``: ``compact`` with one more line after the two steps, what each claims, read off the
text (``[Claims] A says 4. B says 11.``: the last ``\boxed{}``, else the last number; :func:`step_claim`).
A tiny judge's weak link is copying each candidate's claim out of two near-identical blocks (measured:
*Link by link* 1 in the README); with this line its explanation copies ``A says 4`` from one place that
says so. It decides nothing: the judge still works the right step out and checks each claim against it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from string import Template

from psrlm.steps import join_steps

PROMPT_DIR = Path(__file__).parent
VERDICT = re.compile(r"\[\[([AB])\]\]")
SCORE = re.compile(r"Score:\s*(\d+)")
RUBRIC_POINTS = 5  # the rubric's most points: a score above it does not parse
VERDICT_PREFIX = "[["  # a direct judge reads P(A) vs P(B) right after this
NO_STEPS = "(no steps yet)"


STYLES = ("paper", "compact", "compact-claims")
BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@cache
def template(style: str, name: str) -> Template:
    if style not in STYLES:
        raise ValueError(f"unknown prompt style '{style}' (known: {', '.join(STYLES)})")
    return Template((PROMPT_DIR / style / f"{name}.txt").read_text(encoding="utf-8").rstrip("\n"))


def reasoning_prompt(problem: str, style: str) -> str:
    return template(style, "reasoning").substitute(problem=problem.strip())


def judge_prompt(question: str, previous_steps: list[str], step_a: str, step_b: str, style: str) -> str:
    """The judge's user message. The shared part (question, steps so far) comes first, so that the
    prompts of every pair of one search step share a cacheable prefix."""
    steps = join_steps(previous_steps).rstrip("\n") or NO_STEPS
    return template(style, "judge").substitute(
        question=question.strip(), steps=steps, step_a=step_a.strip(), step_b=step_b.strip(),
        claim_a=step_claim(step_a), claim_b=step_claim(step_b),  # used by compact-claims only
    )


def step_claim(step: str) -> str:
    """What a step claims, as written: its last ``\\boxed{}``, else its last number, else ``nothing``
    (``Step 2: ..., so 8 - 3 = 5. The answer is \\boxed{4}.`` claims 4; ``Step 1: ..., 3 + 5 = 8.`` claims 8)."""
    boxed = BOXED.findall(step)
    if boxed:
        return boxed[-1].strip()
    numbers = NUMBER.findall(step.split(":", 1)[-1] if step.startswith("Step ") else step)
    return numbers[-1] if numbers else "nothing"


def solution_rubric_prompt(question: str, solution: str, style: str) -> str:
    """The rubric judge's user message: one whole solution, scored alone."""
    return template(style, "solution_rubric").substitute(question=question.strip(), solution=solution.strip())


def solution_judge_prompt(question: str, solution_a: str, solution_b: str, style: str) -> str:
    """The pairwise solution judge's user message: two whole solutions, the step judge's verdict format."""
    return template(style, "solution_judge").substitute(question=question.strip(), solution_a=solution_a.strip(),
                                                        solution_b=solution_b.strip())


def rubric_target(explanation: str, score: int) -> str:
    """The rubric judge's answer as trained on the solution EFT: a short explanation, then ``Score: n``."""
    return f"{explanation.strip()} Score: {score}"


def parse_score(output: str) -> int | None:
    """The last ``Score: n`` in the rubric judge's output wins; None (no score, or one above
    ``RUBRIC_POINTS``) is a parse failure: stored and counted, never scored."""
    found = SCORE.findall(output)
    if not found or int(found[-1]) > RUBRIC_POINTS:
        return None
    return int(found[-1])


def judge_target(explanation: str, verdict: str, mode: str = "explain") -> str:
    """The judge's answer as trained on EFT data: a short explanation, then exactly [[A]] or [[B]];
    in ``direct`` mode the verdict alone."""
    if mode == "direct":
        return f"{VERDICT_PREFIX}{verdict}]]"
    return f"{explanation.strip()} [[{verdict}]]"


def eft_example(tokenizer, record, style: str, mode: str = "explain") -> dict:
    """One EFT record (``schemas.EFTRecord``) as the judge's training example: the chat-rendered judge
    prompt and the explanation with its verdict (what SFT trains and ``dpo.judge_replay`` prefers)."""
    prompt = judge_prompt(record.problem, record.previous_steps, record.step_a, record.step_b, style)
    completion = judge_target(record.explanation, record.verdict, mode)
    return {"prompt": chat_prompt(tokenizer, prompt), "completion": completion}


def verdict_token_ids(tokenizer, prompt: str) -> tuple[int, int]:
    """The token ids of ``A`` and ``B`` as they follow ``prompt + VERDICT_PREFIX``."""
    base = tokenizer(prompt + VERDICT_PREFIX)["input_ids"]
    ids = []
    for letter in "AB":
        full = tokenizer(prompt + VERDICT_PREFIX + letter)["input_ids"]
        if full[: len(base)] != base or len(full) != len(base) + 1:
            raise ValueError(f"the tokenizer merges '{VERDICT_PREFIX}{letter}' across tokens; direct judging "
                             "needs the verdict letter as its own token")
        ids.append(full[-1])
    return ids[0], ids[1]


def parse_verdict(output: str) -> str | None:
    """The last ``[[A]]``/``[[B]]`` in the judge's output wins; None is a parse failure."""
    found = VERDICT.findall(output)
    return found[-1] if found else None


def chat_prompt(tokenizer, user_text: str, examples: list[tuple[str, str]] = ()) -> str:
    """Render one user turn with the model's chat template, ready for the assistant's answer;
    ``examples`` (user text, answer) go first as earlier turns (few-shot).

    Models without a chat template (plain base models) get the bare texts, each followed by a blank line.
    """
    if getattr(tokenizer, "chat_template", None):
        turns = [t for user, answer in examples for t in ({"role": "user", "content": user},
                                                          {"role": "assistant", "content": answer})]
        return tokenizer.apply_chat_template(
            [*turns, {"role": "user", "content": user_text}], tokenize=False, add_generation_prompt=True
        )
    return "".join(f"{user}\n\n{answer}\n\n" for user, answer in examples) + user_text + "\n\n"
