"""Tiny models built from a config: a BPE tokenizer with a chat template, and a Llama causal LM.

The tokenizer keeps runs of digits apart from words and spaces and lets BPE merge them, so a small
number is one token, the same in ``= 12.`` and in ``\\boxed{12}``: a tiny model then copies a number as one token and learns an
arithmetic fact as one lookup (measured on the toy corpus with a 1.1M-parameter model after ~1.2M
tokens: 58% of equations right, against 30% with one token per digit). Newlines stay their own tokens, so a prompt that ends in a newline never merges with the step
that follows it. Its chat template marks the assistant's part with ``{% generation %}`` so that
assistant-only losses work. Both save as a normal Hugging Face directory that
``AutoModelForCausalLM``/``AutoTokenizer`` and vLLM load.

Why Llama and not Qwen2: transformers 5 loads the tokenizer of a ``qwen2`` model directory as
``Qwen2Tokenizer`` whatever the directory says, and that class replaces the pre-tokenizer with
Qwen's (one token per digit). A tiny model pretrained with one tokenization would then be fine-tuned,
sampled and evaluated with another. For ``llama`` the saved tokenizer loads as saved (tested).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from psrlm.params import TinyModel
from schemas.table import ArtifactError, atomic_dir

PAD, EOS = "<|pad|>", "<|end|>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "<|assistant|>\n{% generation %}{{ message['content'] }}<|end|>{% endgeneration %}\n"
    "{% else %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A byte-level BPE tokenizer trained on ``texts`` (seconds for a toy corpus)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=False), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, EOS, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD,
        eos_token=EOS,
        additional_special_tokens=ROLE_TOKENS,
        chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False,
    )


def build_tiny_model(cfg: TinyModel, tokenizer, seed: int):
    """A randomly initialised Llama causal LM sized by ``cfg``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        max_position_embeddings=cfg.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        torch_dtype="float32",
    )
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


REQUIRED_FILES = ("config.json", "tokenizer_config.json")


def is_hub_id(name: str | Path) -> bool:
    """``Qwen/Qwen2.5-Math-7B``: an ``owner/name`` that is not a local path."""
    text = str(name)
    return not Path(text).exists() and re.fullmatch(r"[\w.-]+/[\w.-]+", text) is not None and not text.startswith(".")


def check_model_dir(path: str | Path) -> Path | str:
    """Fail clearly when a model directory is missing, incomplete or corrupt (before any loading):
    config and tokenizer files present and parseable, every weights file's header readable."""
    if is_hub_id(path):
        return str(path)  # the hub (or its local cache) resolves it
    from safetensors import safe_open

    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(f"{path}: model directory not found")
    missing = [f for f in REQUIRED_FILES if not (path / f).exists()]
    weights = sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin"))
    if missing or not weights:
        raise ArtifactError(f"{path}: incomplete model directory (missing {missing or ['weights (*.safetensors)']})")
    for name in (f for f in REQUIRED_FILES if f.endswith(".json")):
        try:
            json.loads((path / name).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ArtifactError(f"{path / name}: corrupt (not valid JSON: {err})") from None
    for f in weights:
        if f.suffix != ".safetensors":
            continue
        try:
            with safe_open(f, framework="pt") as handle:
                handle.keys()
        except Exception as err:  # safetensors raises its own error types for truncated/garbled files
            raise ArtifactError(f"{f}: corrupt checkpoint ({err})") from None
    return path


def load_tokenizer(path: str | Path):
    """The tokenizer of a model directory (pad token = end of sequence where it has none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(check_model_dir(path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(path: str | Path, dtype: str = "float32"):
    """Load a model directory (a stage output) as ``(model, tokenizer)`` for training or HF generation."""
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(path)
    model = AutoModelForCausalLM.from_pretrained(check_model_dir(path), dtype=getattr(torch, dtype))
    return model, tokenizer


# what a model directory needs: config, weights, tokenizer and chat template files
MODEL_FILES = ("*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "*.jinja")


def fetch_base_model(source: str, out: str | Path) -> int:
    """Copy a base model (a hub id or a local directory) into ``out`` as it is stored, without loading
    it: the 72B profile's M0 then costs disk, not memory (loaded in float32 it would need ~290 GB).
    Returns the parameter count, read from the safetensors headers."""
    import fnmatch
    import shutil

    from safetensors import safe_open

    if is_hub_id(source):
        from huggingface_hub import snapshot_download

        source = snapshot_download(source, allow_patterns=list(MODEL_FILES))
    src = Path(check_model_dir(source))
    weights = sorted(src.glob("*.safetensors"))
    if not weights:
        raise ArtifactError(f"{src}: a base model needs safetensors weights (found only *.bin)")
    out = Path(out)
    with atomic_dir(out) as tmp:
        tmp.mkdir(parents=True)
        for f in sorted(src.iterdir()):
            if f.is_file() and any(fnmatch.fnmatch(f.name, pattern) for pattern in MODEL_FILES):
                shutil.copyfile(f, tmp / f.name)  # follows the hub cache's symlinks
    count = 0
    for f in sorted(out.glob("*.safetensors")):
        with safe_open(f, framework="pt") as handle:
            for key in handle.keys():
                shape = handle.get_slice(key).get_shape()
                n = 1
                for d in shape:
                    n *= d
                count += n
    return count


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def save_model(model, tokenizer, out: str | Path) -> Path:
    """Write a model directory atomically: into a sibling temp directory, then renamed into place."""
    out = Path(out)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return out
