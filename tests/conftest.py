import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("PSRLM_NO_PROGRESS", "1")


@pytest.fixture(scope="session")
def tiny_lm():
    """A tiny untrained Qwen2 model and a tokenizer trained on a few toy solutions."""
    from psrlm.modeling import build_tiny_model, train_tokenizer
    from psrlm.params import TinyModel, ToyProblems
    from psrlm.toy import generate_splits

    problems = generate_splits(ToyProblems(), {"a": 200}, seed=0)["a"]
    texts = [p["problem"] + "\n" + "\n".join(f"Step {i + 1}: {s}" for i, s in enumerate(p["steps"])) for p in problems]
    tokenizer = train_tokenizer(texts, 400)
    model = build_tiny_model(TinyModel(hidden_size=64, num_layers=1, num_heads=2, num_kv_heads=2,
                                       intermediate_size=64, max_position_embeddings=256), tokenizer, seed=0)
    return model, tokenizer
