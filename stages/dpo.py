"""Step-wise DPO of one iteration: M(parent) trained on its own step pairs gives M(iteration).

    python -m stages.dpo m2
    accelerate launch --config_file configs/accelerate/zero3-1node-8gpu.yaml -m stages.dpo m2   # (launch.train)

Under ``accelerate launch`` every process runs this; only the main one writes the model and metrics.
The reference model is M(parent) itself. With no pairs at all (a judge that never told candidates
apart) M(parent) is copied unchanged, and the metrics say ``trained: false``.

``dpo.judge_replay`` (not the paper's recipe; 0 = off) adds that many EFT train records as judge pairs
beside the step pairs: the judge prompt, the right explanation and verdict against the same explanation
with the other verdict. Step DPO alone trains nothing of judging, and the judge of the next search is
this model: measured, the held-out judge accuracy fell 0.86 -> 0.68 -> 0.35 over three iterations.

``dpo.min_pairs`` (not the paper's recipe; 1 = the paper's: train on any pair): with fewer step pairs than
that, M(parent) is copied unchanged too. Adam moves every weight by about the learning rate per step
whatever the batch holds, so a few steps on a handful of pairs perturb the model more than the pairs
teach: measured on this CPU, 5 epochs on 2 and on 3 oracle-right pairs cost 10 and 7 points of greedy
accuracy (README, Results).

``dpo.gate`` (not the paper's recipe; null = the paper's: always keep): after training, greedy decoding of
M(parent) and of the trained model on search problems no iteration searches; the trained model is kept
only if it answers more of them right, else M(parent) is copied (the metrics say ``gate.kept: parent``),
and the next iteration searches new problems from it. Measured, the step arm's DPO moved greedy accuracy
by +19 points in one seed and cost 17 and 26 in the others (README, Results): a rollback rule on
labelled problems keeps an iteration from undoing the previous one. Under ``accelerate launch`` the main
process runs it after training, with ``generation.backend``.
"""

from __future__ import annotations

import logging
import random
import shutil
from pathlib import Path

from psrlm.greedy import greedy_accuracy
from psrlm.generation import open_generator
from psrlm.modeling import load_model, load_tokenizer
from psrlm.params import Params
from psrlm.prompts import eft_example, judge_target
from psrlm.stage import run_stage
from psrlm.training import checkpoint_dir, dpo_config, epoch_checkpoints, is_main_process, keep_every_epoch, step_dpo
from schemas import EFTRecord, PreferencePair, Problem
from schemas.table import atomic_dir, read_jsonl, read_parquet, write_json

log = logging.getLogger("stages.dpo")


def judge_replay_pairs(tokenizer, eft: list[EFTRecord], n: int, style: str, mode: str, seed: str) -> list[dict]:
    """``n`` EFT records (a seeded sample) as preference pairs: right verdict over wrong, same explanation."""
    chosen = random.Random(seed).sample(eft, min(n, len(eft)))
    other = {"A": "B", "B": "A"}
    examples = [(eft_example(tokenizer, r, style, mode), r) for r in chosen]
    return [{"prompt": e["prompt"], "chosen": e["completion"], "chosen_final": True, "rejected_final": True,
             "rejected": judge_target(r.explanation, other[r.verdict], mode)} for e, r in examples]


def keeps_trained(parent_accuracy: float, trained_accuracy: float) -> bool:
    """``dpo.gate``: the trained model replaces its parent only if it beats it (a tie keeps the parent)."""
    return trained_accuracy > parent_accuracy


def gate(params: Params, parent: str, candidates: list[tuple[float | None, Path]]) -> tuple[dict, Path]:
    """Greedy accuracy of M(parent) and of each trained candidate (``(epoch, model folder)``; one, the final
    model, unless ``dpo.gate.epochs: each``) on the gate's problems (``dpo.gate``), and which one is kept: the
    best candidate (the earliest on a tie) if it beats the parent, else the parent; and the best's folder."""
    cfg = params.dpo.gate
    problems = read_jsonl(params.problems_file("search"), Problem)[cfg.first_problem : cfg.first_problem + cfg.num_problems]

    def accuracy(model_dir: Path) -> float:
        generator = open_generator(str(model_dir), params.generation, seed=params.seed)
        try:
            return greedy_accuracy(generator, problems, params.prompts.style, params.evaluate.max_gen_tokens,
                                   params.grading.fallback)
        finally:
            generator.close()

    parent_accuracy = accuracy(params.model_dir(parent))
    scored = [accuracy(folder) for _, folder in candidates]
    best = best_candidate(scored)
    kept = "trained" if keeps_trained(parent_accuracy, scored[best]) else "parent"
    out = {"problems": len(problems), "parent_accuracy": parent_accuracy, "trained_accuracy": scored[best],
           "kept": kept}
    if cfg.epochs == "each":
        out |= {"epoch": candidates[best][0], "epoch_accuracy": {f"{e:g}": a for (e, _), a in zip(candidates, scored)}}
    return out, candidates[best][1]


def best_candidate(accuracies: list[float]) -> int:
    """``dpo.gate.epochs: each``: the index of the most accurate candidate, the earliest of equals (the least
    moved from M(parent) among the best)."""
    return max(range(len(accuracies)), key=lambda i: (accuracies[i], -i))


def copy_parent(params: Params, parent: str, out) -> None:
    copy_model(params.model_dir(parent), out)


TRAINER_FILES = ("optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json", "training_args.bin")


def copy_model(source: Path, out: Path) -> None:
    """``out`` becomes a copy of the model folder (or trainer checkpoint: its optimizer and trainer state
    stay behind) ``source``, atomically."""
    with atomic_dir(out) as tmp:
        shutil.copytree(source, tmp, ignore=shutil.ignore_patterns(*TRAINER_FILES))


def main(params: Params, iteration: str) -> None:
    parent = params.iteration(iteration).parent
    pairs = read_parquet(params.pairs_file(iteration), PreferencePair)
    out = params.model_dir(iteration)
    if len(pairs) < params.dpo.min_pairs:
        if not is_main_process():
            return  # nothing to train: the main process copies M(parent)
        log.warning("%s: %d preference pairs (dpo.min_pairs %d); M(%s) is copied unchanged", iteration, len(pairs),
                    params.dpo.min_pairs, parent)
        copy_parent(params, parent, out)
        write_json(params.metrics_file("train", iteration), {"pairs": len(pairs), "trained": False})
        return
    records = [p.model_dump() for p in pairs]
    replay = []
    if params.dpo.judge_replay:
        tokenizer = load_tokenizer(params.model_dir(parent))
        eft = read_parquet(params.set_file("eft_train"), EFTRecord)
        replay = judge_replay_pairs(tokenizer, eft, params.dpo.judge_replay, params.prompts.style, params.judge.mode,
                                    seed=f"{params.seed}-{iteration}")
        log.info("%s: %d step pairs + %d judge pairs (dpo.judge_replay)", iteration, len(records), len(replay))
    records += replay
    checkpoints = checkpoint_dir(out, records, params.dpo.model_dump(), params.seed,
                                 files=sorted(params.model_dir(parent).iterdir()))
    args = dpo_config(params.dpo, checkpoints, params.seed)  # before loading: ZeRO-3 partitions while loading
    each_epoch = params.dpo.gate is not None and params.dpo.gate.epochs == "each"
    if each_epoch:
        keep_every_epoch(args)  # the gate picks among them
    model, tokenizer = load_model(params.model_dir(parent))
    ref_model, _ = load_model(params.model_dir(parent))  # TRL wraps it for DeepSpeed (sharded under ZeRO-3)
    metrics = step_dpo(model, ref_model, tokenizer, records, params.dpo, checkpoints, params.seed, args=args,
                       save_to=out)
    if not is_main_process():
        return
    metrics |= {"pairs": len(pairs), "judge_pairs": len(replay), "trained": True}
    log.info("M(%s) -> %s (%s)", iteration, out, metrics)
    if params.dpo.gate is not None:
        del model, ref_model  # the gate's generator needs the memory
        candidates = epoch_checkpoints(checkpoints) if each_epoch else [(None, out)]
        metrics["gate"], folder = gate(params, parent, candidates)
        log.info("dpo.gate: M(%s) %.3f, trained %.3f on %d search problems: %s kept%s", parent,
                 metrics["gate"]["parent_accuracy"], metrics["gate"]["trained_accuracy"], metrics["gate"]["problems"],
                 metrics["gate"]["kept"], f" (epoch accuracy {metrics['gate']['epoch_accuracy']})" if each_epoch else "")
        if metrics["gate"]["kept"] == "parent":
            copy_parent(params, parent, out)
        elif folder != out:
            copy_model(folder, out)  # an earlier epoch's checkpoint
    shutil.rmtree(checkpoints, ignore_errors=True)
    write_json(params.metrics_file("train", iteration), metrics)


if __name__ == "__main__":
    run_stage(main)
