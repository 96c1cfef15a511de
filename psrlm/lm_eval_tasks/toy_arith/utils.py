"""Prompt and scoring of the toy task: the project's reasoning prompt and its one grader."""

from psrlm.grader import extract_answer, is_equivalent
from psrlm.prompts import reasoning_prompt


def doc_to_text(doc: dict, style: str = "paper") -> str:
    return reasoning_prompt(doc["problem"], style)


def process_results(doc: dict, results: list[str]) -> dict:
    return {"exact_match": float(is_equivalent(extract_answer(results[0]), doc["answer"]))}
