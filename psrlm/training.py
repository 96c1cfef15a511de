"""Supervised fine-tuning and step-wise DPO with TRL.

``sft`` trains on prompt/completion text (the completion gets end-of-sequence); ``step_dpo`` trains on
step-level preference pairs with the reference model M(t). TRL's DPO trainer appends
end-of-sequence to every plain-text chosen and rejected; for a step in the middle of a solution that
would teach the model to stop after one step, so :class:`StepDPOTrainer` removes it again from every
step that did not end its solution (``chosen_final``/``rejected_final`` False).

Under ``accelerate launch`` (several GPUs or nodes, DeepSpeed ZeRO-2/3) every process runs the stage.
Build the trainer config first (:func:`sft_config`, :func:`dpo_config`) and load the models after it:
with ZeRO-3 enabled, ``from_pretrained`` then partitions the weights while loading instead of every
process holding the whole model. Pass ``save_to`` so the model is saved through the trainer
(:func:`save_trained`: ZeRO-3 gathers the shards; only the main process writes).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from psrlm.params import DPO, Train
from psrlm.shards import fingerprint, work_dir
from schemas.table import atomic_dir

log = logging.getLogger(__name__)


def _common_args(cfg: Train, output_dir: Path, seed: int) -> dict:
    import torch

    on_gpu = torch.cuda.is_available()
    return dict(
        output_dir=str(output_dir),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.scheduler,
        warmup_steps=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay,
        max_length=cfg.max_length,
        bf16=cfg.precision == "bf16",
        use_cpu=not on_gpu,
        gradient_checkpointing=cfg.gradient_checkpointing,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        deepspeed=cfg.deepspeed,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,  # a run shorter than logging_steps still reports a first loss
        disable_tqdm=os.environ.get("PSRLM_NO_PROGRESS") == "1",
        save_strategy="steps" if cfg.save_steps else "no",
        save_steps=cfg.save_steps or 500,
        save_total_limit=1,  # the latest checkpoint is all a resume needs
        report_to="none",
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=0,
        dataset_num_proc=None,
    )


def is_main_process() -> bool:
    """Whether this is the process that writes outputs: global rank 0 of a launch by ``accelerate launch``
    / ``torchrun`` (they set ``RANK``), or a plain single process. Starts no process group."""
    return int(os.environ.get("RANK", "0")) == 0


def sft_config(cfg: Train, output_dir: Path, seed: int):
    """TRL's SFT config for ``cfg``. Under ZeRO-3, create it before loading the model (see the module doc)."""
    from trl import SFTConfig

    return _with_deepspeed_comm(SFTConfig(**_common_args(cfg, output_dir, seed), packing=False))


def dpo_config(cfg: DPO, output_dir: Path, seed: int):
    """TRL's DPO config for ``cfg``. Under ZeRO-3, create it before loading the models (see the module doc)."""
    from trl import DPOConfig

    # an NLL term on the chosen step (RPO, Step-DPO): TRL's "sft" loss beside the sigmoid DPO loss
    losses = dict(loss_type=["sigmoid", "sft"], loss_weights=[1.0, cfg.rpo_alpha]) if cfg.rpo_alpha else {}
    return _with_deepspeed_comm(DPOConfig(**_common_args(cfg, output_dir, seed), beta=cfg.beta, **losses))


def keep_every_epoch(args):
    """Have the trainer of ``args`` save a checkpoint at the end of every epoch and keep them all
    (``dpo.gate.epochs: each``: the gate then picks among them); :func:`epoch_checkpoints` lists them."""
    args.save_strategy, args.save_total_limit = "epoch", None
    return args


def epoch_checkpoints(output_dir: str | Path) -> list[tuple[float, Path]]:
    """``(epoch, folder)`` of the trainer's checkpoints in ``output_dir``, in training order (the epoch from the
    checkpoint's trainer state)."""
    import json

    found = []
    for folder in Path(output_dir).glob("checkpoint-*"):
        state = json.loads((folder / "trainer_state.json").read_text())
        found.append((round(float(state["epoch"]), 3), folder))
    return sorted(found, key=lambda f: f[0])


def _with_deepspeed_comm(args):
    """Have DeepSpeed's communication layer wrap the process group the config set up. On GPUs accelerate has
    done so already; on a CPU (``use_cpu``: accelerate's own gloo group) it has not, and ZeRO-3's
    partitioned loading (``zero.Init`` inside ``from_pretrained``) would then count one process instead of
    all, and fail on the batch size check (measured with 2 CPU processes)."""
    if args.deepspeed:
        import torch.distributed

        _ = args.device  # sets up the distributed state (and the process group of a multi-process launch)
        if torch.distributed.is_initialized():
            import deepspeed

            if not deepspeed.comm.is_initialized():
                deepspeed.init_distributed(dist_backend=torch.distributed.get_backend())
    return args


def save_trained(trainer, tokenizer, out: Path) -> Path:
    """Write the trained model directory atomically, from however many processes train: every process
    takes part in ``trainer.save_model`` (under ZeRO-3 it gathers the sharded weights, which needs
    ``stage3_gather_16bit_weights_on_model_save``), only the main process writes, into a sibling temp
    directory that it then renames into place. The barriers keep every process in until the rename."""
    accelerator, out = trainer.accelerator, Path(out)
    with atomic_dir(out, main_process=accelerator.is_main_process) as tmp:
        accelerator.wait_for_everyone()
        trainer.save_model(str(tmp))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            tokenizer.save_pretrained(tmp)
            (tmp / "training_args.bin").unlink(missing_ok=True)  # a pickle of the trainer config: not part of a model
    accelerator.wait_for_everyone()
    return out


def checkpoint_dir(output: Path, *inputs: object, files: list[Path] = ()) -> Path:
    """Where the trainer of the stage writing ``output`` keeps its checkpoints: beside the output (which
    DVC deletes before a rerun), named by a fingerprint of everything the training depends on, so a
    rerun with the same inputs resumes and one with other inputs starts clean. Remove it once the
    model is saved."""
    return work_dir(output, "checkpoints", fingerprint(*inputs, files=files))


def _train(trainer) -> dict:
    """``trainer.train()``, resuming from the latest checkpoint in its output folder if a killed earlier
    attempt left one (model, optimizer, scheduler, RNG and data order are restored)."""
    from transformers.trainer_utils import get_last_checkpoint

    out = trainer.args.output_dir
    last = get_last_checkpoint(out) if os.path.isdir(out) else None
    if last:
        log.info("resuming training from %s", last)
    trainer.train(resume_from_checkpoint=last)
    return {"resumed_from_step": int(last.rsplit("-", 1)[-1])} if last else {}


def _summary(trainer, started: float, examples: int) -> dict:
    history = [h for h in trainer.state.log_history if "loss" in h]
    run = next((h for h in reversed(trainer.state.log_history) if "train_loss" in h), {})
    return {
        "examples": examples,
        "steps": trainer.state.global_step,
        "first_loss": history[0]["loss"] if history else None,
        "final_loss": history[-1]["loss"] if history else None,  # the last logged step's
        "mean_loss": run.get("train_loss"),  # over the whole run
    }


def sft(model, tokenizer, records: list[dict], cfg: Train, output_dir: Path, seed: int, *, args=None,
        save_to: Path | None = None) -> dict:
    """Train on ``records`` of ``{"prompt", "completion"}`` (loss on the completion) or ``{"text"}``.
    ``args``: a config from :func:`sft_config` made before the model was loaded (ZeRO-3); ``save_to``:
    where :func:`save_trained` writes the trained model."""
    from datasets import Dataset
    from trl import SFTTrainer

    started = time.time()
    args = args if args is not None else sft_config(cfg, output_dir, seed)
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(records), processing_class=tokenizer)
    resumed = _train(trainer)
    if save_to is not None:
        save_trained(trainer, tokenizer, save_to)
    return _summary(trainer, started, len(records)) | resumed


class _StepDPOMixin:
    """Removes the end-of-sequence token that TRL appends to non-final steps."""

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        dataset = super()._prepare_dataset(dataset, processing_class, args, dataset_name)
        eos = self._tokenizer.eos_token_id
        return dataset.map(strip_eos_from_steps, fn_kwargs={"eos_token_id": eos}, desc=f"Step EOS rule ({dataset_name})")

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        if "length" not in self._signature_columns:  # kept for the length-grouped sampler
            self._signature_columns = [*self._signature_columns, "length"]


def strip_eos_from_steps(example: dict, eos_token_id: int) -> dict:
    """Drop the trailing end-of-sequence id from chosen/rejected ids unless that step was final."""
    for side in ("chosen", "rejected"):
        ids = example[f"{side}_ids"]
        if not example[f"{side}_final"] and ids and ids[-1] == eos_token_id:
            example[f"{side}_ids"] = ids[:-1]
    # what the length-grouped sampler sorts by (it cannot infer lengths of preference data)
    example["length"] = len(example["prompt_ids"]) + max(len(example["chosen_ids"]), len(example["rejected_ids"]))
    return example


def prefix_into_completions(pairs: list[dict], tokenizer) -> list[dict]:
    """``dpo.nll_prefix``: move the solution's earlier steps from each pair's prompt into both its chosen and
    its rejected text. The DPO term does not change (the shared prefix's log-ratios cancel between chosen
    and rejected); the NLL term (``dpo.rpo_alpha``) then covers the earlier steps too, which anchors the
    steps that no pair is about. The prompt keeps everything up to the chat template's assistant turn (a
    judge replay pair has no earlier steps and stays as it is)."""
    from psrlm.prompts import chat_prompt

    mark = "\u241e"
    turn = chat_prompt(tokenizer, mark).split(mark)[-1]  # e.g. "<|end|>\n<|assistant|>\n"
    out = []
    for pair in pairs:
        cut = pair["prompt"].rfind(turn)
        if cut < 0:
            raise ValueError(f"dpo.nll_prefix: the prompt of the pair of problem {pair.get('problem_id')!r} has no "
                             f"assistant turn of the chat template ({turn!r})")
        cut += len(turn)
        prefix = pair["prompt"][cut:]
        out.append(pair | {"prompt": pair["prompt"][:cut], "chosen": prefix + pair["chosen"],
                           "rejected": prefix + pair["rejected"]})
    return out


def step_dpo_trainer(model, ref_model, tokenizer, pairs: list[dict], cfg: DPO, output_dir: Path, seed: int, *,
                     args=None):
    """The step-wise DPO trainer. Under DeepSpeed, TRL wraps ``ref_model`` itself (``prepare_deepspeed``):
    sharded like the policy under ZeRO-3, a whole frozen copy per process (ZeRO disabled) under ZeRO-2."""
    from datasets import Dataset
    from trl import DPOTrainer

    class StepDPOTrainer(_StepDPOMixin, DPOTrainer):
        pass

    args = args if args is not None else dpo_config(cfg, output_dir, seed)
    if cfg.nll_prefix:
        pairs = prefix_into_completions(pairs, tokenizer)
    columns = ("prompt", "chosen", "rejected", "chosen_final", "rejected_final")
    dataset = Dataset.from_list([{k: p[k] for k in columns} for p in pairs])
    return StepDPOTrainer(model=model, ref_model=ref_model, args=args, train_dataset=dataset, processing_class=tokenizer)


def step_dpo(model, ref_model, tokenizer, pairs: list[dict], cfg: DPO, output_dir: Path, seed: int, *, args=None,
             save_to: Path | None = None) -> dict:
    """Step-wise DPO of ``model`` against the frozen ``ref_model`` (M(t)) on step preference pairs.
    ``args``: a config from :func:`dpo_config` made before the models were loaded (ZeRO-3); ``save_to``:
    where :func:`save_trained` writes the trained model."""
    started = time.time()
    trainer = step_dpo_trainer(model, ref_model, tokenizer, pairs, cfg, output_dir, seed, args=args)
    resumed = _train(trainer)
    if save_to is not None:
        save_trained(trainer, tokenizer, save_to)
    out = _summary(trainer, started, len(pairs)) | resumed
    rewards = [h for h in trainer.state.log_history if "rewards/accuracies" in h]
    if rewards:
        out["final_reward_accuracy"] = rewards[-1]["rewards/accuracies"]
        out["final_reward_margin"] = rewards[-1].get("rewards/margins")
    return out
