"""Data, prompt and scoring of the toy task: the project's problems file, reasoning prompt and one grader."""

from functools import cache

from psrlm.grader import is_correct
from psrlm.params import load_params
from psrlm.prompts import reasoning_prompt
from psrlm.real.benchmarks import load_benchmark


def load_problems(data_files: str | dict | None = None, **_metadata):
    """lm-eval's ``custom_dataset``: the problems file bound in ``dataset_kwargs.data_files``, else the
    test split that ``params.yaml`` names (``paths.problems``)."""
    return load_benchmark(data_files=data_files or str(load_params().problems_file("test")))


def doc_to_text(doc: dict, style: str = "paper") -> str:
    return reasoning_prompt(doc["problem"], style)


def process_results(doc: dict, results: list[str], fallback: str | None = None) -> dict:
    """Graded by the pipeline's rule: the evaluate stage binds ``fallback``, else params.yaml's
    ``grading.fallback``."""
    return {"exact_match": float(is_correct(results[0], doc["answer"], fallback or _params_fallback()))}


@cache
def _params_fallback() -> str:
    return load_params().grading.fallback
