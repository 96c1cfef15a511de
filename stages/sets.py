"""The cold-start sets: IFT (step-format solutions) and EFT (step-pair judgments, train + held-out test),
and the SRLM arm's solution EFT (whole solutions, right vs wrong; SFT reads it when ``srlm.eft``).

    python -m stages.sets
"""

from __future__ import annotations

import logging
from collections import Counter

from psrlm.params import Params
from psrlm.sets import build_eft, build_ift, build_solution_eft
from psrlm.stage import run_stage
from schemas import EFTRecord, IFTRecord, Problem, SolutionEFTRecord
from schemas.table import read_jsonl, write_parquet

log = logging.getLogger("stages.sets")


def real_eft(params: Params, sft_split: list[Problem], test_split: list[Problem]) -> tuple[list, list]:
    """EFT train and test from GSM8K perturbations (a calculator annotation proves the changed step
    wrong; the problems of the eft split) and PRMBench (original vs modified step at the first error),
    on problems no other split holds, train and test split by problem (``psrlm.real.eft.real_eft_sets``)."""
    from psrlm.real.eft import real_eft_sets
    from psrlm.real.loaders import load_prmbench

    real = params.problems.real
    # every split the problems stage wrote: an EFT problem must be in none of them but eft
    names = ["search", *(f"bench-{t}" for t in params.evaluate.tasks if t != "toy_arith")]
    splits = {"sft": sft_split, "test": test_split} | {n: read_jsonl(params.problems_file(n), Problem) for n in names}
    if "gsm8k" in real.eft:
        splits["eft"] = read_jsonl(params.problems_file("eft"), Problem)
    prmbench = load_prmbench(real.data_root) if "prmbench" in real.eft else []
    eft_train, eft_test, skipped = real_eft_sets(params, splits, prmbench)
    log.info("EFT items skipped: %s", dict(skipped))
    return eft_train, eft_test


def main(params: Params) -> None:
    cfg = params.sets
    sft_split = read_jsonl(params.problems_file("sft"), Problem)
    test_split = read_jsonl(params.problems_file("test"), Problem)
    # IFT: the reference steps, the toy generator's or those the problems stage cut from real solutions
    ift = build_ift(sft_split[: cfg.ift_problems], cfg.ift_operations, cfg.ift_other_problems,
                    cfg.ift_operations_from_step, cfg.ift_other_steps)
    if cfg.ift_operations is not None:
        log.info("IFT: %d of the first %d sft problems (those using only %s from step %d on, and %d others)", len(ift),
                 cfg.ift_problems, cfg.ift_operations, cfg.ift_operations_from_step, cfg.ift_other_problems)
    solution_eft = []  # real data: not built yet (README, the SRLM arm)
    if params.problems.source == "real":
        eft_train, eft_test = real_eft(params, sft_split, test_split)
    else:
        # EFT train takes the last problems of the sft split so that it overlaps IFT only when it must
        toy_cfg = params.problems.toy
        eft_train = build_eft(sft_split[-cfg.eft_train_problems :], cfg.corruptions, params.seed, toy_cfg,
                              cfg.explanation)
        eft_test = build_eft(test_split[: cfg.eft_test_problems], cfg.corruptions, params.seed + 1, toy_cfg,
                             cfg.explanation)
        # the SRLM arm's: the same problems and corruption weights as EFT train, one record per problem
        solution_eft = build_solution_eft(sft_split[-cfg.eft_train_problems :], cfg.corruptions, params.seed, toy_cfg)
    write_parquet(params.set_file("ift"), IFTRecord, ift)
    write_parquet(params.set_file("solution_eft_train"), SolutionEFTRecord, solution_eft)
    write_parquet(params.set_file("eft_train"), EFTRecord, eft_train)
    write_parquet(params.set_file("eft_test"), EFTRecord, eft_test)
    kinds = Counter(r.corruption for r in eft_train if r.verdict == "A")
    log.info("IFT %d, EFT train %d (%s), EFT test %d, solution EFT train %d", len(ift), len(eft_train), dict(kinds),
             len(eft_test), len(solution_eft))
    for name, records in (("train", eft_train), ("test", eft_test)):
        log.info("EFT %s by source: %s", name, dict(Counter(r.source for r in records)))


if __name__ == "__main__":
    run_stage(main)
