"""Problems: every problem the pipeline reads, as JSONL splits in ``paths.problems``.

    python -m stages.problems

``problems.source: toy`` (the embedded default): the seeded toy generator writes disjoint
pretrain / sft / search / test splits. ``problems.source: real`` (``psrlm.real.splits``): the train
splits of ``problems.real.train`` (GSM8K, MATH; reference solutions cut into steps) are shuffled into
sft and search, the test split comes from ``problems.real.test``, the eft split holds GSM8K problems
for EFT alone, and no problem whose solution PRMBench perturbs goes to sft or search; pretrain is
empty (M0 is ``model.base``). Either way each lm-eval benchmark of ``evaluate.tasks`` gets its
problems written here as ``bench-<task>.jsonl``, so that every later stage reads only this stage's
declared output.
"""

from __future__ import annotations

import logging

from psrlm.params import Params
from psrlm.real.splits import benchmark_splits, real_splits
from psrlm.stage import run_stage
from psrlm.toy import generate_splits
from schemas import Problem
from schemas.table import write_jsonl

log = logging.getLogger("stages.problems")


def main(params: Params) -> None:
    if params.problems.source == "real":
        rows = real_splits(params)
    else:  # splits.eft is real data's (the toy EFT takes the sft and test splits)
        sizes = params.problems.splits.model_dump(exclude={"eft"})
        rows = generate_splits(params.problems.toy, sizes, seed=params.problems.seed)
    rows |= benchmark_splits(params)
    for split, problems in rows.items():
        n = write_jsonl(params.problems_file(split), Problem, problems)
        log.info("%s: %d problems -> %s", split, n, params.problems_file(split))


if __name__ == "__main__":
    run_stage(main)
