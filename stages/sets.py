"""The cold-start sets: IFT (step-format solutions) and EFT (step-pair judgments, train + held-out test).

    python -m stages.sets
"""

from __future__ import annotations

import logging
import random
from collections import Counter

from psrlm.params import Params
from psrlm.sets import build_eft, build_ift
from psrlm.stage import run_stage
from schemas import EFTRecord, IFTRecord, Problem
from schemas.table import read_jsonl, write_parquet

log = logging.getLogger("stages.sets")


def real_eft(params: Params, sft_split: list[Problem], test_split: list[Problem]) -> tuple[list, list]:
    """EFT train and test from GSM8K perturbations (a calculator annotation proves the changed step
    wrong) and PRMBench (original vs modified step at the first error)."""
    from psrlm.real import eft
    from psrlm.real.loaders import load_prmbench

    cfg, real = params.sets, params.problems.real
    eft_train, eft_test, skipped = [], [], Counter()
    if "gsm8k" in real.eft:
        records, why = eft.build_gsm8k_eft(sft_split[-cfg.eft_train_problems :], params.seed)
        eft_train += records
        skipped += why
        records, why = eft.build_gsm8k_eft(test_split[: cfg.eft_test_problems], params.seed + 1)
        eft_test += records
        skipped += why
    if "prmbench" in real.eft:
        items = load_prmbench(real.data_root)
        random.Random(params.seed).shuffle(items)
        held_out = max(1, round(len(items) * real.prmbench_test_share))
        records, why = eft.build_prmbench_eft(items[held_out:])
        eft_train += records
        skipped += why
        records, why = eft.build_prmbench_eft(items[:held_out])
        eft_test += records
        skipped += why
    log.info("EFT items skipped: %s", dict(skipped))
    return eft_train, eft_test


def main(params: Params) -> None:
    cfg = params.sets
    sft_split = read_jsonl(params.problems_file("sft"), Problem)
    test_split = read_jsonl(params.problems_file("test"), Problem)
    # IFT: the reference steps, the toy generator's or those the problems stage cut from real solutions
    ift = build_ift(sft_split[: cfg.ift_problems])
    if params.problems.source == "real":
        eft_train, eft_test = real_eft(params, sft_split, test_split)
    else:
        # EFT train takes the last problems of the sft split so that it overlaps IFT only when it must
        toy_cfg = params.problems.toy
        eft_train = build_eft(sft_split[-cfg.eft_train_problems :], cfg.corruptions, params.seed, toy_cfg,
                              cfg.explanation)
        eft_test = build_eft(test_split[: cfg.eft_test_problems], cfg.corruptions, params.seed + 1, toy_cfg,
                             cfg.explanation)
    write_parquet(params.set_file("ift"), IFTRecord, ift)
    write_parquet(params.set_file("eft_train"), EFTRecord, eft_train)
    write_parquet(params.set_file("eft_test"), EFTRecord, eft_test)
    kinds = Counter(r.corruption for r in eft_train if r.verdict == "A")
    log.info("IFT %d, EFT train %d (%s), EFT test %d", len(ift), len(eft_train), dict(kinds), len(eft_test))


if __name__ == "__main__":
    run_stage(main)
