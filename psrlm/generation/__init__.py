"""One interface for every sampling and judging call: vLLM (the real backend) or plain HF generate.

``open_generator(model_dir, settings, seed)`` returns a :class:`Generator`; ``generate(prompts,
sampling)`` returns, per prompt, ``sampling.n`` completions with their text (stop string excluded)
and why they ended: ``stop`` (a stop string), ``eos`` (end of sequence) or ``length``;
``choice_probs`` reads the relative probability of one of two next tokens.

The search drives a backend as a stream instead: ``submit`` requests as they become ready and
``collect`` the finished ones, so that a problem's judge calls start while other problems are still
sampling (continuous batching across phases). A backend without a scheduler of its own (HF) runs
what was submitted as batches at ``collect`` (:class:`BatchedStream`).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Literal, Protocol, Union

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


@dataclass(frozen=True)
class Request:
    """One request of a stream: ``sampling`` decodes ``sampling.n`` completions under ``seed``;
    ``choice = (a, b)`` reads P(a) / (P(a) + P(b)) as the next token instead (one forward pass)."""

    key: Hashable  # the caller's handle, handed back with the result
    prompt: str
    sampling: Sampling | None = None
    choice: tuple[int, int] | None = None
    seed: int | None = None


Result = Union[list[Completion], float]

# special tokens a tokenizer may add around a text (BOS, EOS, a SentencePiece word-start marker)
_ADDED_TOKENS = 8


class LengthGuard:
    """Whether a request fits the context (``generation.vllm.max_model_len``): its prompt's tokens plus
    every token it may generate (``max_tokens``; one for a choice). vLLM raises on a prompt that leaves no
    room and cuts a generation at the limit, mid-step or mid-explanation; a request that does not fit is
    not sent, and its caller records why (a search path ends ``too_long``). ``max_model_len=None``: no
    limit. Cheap on the hot path: a token covers at least one byte of text, so a prompt whose UTF-8 bytes
    fit is not tokenised here."""

    def __init__(self, tokenizer, max_model_len: int | None):
        self.tokenizer, self.max_model_len = tokenizer, max_model_len

    def too_long(self, request: Request) -> bool:
        if self.max_model_len is None:
            return False
        room = self.max_model_len - (1 if request.choice is not None else request.sampling.max_tokens)
        if len(request.prompt.encode("utf-8")) + _ADDED_TOKENS <= room:
            return False
        return len(self.tokenizer(request.prompt, add_special_tokens=True)["input_ids"]) > room


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

    def submit(self, requests: list[Request]) -> None:
        """Queue requests; they run with everything else in flight."""
        ...

    def collect(self) -> list[tuple[Request, Result]]:
        """Block until at least one submitted request has finished and return the finished ones
        ([] when nothing is in flight)."""
        ...

    def close(self) -> None: ...


class BatchedStream:
    """``submit``/``collect`` for a backend that has only whole-batch calls: ``collect`` runs
    everything submitted, one ``generate`` per sampling setting and one ``choice_probs`` per token pair."""

    _queued: list[Request]

    def submit(self, requests: list[Request]) -> None:
        self._queued = getattr(self, "_queued", []) + list(requests)

    def collect(self) -> list[tuple[Request, Result]]:
        queued, self._queued = getattr(self, "_queued", []), []
        done: list[tuple[Request, Result]] = []
        for sampling in dict.fromkeys(r.sampling for r in queued if r.sampling is not None):
            group = [r for r in queued if r.sampling == sampling]
            seeds = [r.seed for r in group]
            outs = self.generate([r.prompt for r in group], sampling,
                                 seeds=None if None in seeds else seeds)
            done += zip(group, outs)
        for choice in dict.fromkeys(r.choice for r in queued if r.choice is not None):
            group = [r for r in queued if r.choice == choice]
            done += zip(group, self.choice_probs([r.prompt for r in group], *choice))
        return done


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


def count_tokens(tokenizer, texts: list[str]) -> int:
    """Tokens of ``texts`` as the model's tokenizer cuts them (no special tokens): how both arms report
    what an iteration sampled, from the texts their tables keep."""
    if not texts:
        return 0
    return sum(len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"])
