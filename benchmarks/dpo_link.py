"""The DPO link on its own: train one step-DPO setting from a run's parent model on that run's pairs,
then measure what it did to greedy decoding on validation problems (toy world).

    python -m benchmarks.dpo_link --lr 3e-4 --epochs 5 --rpo-alpha 10
    python -m benchmarks.dpo_link --lr 1e-4 --epochs 1 --rpo-alpha 1 --loss sigmoid,sft

Prints, for the parent and the trained model: greedy accuracy on search[first:first+count] (problems
no iteration searches; never the test split), the first wrong step of each greedy solution by kind
(``psrlm.toy.step_error``), and teacher-forced at the ``\\boxed{`` of the reference solution: the mean
probability of the right number and how often it is the argmax, per answer value beside how often
that value was chosen and rejected in the pairs. A setting that moves a prior over numbers instead
of teaching the step shows up there (issue 11: the DPO term alone lowered "4" everywhere because the
search rejected it more often than it chose it). Also the judge's accuracy on EFT comparisons built
from the same validation problems (the judge of the next search is the trained model), and with
``--judge-replay N`` that many EFT train records join the pairs as judge pairs (``dpo.judge_replay``).
Seconds on this CPU per setting.
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import re
import shutil
from pathlib import Path

from benchmarks.validate import is_right
from psrlm import toy
from psrlm.greedy import greedy_texts
from psrlm.params import load_params
from psrlm.sets import build_eft
from psrlm.prompts import chat_prompt, reasoning_prompt
from psrlm.steps import format_step, join_steps, split_steps, step_body
from schemas import EFTRecord, PreferencePair, Problem
from schemas.table import read_jsonl, read_parquet

BOXED = re.compile(r"boxed\{(-?\d+)")


def greedy_report(model_dir: str, problems: list[Problem], params) -> tuple[float, collections.Counter]:
    from psrlm.generation import open_generator

    generator = open_generator(model_dir, params.generation, seed=params.seed, backend="vllm")
    texts = greedy_texts(generator, problems, params.prompts.style, params.evaluate.max_gen_tokens)
    generator.close()
    kinds = collections.Counter()
    for p, text in zip(problems, texts):
        reference, bodies = toy.solve(p.problem), [step_body(s) for s in split_steps(text)]
        kind = next((f"{e}@{i}" for i, b in enumerate(bodies)
                     if (e := toy.step_error(reference, bodies[:i], b)) != "correct"), "right")
        kinds[kind if kind != "right" or len(bodies) >= len(reference) else "short"] += 1
    return sum(is_right(text, p, params.grading.fallback) for p, text in zip(problems, texts)) / len(problems), kinds


def judge_report(model_dir: str, records: list[EFTRecord], params) -> dict:
    from psrlm.evaluation import judge_accuracy
    from psrlm.generation import open_generator

    generator = open_generator(model_dir, params.generation, seed=params.seed, backend="vllm")
    _, metrics = judge_accuracy(generator, records, params.prompts.style, params.judge)
    generator.close()
    return metrics


def boxed_report(model_dir: str, problems: list[Problem], params) -> dict[str, tuple[float, int, int]]:
    """Per answer value: (mean P(right number), argmax right, problems), teacher-forced."""
    import torch

    from psrlm.modeling import load_model

    model, tok = load_model(model_dir)
    model.eval()
    out: dict[str, list] = collections.defaultdict(lambda: [0.0, 0, 0])
    for p in problems:
        solution = join_steps([format_step(i + 1, s) for i, s in enumerate(toy.solve(p.problem))]).rstrip("\n")
        cut = solution.rindex("\\boxed{") + len("\\boxed{")
        prompt = chat_prompt(tok, reasoning_prompt(p.problem, params.prompts.style)) + solution[:cut]
        before = tok(prompt, add_special_tokens=False)["input_ids"]
        ids = tok(prompt + p.answer, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([ids])).logits[0, len(before) - 1 : -1], -1)
        target = ids[len(before):]
        row = out[p.answer]
        row[0] += math.exp(sum(logp[i, t].item() for i, t in enumerate(target)))
        row[1] += int(logp[0].argmax().item() == target[0])
        row[2] += 1
    return {k: (v[0] / v[2], v[1], v[2]) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parent", default=None, help="model directory (default: the paths.models/m1 of params.yaml)")
    ap.add_argument("--pairs", default=None, help="pairs Parquet (default: paths.pairs/m2.parquet)")
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--epochs", type=float, default=None)
    ap.add_argument("--beta", type=float, default=None)
    ap.add_argument("--rpo-alpha", type=float, default=None, help="NLL weight; 0: plain DPO")
    ap.add_argument("--loss", default=None, help="TRL loss types, comma-separated (e.g. sigmoid,sft | sft | ipo,sft)")
    ap.add_argument("--judge-replay", type=int, default=None, help="EFT train records added as judge pairs")
    ap.add_argument("--nll-prefix", action="store_true", help="dpo.nll_prefix: the NLL term also on the earlier steps")
    ap.add_argument("--seed", type=int, default=None,
                    help="the training seed (batch order, dropout); default: seed of params.yaml, as the dpo stage")
    ap.add_argument("--first", type=int, default=1200)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--each-epoch", action="store_true",
                    help="also the greedy accuracy of the model after every epoch (dpo.gate.epochs: each)")
    ap.add_argument("--out", default="/tmp/psrlm-dpo-link")
    args = ap.parse_args()
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")

    from psrlm.modeling import load_model
    from psrlm.training import dpo_config, epoch_checkpoints, keep_every_epoch, step_dpo
    from stages.dpo import judge_replay_pairs

    params = load_params()
    parent = args.parent or str(params.model_dir("m1"))
    pairs_file = args.pairs or str(params.pairs_file("m2"))
    update = {k: v for k, v in {"learning_rate": args.lr, "epochs": args.epochs, "beta": args.beta,
                                "judge_replay": args.judge_replay}.items() if v is not None}
    if args.rpo_alpha is not None:
        update["rpo_alpha"] = args.rpo_alpha or None
    if args.nll_prefix:
        update["nll_prefix"] = True
    cfg = params.dpo.model_copy(update=update | {"save_steps": 0})
    pairs = [p.model_dump() for p in read_parquet(pairs_file, PreferencePair)]
    problems = read_jsonl(params.problems_file("search"), Problem)[args.first : args.first + args.count]
    judge_set = build_eft(problems, params.sets.corruptions, params.seed + 2, params.problems.toy, params.sets.explanation)

    out, work = Path(args.out), Path(f"{args.out}.checkpoints")
    shutil.rmtree(work, ignore_errors=True)
    model, tokenizer = load_model(parent)
    reference, _ = load_model(parent)
    if cfg.judge_replay:
        eft = read_parquet(params.set_file("eft_train"), EFTRecord)
        pairs += judge_replay_pairs(tokenizer, eft, cfg.judge_replay, params.prompts.style, params.judge.mode, seed="link")
    seed = params.seed if args.seed is None else args.seed
    config = dpo_config(cfg, work, seed)
    if args.loss:
        config.loss_type = args.loss.split(",")
        config.loss_weights = [1.0] + [cfg.rpo_alpha or 1.0] * (len(config.loss_type) - 1)
    if args.each_epoch:
        keep_every_epoch(config)
    summary = step_dpo(model, reference, tokenizer, pairs, cfg, work, seed, args=config, save_to=out)
    if args.each_epoch:
        for epoch, snapshot in epoch_checkpoints(work):
            acc, _ = greedy_report(str(snapshot), problems, params)
            print(f"epoch {epoch:g}: greedy accuracy {acc:.3f} on search[{args.first}:{args.first + len(problems)}]")
    shutil.rmtree(work, ignore_errors=True)
    print(f"trained {len(pairs)} pairs, {summary['steps']} steps, seed {seed}, "
          f"{cfg.model_dump(include={'learning_rate', 'epochs', 'beta', 'rpo_alpha', 'judge_replay', 'nll_prefix'})}"
          + (f", reward accuracy {summary['final_reward_accuracy']:.2f} margin {summary['final_reward_margin']:.3f}"
             if "final_reward_accuracy" in summary else ""))

    chosen = collections.Counter(m.group(1) for p in pairs if (m := BOXED.search(p["chosen"])))
    rejected = collections.Counter(m.group(1) for p in pairs if (m := BOXED.search(p["rejected"])))
    boxed = {}
    for name, model_dir in (("parent", parent), ("trained", str(out))):
        acc, kinds = greedy_report(model_dir, problems, params)
        boxed[name] = boxed_report(model_dir, problems, params)
        judged = judge_report(model_dir, judge_set, params)
        print(f"{name}: judge accuracy {judged['judge_accuracy']:.3f} on {len(judge_set)} EFT comparisons of the same "
              f"problems, flip rate {judged['judge_flip_rate']:.3f}, by corruption "
              + ", ".join(f"{k} {v:.2f}" for k, v in judged["judge_accuracy_by_corruption"].items()))
        n = sum(v[2] for v in boxed[name].values())
        print(f"{name}: greedy accuracy {acc:.3f} on search[{args.first}:{args.first + len(problems)}]; "
              f"first wrong step {dict(kinds.most_common())}; at \\boxed{{: P(right) "
              f"{sum(v[0] * v[2] for v in boxed[name].values()) / n:.3f}, argmax right {sum(v[1] for v in boxed[name].values()) / n:.3f}")
    print("answer  problems  chosen  rejected  argmax right: parent -> trained")
    for value in sorted(boxed["parent"], key=lambda v: (len(v), v)):
        print(f"{value:>6}  {boxed['parent'][value][2]:>8}  {chosen[value]:>6}  {rejected[value]:>8}  "
              f"{boxed['parent'][value][1]} -> {boxed['trained'][value][1]}")


if __name__ == "__main__":
    main()
