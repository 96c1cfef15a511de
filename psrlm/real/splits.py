"""The problem splits of a real-data run (``problems.source: real``): which problem goes where.

The train problems of ``problems.real.train`` (GSM8K, MATH), shuffled with ``problems.seed``, give the
sft split (IFT; reference solutions cut into steps) and then the search split (the iterations'
rollouts); the test split comes from ``problems.real.test``; pretrain is empty (M0 is ``model.base``).
EFT gets problems of its own, so that the judge is never trained or tested on a problem another split
holds:

* the eft split: ``problems.splits.eft`` GSM8K train problems (their calculator annotations make the
  perturbed steps), drawn at random from the shuffled train before sft and search are cut, so both
  keep the sources' mix; GSM8K train is loaded for it when ``problems.real.train`` does not name it;
* with PRMBench among ``problems.real.eft``: the train problems whose solutions PRMBench perturbs
  (MATH train problems, by ``psrlm.real.overlap``) are held out of sft and search.

``psrlm.real.eft.real_eft_sets`` then checks every EFT problem against every other split, benchmarks
included, and splits train from test by problem.

    from psrlm.real.splits import real_splits
    rows = real_splits(params)   # {"pretrain": [], "sft": [...], "search": [...], "test": [...], "eft": [...]}
"""

from __future__ import annotations

import logging
import random

from psrlm.params import Params, ParamsError
from psrlm.real.ift import with_steps
from psrlm.real.loaders import load_prmbench, load_problems
from psrlm.real.overlap import TextIndex

log = logging.getLogger(__name__)


def hold_out_gsm8k(train: list[dict], count: int, seed: int) -> tuple[list[dict], list[dict]]:
    """(the rest of ``train`` in its order, ``count`` of its GSM8K problems drawn at random with ``seed``):
    a uniform draw, so sft and search keep the sources' mix."""
    gsm8k = [i for i, p in enumerate(train) if p["source"] == "gsm8k"]
    random.Random(seed).shuffle(gsm8k)
    picked = gsm8k[:count]  # a larger count adds problems, never changes the first ones
    chosen = set(picked)
    return [p for i, p in enumerate(train) if i not in chosen], [train[i] for i in picked]


def real_splits(params: Params, steps: bool = True) -> dict[str, list]:
    """Every split of a real-data run by name (``steps=False``: sft without its reference steps, which
    only the IFT set needs; for counting)."""
    cfg, splits = params.problems.real, params.problems.splits

    def load(source: str, split: str) -> list[dict]:
        return load_problems(source, cfg.data_root, split, hub=cfg.hub.get(source), duplicates=cfg.duplicates)

    train = [p for source in cfg.train for p in load(source, "train")]
    random.Random(params.problems.seed).shuffle(train)
    if "prmbench" in cfg.eft:
        perturbed = TextIndex(t for x in load_prmbench(cfg.data_root) for t in (x["problem"], x["original_question"]))
        kept = [p for p in train if not perturbed.matches(p["problem"])]
        log.info("%d train problems held out of sft and search: PRMBench perturbs their solutions (EFT)",
                 len(train) - len(kept))
        train = kept
    eft: list[dict] = []
    if splits.eft:
        if "gsm8k" in cfg.train:
            train, eft = hold_out_gsm8k(train, splits.eft, params.problems.seed)
        else:
            eft = load("gsm8k", "train")
            random.Random(params.problems.seed).shuffle(eft)
            eft = eft[: splits.eft]
        if len(eft) < splits.eft:
            raise ParamsError(f"problems.splits.eft: {splits.eft}, but GSM8K train has {len(eft)} problems to "
                              "spare for EFT")
    need = splits.sft + splits.search
    if need > len(train):
        raise ParamsError(f"problems.splits: sft + search = {need}, but {'+'.join(cfg.train)} train has "
                          f"{len(train)} problems besides those EFT holds")
    test = load(cfg.test, "test")
    if splits.test > len(test):
        raise ParamsError(f"problems.splits.test: {splits.test}, but {cfg.test} test has {len(test)}")
    sft = train[: splits.sft]
    rows = {"pretrain": [], "sft": with_steps(sft) if steps else sft, "search": train[splits.sft : need],
            "test": test[: splits.test]}
    return rows | ({"eft": eft} if eft else {})


def benchmark_splits(params: Params) -> dict[str, list[dict]]:
    """The problems of each benchmark task of ``evaluate.tasks``, as ``bench-<task>``."""
    from psrlm.real.benchmarks import benchmark_problems

    return {f"bench-{task}": benchmark_problems(task, params.problems.real.data_root)
            for task in params.evaluate.tasks if task != "toy_arith"}
