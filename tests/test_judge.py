"""Both judge modes through the HF backend on a tiny model: verdicts, parse failures, probabilities."""

import pytest

from psrlm.generation import open_generator
from psrlm.judge import judge_batch
from psrlm.params import Generation, Judge
from psrlm.prompts import chat_prompt, judge_prompt, judge_target, verdict_token_ids

PROMPTS = [judge_prompt("Mia has 2 apples. She finds 3 more.", [], "Step 1: 2 + 3 = 5.", "Step 1: 2 + 3 = 6.",
                        "compact")] * 3


@pytest.fixture(scope="module")
def generator(tiny_lm, tmp_path_factory):
    model, tokenizer = tiny_lm
    path = tmp_path_factory.mktemp("judge-model")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return open_generator(str(path), Generation(hf_batch_size=2), seed=0, backend="hf")


def test_direct_mode_reads_a_probability(generator):
    verdicts = judge_batch(generator, PROMPTS, Judge(mode="direct"))
    assert len(verdicts) == 3
    for v in verdicts:
        assert 0.0 <= v.p_a <= 1.0
        assert v.verdict == ("A" if v.p_a >= 0.5 else "B")
        assert v.raw == f"[[{v.verdict}]]"
    assert len({round(v.p_a, 6) for v in verdicts}) == 1  # same prompt, same probability


def test_explain_mode_untrained_model_gives_counted_parse_failures(generator):
    verdicts = judge_batch(generator, PROMPTS, Judge(mode="explain", max_tokens=8))
    assert all(v.p_a is None for v in verdicts)
    assert all(v.verdict in (None, "A", "B") for v in verdicts)


def test_verdict_letter_is_its_own_token(tiny_lm):
    _, tokenizer = tiny_lm
    prompt = chat_prompt(tokenizer, PROMPTS[0])
    a, b = verdict_token_ids(tokenizer, prompt)
    assert a != b
    assert tokenizer.decode([a]) == "A" and tokenizer.decode([b]) == "B"
    assert judge_target("why", "B", "direct") == "[[B]]"
    assert judge_target("why", "B", "explain") == "why [[B]]"


def test_saved_tokenizer_loads_as_trained(generator, tiny_lm):
    """transformers may rebuild a tokenizer by model type; ours must tokenize the same after a reload."""
    _, tokenizer = tiny_lm
    text = "Step 2: Second, she finds 12 more coins, so 17 + 12 = 29. [[A]]"
    assert generator.tokenizer(text)["input_ids"] == tokenizer(text)["input_ids"]


def test_order_averaged_accuracy_sees_signal_under_position_bias():
    from psrlm.evaluation import judge_metrics
    from schemas import JudgeEvalRow

    def row(pair, expected, p_a):
        verdict = "A" if p_a >= 0.5 else "B"
        return JudgeEvalRow(id=f"{pair}-{expected}", pair_id=pair, raw=f"[[{verdict}]]", verdict=verdict, p_a=p_a,
                            expected=expected, correct=verdict == expected)

    # always "A" (accuracy 0.5, every pair flips), but surer when A is the right step: signal
    rows = [row("p1", "A", 0.8), row("p1", "B", 0.6), row("p2", "B", 0.7), row("p2", "A", 0.9),
            row("p3", "A", 0.7), row("p3", "B", 0.7)]  # p3: no signal at all, a tie, wrong
    m = judge_metrics(rows)
    assert m["judge_accuracy"] == 0.5 and m["judge_flip_rate"] == 1.0
    assert m["judge_order_averaged_accuracy"] == 2 / 3
    explain = [r.model_copy(update={"p_a": None}) for r in rows]
    assert judge_metrics(explain)["judge_order_averaged_accuracy"] is None
