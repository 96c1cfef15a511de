"""M1, the cold start: supervised fine-tuning of M0 on IFT + EFT (+ the solution judge's EFT with ``srlm.eft``).

    python -m stages.sft
    accelerate launch --config_file configs/accelerate/zero3-1node-8gpu.yaml -m stages.sft   # (launch.train)

Under ``accelerate launch`` every process runs this; only the main one writes the model and metrics.
"""

from __future__ import annotations

import logging
import random
import shutil

from psrlm import toy
from psrlm.modeling import load_model
from psrlm.params import Params
from psrlm.prompts import chat_prompt, eft_example, reasoning_prompt
from psrlm.solution_judge import solution_eft_examples
from psrlm.stage import run_stage
from psrlm.training import checkpoint_dir, is_main_process, sft, sft_config
from schemas import EFTRecord, IFTRecord, Problem, SolutionEFTRecord
from schemas.table import read_jsonl, read_parquet, write_json

log = logging.getLogger("stages.sft")


def ift_example(tokenizer, r: IFTRecord, style: str) -> dict:
    return {"prompt": chat_prompt(tokenizer, reasoning_prompt(r.problem, style)), "completion": "\n".join(r.steps)}


def solution_examples(tokenizer, params: Params) -> list[dict]:
    """The SRLM arm's solution judge examples (``srlm.eft``; rendered per ``srlm.judge``), or none."""
    if not params.srlm.eft:
        return []
    records = read_parquet(params.set_file("solution_eft_train"), SolutionEFTRecord)
    return [{"prompt": chat_prompt(tokenizer, user), "completion": answer} for r in records
            for user, answer in solution_eft_examples(r, params.prompts.style, params.srlm.judge)]


def prose_examples(params: Params) -> list[dict]:
    """The first ``sft.prose_replay`` pretraining documents, as M0 read them (the same checks, drawn from
    the same seed), with the loss on every token; none at 0 (the paper's cold start)."""
    n = params.sft.prose_replay
    if n == 0:
        return []
    rng = random.Random(params.seed)  # base_model's draw: the first n documents come out as M0 read them
    corpus = read_jsonl(params.problems_file("pretrain"), Problem)[:n]
    return [{"prompt": "", "completion": toy.pretraining_document(p.problem, p.solution, rng, params.pretrain.checks)}
            for p in corpus]


def main(params: Params) -> None:
    out = params.model_dir("m1")
    # srlm.eft off: the same fingerprint (and checkpoints) as before the SRLM arm existed
    extra, extra_files = ([params.srlm.judge], [params.set_file("solution_eft_train")]) if params.srlm.eft else ([], [])
    if params.sft.prose_replay:
        extra_files.append(params.problems_file("pretrain"))
    checkpoints = checkpoint_dir(out, params.sft.model_dump(), params.seed, params.prompts.style, params.judge.mode,
                                 *extra, files=[*sorted(params.model_dir("m0").iterdir()), params.set_file("ift"),
                                                params.set_file("eft_train"), *extra_files])
    args = sft_config(params.sft, checkpoints, params.seed)  # before loading: ZeRO-3 partitions while loading
    model, tokenizer = load_model(params.model_dir("m0"))
    ift = read_parquet(params.set_file("ift"), IFTRecord)
    eft = read_parquet(params.set_file("eft_train"), EFTRecord)
    style = params.prompts.style
    records = [ift_example(tokenizer, r, style) for r in ift] + [eft_example(tokenizer, r, style, params.judge.mode) for r in eft]
    solution = solution_examples(tokenizer, params)
    prose = prose_examples(params)
    records += solution + prose
    log.info("SFT of M0 on %d IFT + %d EFT + %d solution EFT examples + %d prose documents", len(ift), len(eft),
             len(solution), len(prose))
    metrics = sft(model, tokenizer, records, params.sft, checkpoints, params.seed, args=args, save_to=out)
    if is_main_process():
        shutil.rmtree(checkpoints, ignore_errors=True)
        write_json(params.metrics_file("train", "m1"),
                   metrics | {"ift": len(ift), "eft": len(eft), "solution_eft": len(solution)}
                   | ({"prose": len(prose)} if prose else {}))
        log.info("M1 -> %s (%s)", out, metrics)


if __name__ == "__main__":
    run_stage(main)
