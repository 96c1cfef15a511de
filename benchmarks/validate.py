"""Greedy accuracy of models on a validation slice, for choosing settings.

    python -m benchmarks.validate data/models/m1 data/models/m2 --first 1200 --count 300

Settings (DPO learning rate, beta, the NLL term, search width and temperature) are chosen here, on
problems of the search split that no iteration searches (``--first``/``--count``; the default params
search problems 0..1199), never on the test split that the pipeline reports. Greedy decoding with
the pipeline's generation backend and grader (last ``\\boxed{}``, ``grading.fallback``). Prints one
line per model. ``--judge``: also the model's judge accuracy (and flip rate) on EFT comparisons built
from the same problems (toy world: ``sets.corruptions``, ``sets.explanation``), the judge link beside
the reasoning one:

    python -m benchmarks.validate data/models/m1 --judge

``--search``: also the model's test-time search (the self-judge, as ``stages.test_search``) on the same
problems, at ``--temperature`` / ``--top-p`` (default ``evaluate.search_temperature`` / ``search_top_p``, else
the rollouts' ``search.*``), with how many problems it turns from right to wrong and back against greedy:

    python -m benchmarks.validate data/models/m4 --search --temperature 0.5

Toy world: a second line per model splits the greedy accuracy by the operations of each problem's
reference steps (e.g. ``add+sub`` and ``add+mul``), where ``sets.ift_operations`` leaves one out of IFT.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import polars as pl

from psrlm.greedy import greedy_texts
from psrlm.generation import open_generator
from psrlm.grader import is_correct
from psrlm.params import load_params
from schemas import Problem
from schemas.table import read_jsonl


def is_right(text: str, problem: Problem, fallback: str) -> bool:
    """The pipeline's grading rule: the last ``\\boxed{}``, else ``grading.fallback``."""
    return is_correct(text, problem.answer, fallback)


def validation_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments every validation benchmark takes: models, and the slice of a split they run on."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--split", default="search")
    ap.add_argument("--first", type=int, default=1200)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--backend", default="vllm")
    return ap


def validation_problems(params, args: argparse.Namespace) -> list[Problem]:
    """``args.split[args.first : args.first + args.count]``; exits when the split is shorter."""
    problems = read_jsonl(params.problems_file(args.split), Problem)[args.first : args.first + args.count]
    if len(problems) < args.count:
        raise SystemExit(f"{args.split} has only {len(problems)} problems from {args.first}")
    return problems


def main() -> None:
    ap = validation_parser(__doc__)
    ap.add_argument("--judge", action="store_true", help="also judge accuracy on EFT built from these problems")
    ap.add_argument("--search", action="store_true", help="also test-time search accuracy on these problems")
    ap.add_argument("--temperature", type=float, help="the search's temperature (default: as test_search)")
    ap.add_argument("--top-p", type=float, help="the search's top_p (default: as test_search)")
    args = ap.parse_args()
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    params = load_params()
    problems = validation_problems(params, args)
    for model in args.models:
        generator = open_generator(model, params.generation, seed=params.seed, backend=args.backend)
        texts = greedy_texts(generator, problems, params.prompts.style, params.evaluate.max_gen_tokens)
        right = [is_right(text, p, params.grading.fallback) for text, p in zip(texts, problems)]
        acc = sum(right) / len(problems)
        judged = judge_metrics(generator, problems, params) if args.judge else None
        generator.close()
        se = (acc * (1 - acc) / max(len(problems) - 1, 1)) ** 0.5
        line = f"{model}: greedy accuracy {acc:.3f} ± {se:.3f} on {args.split}[{args.first}:{args.first + len(problems)}]"
        if judged:
            line += (f"; judge accuracy {judged['judge_accuracy']:.3f} (flip rate {judged['judge_flip_rate']:.3f}, "
                     f"parse failures {judged['judge_parse_failure_rate']:.3f}) on {judged['judge_examples']} comparisons")
        print(line, flush=True)
        if params.problems.source == "toy":
            print(f"{model}: greedy accuracy by operations: {by_operations(problems, right)}", flush=True)
        if args.search:
            answering = params.answering(args.temperature, args.top_p)
            print(f"{model}: {search_line(answering, model, problems, right)}", flush=True)


def search_line(params, model: str, problems: list[Problem], greedy: list[bool]) -> str:
    """Test-time search with the self-judge on ``problems`` (a throwaway rollout), beside ``greedy``."""
    from psrlm.params import rollout_table
    from psrlm.rollouts import rollout, rollout_stats

    with tempfile.TemporaryDirectory() as out:
        rollout(params, f"validate-search {model}", Path(model), problems, Path(out))
        stats = rollout_stats(Path(out)).row(0, named=True)
        found = dict(pl.read_parquet(rollout_table(Path(out), "paths")).select("problem_id", "correct").iter_rows())
    searched = [found[p.id] for p in problems]
    lost = sum(g and not s for g, s in zip(greedy, searched))
    won = sum(s and not g for g, s in zip(greedy, searched))
    return (f"search accuracy {sum(searched) / len(problems):.3f} (w={params.search.width}, "
            f"T={params.search.temperature:g}, top_p={params.search.top_p:g}): greedy right -> search wrong {lost}, "
            f"greedy wrong -> search right {won}; {stats['judgments']} judgments")


def by_operations(problems: list[Problem], right: list[bool]) -> str:
    """``add+sub 0.990 (n=245), add+mul 0.600 (n=55)``: accuracy per set of operations in the reference steps."""
    from psrlm.sets import toy_operations

    groups: dict[str, list[bool]] = {}
    for problem, ok in zip(problems, right):
        groups.setdefault("+".join(sorted(toy_operations(problem.steps))), []).append(ok)
    return ", ".join(f"{key} {sum(oks) / len(oks):.3f} (n={len(oks)})" for key, oks in sorted(groups.items()))


def judge_metrics(generator, problems: list[Problem], params) -> dict:
    """Judge accuracy on EFT comparisons of the toy world built from ``problems`` (both orders)."""
    from psrlm.evaluation import judge_accuracy
    from psrlm.sets import build_eft

    records = build_eft(problems, params.sets.corruptions, params.seed + 2, params.problems.toy, params.sets.explanation)
    _, metrics = judge_accuracy(generator, records, params.prompts.style, params.judge)
    return metrics


if __name__ == "__main__":
    main()
