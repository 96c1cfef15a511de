"""Data, prompt and scoring of the toy task: the project's problems file, reasoning prompt and one grader."""

from psrlm.grader import extract_answer, is_equivalent
from psrlm.params import load_params
from psrlm.prompts import reasoning_prompt
from psrlm.real.benchmarks import load_benchmark


def load_problems(data_files: str | dict | None = None, **_metadata):
    """lm-eval's ``custom_dataset``: the problems file bound in ``dataset_kwargs.data_files``, else the
    test split that ``params.yaml`` names (``paths.problems``)."""
    return load_benchmark(data_files=data_files or str(load_params().problems_file("test")))


def doc_to_text(doc: dict, style: str = "paper") -> str:
    return reasoning_prompt(doc["problem"], style)


def process_results(doc: dict, results: list[str]) -> dict:
    return {"exact_match": float(is_equivalent(extract_answer(results[0]), doc["answer"]))}
