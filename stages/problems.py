"""Problems: the seeded toy generator writes disjoint pretrain / sft / search / test splits (JSONL).

    python -m stages.problems
"""

from __future__ import annotations

import logging

from psrlm.params import Params
from psrlm.stage import run_stage
from psrlm.toy import generate_splits
from schemas import Problem
from schemas.table import write_jsonl

log = logging.getLogger("stages.problems")


def main(params: Params) -> None:
    splits = params.problems.splits.model_dump()
    rows = generate_splits(params.problems.toy, splits, seed=params.problems.seed)
    for split, problems in rows.items():
        n = write_jsonl(params.problems_file(split), Problem, problems)
        log.info("%s: %d problems -> %s", split, n, params.problems_file(split))


if __name__ == "__main__":
    run_stage(main)
