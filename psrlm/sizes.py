"""The sizes of a setting's problem splits and cold-start sets (IFT, EFT train, EFT test) per source,
computed from the data with its settings by the code the stages run, without a model and without
writing anything; and the check that EFT train and test share no problem.

    python -m psrlm.sizes profiles/qwen2.5-math-7b.yaml    # a profile, on top of the default
    python -m psrlm.sizes                                  # params.yaml
    python -m psrlm.params --sets profiles/smollm2-cpu.yaml   # the same

Real data takes a few seconds (the sources are read from ``problems.real.data_root``); the toy world
generates its problems as the problems stage does.
"""

from __future__ import annotations

import sys
from collections import Counter

from psrlm.params import ParamsError, is_profile, load_params, load_profile
from psrlm.real.overlap import TextIndex
from psrlm.sets import build_eft
from schemas import EFTRecord, Problem


def shared_problems(train: list[EFTRecord], test: list[EFTRecord]) -> list[EFTRecord]:
    """The records of ``test`` whose problem is one of ``train``'s: the same problem id, or the same
    problem text (``psrlm.real.overlap``)."""
    ids, texts = {r.problem_id for r in train}, TextIndex(r.problem for r in train)
    return [r for r in test if r.problem_id in ids or texts.matches(r.problem)]


def set_sizes(params) -> dict:
    """``{"splits": {name: {source: problems}}, "ift" / "eft_train" / "eft_test": {source: records},
    "eft_train_problems" / "eft_test_problems": {source: problems}, "skipped": {reason: items},
    "shared": {source: EFT test records whose problem EFT train has}}``."""
    skipped: Counter = Counter()
    if params.problems.source == "real":
        from psrlm.real.eft import real_eft_sets
        from psrlm.real.loaders import load_prmbench
        from psrlm.real.splits import benchmark_splits, real_splits

        splits = real_splits(params, steps=False) | benchmark_splits(params)
        prmbench = load_prmbench(params.problems.real.data_root) if "prmbench" in params.problems.real.eft else []
        train, test, skipped = real_eft_sets(params, splits, prmbench)
        ift = splits["sft"][: params.sets.ift_problems]
    else:
        from psrlm.toy import generate_splits

        sizes = params.problems.splits.model_dump(exclude={"eft"})
        splits = generate_splits(params.problems.toy, sizes, seed=params.problems.seed)
        sft = [Problem.model_validate(p) for p in splits["sft"]]
        test_split = [Problem.model_validate(p) for p in splits["test"]]
        cfg, toy = params.sets, params.problems.toy
        ift = sft[: cfg.ift_problems]  # one IFT record per problem (build_ift)
        train = build_eft(sft[-cfg.eft_train_problems :], cfg.corruptions, params.seed, toy, cfg.explanation)
        test = build_eft(test_split[: cfg.eft_test_problems], cfg.corruptions, params.seed + 1, toy, cfg.explanation)

    def source(row: dict | Problem | EFTRecord) -> str:
        return row["source"] if isinstance(row, dict) else row.source

    def by_source(rows) -> dict[str, int]:
        return dict(sorted(Counter(map(source, rows)).items()))

    return {
        "splits": {name: by_source(rows) for name, rows in splits.items() if rows},
        "ift": by_source(ift),
        "eft_train": by_source(train),
        "eft_test": by_source(test),
        "eft_train_problems": by_source({r.problem_id: r for r in train}.values()),
        "eft_test_problems": by_source({r.problem_id: r for r in test}.values()),
        "skipped": dict(sorted(skipped.items())),
        "shared": by_source(shared_problems(train, test)),
    }


def _line(counts: dict[str, int]) -> str:
    parts = ", ".join(f"{s} {n:,}" for s, n in counts.items())
    return f"{sum(counts.values()):>6,}" + (f"  ({parts})" if len(counts) > 1 or not counts else f"  {parts}")


def report(path: str, sizes: dict) -> str:
    out = [f"{path}: problem splits (problems per source)"]
    out += [f"  {name:<22}{_line(counts)}" for name, counts in sizes["splits"].items()]
    out.append("sets (records per source; EFT: both orders of each pair)")
    for name in ("ift", "eft_train", "eft_test"):
        out.append(f"  {name:<22}{_line(sizes[name])}")
    for name in ("eft_train_problems", "eft_test_problems"):
        out.append(f"  {name:<22}{_line(sizes[name])}")
    if sizes["skipped"]:
        out.append("EFT items skipped: " + ", ".join(f"{k} {v:,}" for k, v in sizes["skipped"].items()))
    shared = sum(sizes["shared"].values())
    out.append(f"EFT test records whose problem EFT train has: {shared}" + (f" {sizes['shared']}" if shared else ""))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    import argparse
    import logging

    cli = argparse.ArgumentParser(prog="python -m psrlm.sizes", description=__doc__.split("\n\n")[0])
    cli.add_argument("file", nargs="?", default="params.yaml", help="a profile (profiles/<name>.yaml) or params file")
    args = cli.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        params = load_profile(args.file) if is_profile(args.file) else load_params(args.file)
        print(report(args.file, set_sizes(params)))
    except ParamsError as err:
        print(err, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
