"""Problems: every problem the pipeline reads, as JSONL splits in ``paths.problems``.

    python -m stages.problems

``problems.source: toy`` (the embedded default): the seeded toy generator writes disjoint
pretrain / sft / search / test splits. ``problems.source: real``: the train splits of
``problems.real.train`` (GSM8K, MATH; reference solutions cut into steps) are shuffled into sft and
search, the test split comes from ``problems.real.test``; pretrain is empty (M0 is ``model.base``).
Either way each lm-eval benchmark of ``evaluate.tasks`` gets its problems written here as
``bench-<task>.jsonl``, so that every later stage reads only this stage's declared output.
"""

from __future__ import annotations

import logging
import random

from psrlm.params import Params, ParamsError
from psrlm.stage import run_stage
from psrlm.toy import generate_splits
from schemas import Problem
from schemas.table import write_jsonl

log = logging.getLogger("stages.problems")


def real_splits(params: Params) -> dict[str, list]:
    from psrlm.real.ift import with_steps
    from psrlm.real.loaders import load_problems

    cfg, splits = params.problems.real, params.problems.splits
    train = []
    for source in cfg.train:
        train += load_problems(source, cfg.data_root, "train", hub=cfg.hub.get(source), duplicates=cfg.duplicates)
    random.Random(params.problems.seed).shuffle(train)
    need = splits.sft + splits.search
    if need > len(train):
        raise ParamsError(f"problems.splits: sft + search = {need}, but {'+'.join(cfg.train)} train has {len(train)}")
    test = load_problems(cfg.test, cfg.data_root, "test", hub=cfg.hub.get(cfg.test), duplicates=cfg.duplicates)
    if splits.test > len(test):
        raise ParamsError(f"problems.splits.test: {splits.test}, but {cfg.test} test has {len(test)}")
    return {"pretrain": [], "sft": with_steps(train[: splits.sft]), "search": train[splits.sft : need],
            "test": test[: splits.test]}


def main(params: Params) -> None:
    if params.problems.source == "real":
        rows = real_splits(params)
    else:
        rows = generate_splits(params.problems.toy, params.problems.splits.model_dump(), seed=params.problems.seed)
    for task in params.evaluate.tasks:
        if task != "toy_arith":
            from psrlm.real.benchmarks import benchmark_problems

            rows[f"bench-{task}"] = benchmark_problems(task, params.problems.real.data_root)
    for split, problems in rows.items():
        n = write_jsonl(params.problems_file(split), Problem, problems)
        log.info("%s: %d problems -> %s", split, n, params.problems_file(split))


if __name__ == "__main__":
    run_stage(main)
