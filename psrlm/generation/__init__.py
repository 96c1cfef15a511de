"""One interface for every sampling and judging call: vLLM (the real backend) or plain HF generate.

``open_generator(model_dir, settings, seed)`` returns a :class:`Generator`; ``generate(prompts,
sampling)`` returns, per prompt, ``sampling.n`` completions with their text (stop string excluded)
and why they ended: ``stop`` (a stop string), ``eos`` (end of sequence) or ``length``;
``choice_probs`` reads the relative probability of one of two next tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from psrlm.params import Generation


@dataclass(frozen=True)
class Sampling:
    n: int = 1
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    max_tokens: int = 128
    stop: tuple[str, ...] = field(default_factory=tuple)


def request_seed(*parts: object) -> int:
    """A stable 31-bit seed from ``parts`` (Python's ``hash`` of a str changes from run to run)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: Literal["stop", "eos", "length"]
    num_tokens: int


class Generator(Protocol):
    tokenizer: object

    def generate(self, prompts: list[str], sampling: Sampling, desc: str | None = None,
                 seeds: list[int] | None = None) -> list[list[Completion]]:
        """``seeds``: one per prompt, so that what a prompt samples does not depend on the batch it
        is in (the search's resume and determinism rest on this)."""
        ...

    def choice_probs(self, prompts: list[str], token_a: int, token_b: int) -> list[float]:
        """P(token_a) / (P(token_a) + P(token_b)) as the next token of each prompt: one forward pass,
        no decoding (the direct judge's verdict)."""
        ...

    def close(self) -> None: ...


def open_generator(model_dir: str, settings: Generation, seed: int, backend: str | None = None) -> Generator:
    from psrlm.modeling import check_model_dir

    check_model_dir(model_dir)  # a clear error before an engine starts on a broken directory
    backend = backend or settings.backend
    if backend == "vllm":
        from psrlm.generation.vllm_backend import VLLMGenerator

        return VLLMGenerator(model_dir, settings.vllm, seed)
    if backend == "hf":
        from psrlm.generation.hf_backend import HFGenerator

        return HFGenerator(model_dir, settings.hf_batch_size, seed)
    raise ValueError(f"unknown generation backend '{backend}'")
