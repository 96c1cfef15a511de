"""Evaluation speed: the evaluate stage's work (greedy answers through lm-eval, held-out EFT judging) on one
model through each generation backend, in one process, and whether the two give the same answers.

    python -m benchmarks.eval_speed --model data/models/m1 [--model data/models/m0 ...]

For each model and backend (``hf``: transformers ``generate`` in batches of ``generation.hf_batch_size``;
``vllm``: the engine the rollouts use) it times opening the generator (for vLLM the engine start), the answers
of every ``evaluate.tasks`` problem and the judging of every held-out EFT pair, with ``params.yaml``'s settings,
and compares the two backends' responses and verdicts one by one. It ends with one line per model:
``<model> vllm_vs_hf=<x> same_responses=<share> same_verdicts=<share> same_accuracy=<bool>``
(x: hf's seconds over vLLM's, engine start included).
"""

from __future__ import annotations

import argparse
import resource
import time

from psrlm.evaluation import answer_accuracy, judge_accuracy
from psrlm.generation import open_generator
from psrlm.params import load_params
from schemas import EFTRecord
from schemas.table import read_parquet


def evaluate_once(params, model_dir: str, backend: str) -> dict:
    """The evaluate stage's calls (stages/evaluate.py) on ``model_dir`` through ``backend``, timed."""
    cfg = params.evaluate
    started = time.perf_counter()
    generator = open_generator(model_dir, params.generation, seed=params.seed, backend=backend)
    opened = time.perf_counter()
    responses, correct = [], []
    for task in cfg.tasks:
        scores, rows = answer_accuracy(generator, model_dir, task, params.task_problems_file(task), params.prompts.style,
                                       cfg.max_gen_tokens, cfg.limit, params.seed, params.grading.fallback)
        responses += [r["response"] for r in rows]
        correct += [r["correct"] for r in rows]
    answered = time.perf_counter()
    eft = read_parquet(params.set_file("eft_test"), EFTRecord)
    if cfg.limit:
        eft = eft[: 2 * cfg.limit]
    judged, _ = judge_accuracy(generator, eft, params.prompts.style, params.judge, (),
                               params.generation.vllm.max_model_len)
    done = time.perf_counter()
    generator.close()
    return {"open": opened - started, "answers": answered - opened, "judge": done - answered, "total": done - started,
            "responses": responses, "correct": correct, "verdicts": [j.verdict for j in judged]}


def same(a: list, b: list) -> float:
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a) if a else 1.0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, help="model directory (repeat for several)")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    params = load_params(args.params)
    summary = []
    for model in args.model:
        runs = {backend: evaluate_once(params, model, backend) for backend in ("hf", "vllm")}
        for backend, r in runs.items():
            print(f"{model} {backend}: open {r['open']:.1f} s, answers {r['answers']:.1f} s "
                  f"({len(r['responses'])} problems, accuracy {sum(r['correct']) / max(1, len(r['correct'])):.3f}), "
                  f"judge {r['judge']:.1f} s ({len(r['verdicts'])} pairs), total {r['total']:.1f} s")
        hf, vllm = runs["hf"], runs["vllm"]
        summary.append(f"{model} vllm_vs_hf={hf['total'] / vllm['total']:.2f} "
                       f"same_responses={same(hf['responses'], vllm['responses']):.3f} "
                       f"same_verdicts={same(hf['verdicts'], vllm['verdicts']):.3f} "
                       f"same_accuracy={sum(hf['correct']) == sum(vllm['correct'])}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
