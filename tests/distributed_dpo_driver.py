"""A few step-wise DPO steps of a tiny model, run by every process of an ``accelerate launch``: the
path of ``stages/dpo.py`` (config first, then the models loaded, TRL wrapping the reference model,
the trained model saved through the trainer by the main process) without the pipeline around it.

    DS_ACCELERATOR=cpu accelerate launch --config_file configs/accelerate/zero3-cpu-2proc.yaml \\
        tests/distributed_dpo_driver.py --deepspeed configs/deepspeed/zero3.json --out /tmp/dpo --steps 3

Writes (main process only) ``<out>/initial`` (the model before training), ``<out>/model`` (after) and
``<out>/metrics.json``; every process logs ``rank <r>/<n>: global steps <s>``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project root, however it is launched


def preference_pairs(tokenizer) -> list[dict]:
    """8 hand-built step pairs: a right and a wrong next step, mid-solution and final ones."""
    from psrlm.prompts import chat_prompt, reasoning_prompt

    pairs = []
    for a, b in [(2, 3), (4, 5), (6, 2), (7, 1)]:
        prompt = chat_prompt(tokenizer, reasoning_prompt(f"Mia has {a} apples. She finds {b} more, then doubles them.",
                                                         "compact"))
        first = f"Step 1: {a} + {b} = {a + b}."
        pairs.append(dict(prompt=prompt, chosen=first, rejected=f"Step 1: {a} + {b} = {a + b + 1}.",
                          chosen_final=False, rejected_final=False))
        total = 2 * (a + b)
        pairs.append(dict(prompt=prompt + first + "\n",
                          chosen=f"Step 2: {a + b} * 2 = {total}. The answer is \\boxed{{{total}}}.",
                          rejected=f"Step 2: {a + b} * 2 = {total + 2}.", chosen_final=True, rejected_final=False))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deepspeed", required=True, help="a DeepSpeed JSON config")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    cli = parser.parse_args()

    from accelerate import PartialState

    from psrlm.modeling import build_tiny_model, load_model, save_model, train_tokenizer
    from psrlm.params import DPO, TinyModel, ToyProblems
    from psrlm.toy import generate_splits
    from psrlm.training import dpo_config, is_main_process, step_dpo

    initial = cli.out / "initial"
    if is_main_process():  # as the base_model stage would: M(t) on disk before DPO starts
        problems = generate_splits(ToyProblems(), {"a": 200}, seed=0)["a"]
        texts = [p["problem"] + "\n" + "\n".join(f"Step {i + 1}: {s}" for i, s in enumerate(p["steps"]))
                 for p in problems]
        tokenizer = train_tokenizer(texts, 400)
        model = build_tiny_model(TinyModel(hidden_size=64, num_layers=1, num_heads=2, num_kv_heads=2,
                                           intermediate_size=64, max_position_embeddings=256), tokenizer, seed=0)
        save_model(model, tokenizer, initial)

    cfg = DPO(learning_rate=1e-2, max_steps=cli.steps, batch_size=2, logging_steps=1, save_steps=0,
              precision=cli.precision, deepspeed=cli.deepspeed)
    args = dpo_config(cfg, cli.out / "checkpoints", seed=0)  # before loading: ZeRO-3 partitions while loading
    state = PartialState()
    state.wait_for_everyone()  # the initial model is written
    model, tokenizer = load_model(initial)
    ref_model, _ = load_model(initial)
    pairs = preference_pairs(tokenizer)
    metrics = step_dpo(model, ref_model, tokenizer, pairs, cfg, cli.out / "checkpoints", seed=0, args=args,
                       save_to=cli.out / "model")
    print(f"rank {state.process_index}/{state.num_processes}: global steps {metrics['steps']}", flush=True)
    if state.is_main_process:
        (cli.out / "metrics.json").write_text(json.dumps(metrics | {"processes": state.num_processes}))


if __name__ == "__main__":
    main()
