"""Data, prompt and scoring of the lm-eval math benchmark tasks (``psrlm/lm_eval_tasks/<benchmark>/``).

The tasks (tag ``psrlm_math``) share ``psrlm/lm_eval_tasks/_psrlm_math_template_yaml``, which points
lm-eval here: ``load_benchmark`` (its ``custom_dataset``) reads the benchmark offline, through the
project's loaders; ``doc_to_text`` renders the reasoning prompt; ``process_results`` grades the last
``\\boxed{}`` with the project's one grader (METHOD.md's rule; the evaluate stage binds the pipeline's
``grading.fallback``, the rule test-time search grades by too).

Where the data comes from, first match wins:
1. ``dataset_kwargs.data_files``: a problems file (JSONL or Parquet of ``schemas.Problem`` rows), as
   the evaluate stage binds its declared test split (``psrlm.evaluation.task_config``);
2. ``dataset_kwargs.data_root``, else ``$PSRLM_DATA_ROOT``, else ``../shared/data`` beside the
   project: the folder of the offline copies, read with ``psrlm.real.loaders``.
"""

from __future__ import annotations

import os
from pathlib import Path

from psrlm.grader import is_correct
from psrlm.prompts import reasoning_prompt

# task folder / metadata.benchmark -> (loader source, split)
BENCHMARKS = {
    "gsm8k": ("gsm8k", "test"),
    "math_full": ("math", "test"),  # the paper's MATH column (psrlm_math is the tag of all seven)
    "math500": ("math500", "test"),
    "gaokao2023en": ("gaokao2023en", "test"),
    "olympiadbench": ("olympiadbench", "test"),
    "aime24": ("aime24", "test"),
    "amc23": ("amc23", "test"),
}
DATA_ROOT_ENV = "PSRLM_DATA_ROOT"
DEFAULT_DATA_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def resolve_data_root(root: str | Path | None = None) -> Path:
    return Path(root or os.environ.get(DATA_ROOT_ENV) or DEFAULT_DATA_ROOT)


def _problems_file(path: str | Path) -> list[dict]:
    from schemas import Problem
    from schemas.table import read_jsonl, read_parquet

    path = Path(path)
    rows = read_parquet(path, Problem) if path.suffix == ".parquet" else read_jsonl(path, Problem)
    return [r.model_dump() for r in rows]


def benchmark_problems(benchmark: str | None = None, data_root: str | Path | None = None,
                       data_files: str | dict | None = None) -> list[dict]:
    """The problems of one benchmark as dicts of ``schemas.Problem`` fields (see the module docstring)."""
    if data_files:
        files = data_files.get("test") if isinstance(data_files, dict) else data_files
        if not isinstance(files, (str, Path)):
            raise ValueError(f"data_files must name one test file (a path or {{'test': path}}), got {data_files!r}")
        return _problems_file(files)
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {benchmark!r} (known: {', '.join(BENCHMARKS)}); "
                         "set metadata.benchmark in the task YAML")
    from psrlm.real.loaders import load_problems

    source, split = BENCHMARKS[benchmark]
    return load_problems(source, resolve_data_root(data_root), split)


def load_benchmark(benchmark: str | None = None, data_root: str | None = None, data_files: str | dict | None = None,
                   **_metadata):
    """lm-eval's ``custom_dataset``: called with the task's metadata and dataset_kwargs as keywords."""
    import datasets

    problems = benchmark_problems(benchmark, data_root, data_files)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(problems)})


def doc_to_text(doc: dict, style: str = "paper") -> str:
    return reasoning_prompt(doc["problem"], style)


def process_results(doc: dict, results: list[str], fallback: str = "none") -> dict:
    return {"exact_match": float(is_correct(results[0], doc["answer"], fallback))}
