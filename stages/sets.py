"""The cold-start sets: IFT (step-format solutions) and EFT (step-pair judgments, train + held-out test).

    python -m stages.sets
"""

from __future__ import annotations

import logging
from collections import Counter

from psrlm.params import Params
from psrlm.sets import build_eft, build_ift
from psrlm.stage import run_stage
from schemas import EFTRecord, IFTRecord, Problem
from schemas.table import read_jsonl, write_parquet

log = logging.getLogger("stages.sets")


def main(params: Params) -> None:
    cfg = params.sets
    sft_split = read_jsonl(params.problems_file("sft"), Problem)
    test_split = read_jsonl(params.problems_file("test"), Problem)
    ift = build_ift(sft_split[: cfg.ift_problems])
    # EFT train takes the last problems of the sft split so that it overlaps IFT only when it must
    eft_train = build_eft(sft_split[-cfg.eft_train_problems :], cfg.corruptions, params.seed, params.problems.toy)
    eft_test = build_eft(test_split[: cfg.eft_test_problems], cfg.corruptions, params.seed + 1, params.problems.toy)
    write_parquet(params.set_file("ift"), IFTRecord, ift)
    write_parquet(params.set_file("eft_train"), EFTRecord, eft_train)
    write_parquet(params.set_file("eft_test"), EFTRecord, eft_test)
    kinds = Counter(r.corruption for r in eft_train if r.verdict == "A")
    log.info("IFT %d, EFT train %d (%s), EFT test %d", len(ift), len(eft_train), dict(kinds), len(eft_test))


if __name__ == "__main__":
    run_stage(main)
