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


def eft(i: int, verdict: str, steps: int = 0, pair: str | None = None):
    from schemas import EFTRecord

    previous = [f"Step {k + 1}: she finds {k} more coins, so {k} + 1 = {k + 1}." for k in range(steps)]
    right, wrong = f"Step {steps + 1}: 2 + 3 = 5.", f"Step {steps + 1}: 2 + 3 = 6."
    a, b = (right, wrong) if verdict == "A" else (wrong, right)
    return EFTRecord(id=f"r{i}", problem_id=f"p{i}", problem=f"Mia has 2 coins and finds 3 ({i}).",
                     previous_steps=previous, step_a=a, step_b=b, verdict=verdict, explanation="2 + 3 = 5.",
                     corruption="wrong_arithmetic", pair_id=pair or f"pair{i}")


def test_few_shot_examples_are_earlier_chat_turns(tiny_lm):
    _, tokenizer = tiny_lm
    assert chat_prompt(tokenizer, "Judge this.", []) == chat_prompt(tokenizer, "Judge this.")
    shown = chat_prompt(tokenizer, "Judge this.", [("Example one?", "1 [[A]]"), ("Example two?", "2 [[B]]")])
    assert shown.index("Example one?") < shown.index("1 [[A]]") < shown.index("Example two?") < shown.index("Judge this.")
    assert shown.endswith(chat_prompt(tokenizer, "Judge this.").split("Judge this.")[1])  # the same answer cue


def test_judge_shots_one_per_pair_alternating_verdicts_from_the_shorter_half():
    from psrlm.evaluation import judge_shots

    records = [eft(i, "AB"[i % 2], steps=0 if i < 10 else 6, pair=f"pair{i // 2}") for i in range(20)]
    shots = judge_shots(records, 3, seed=0)
    assert [s.verdict for s in shots] == ["A", "B", "A"] and len({s.pair_id for s in shots}) == 3
    assert all(not s.previous_steps for s in shots)  # the short ones
    assert shots == judge_shots(records, 3, seed=0) and judge_shots(records, 0, seed=0) == []
    with pytest.raises(ValueError, match="needs 12 EFT train pairs"):
        judge_shots(records, 12, seed=0)


def test_judge_prompts_past_max_model_len_are_counted_never_sent(generator):
    """M0 3-shot (paper Table 3) with a small context: the pairs whose prompt (three worked examples
    first) still fits are judged; a long one is not sent, counted wrong and as ``judge_too_long``."""
    from psrlm.evaluation import judge_accuracy, judge_shots

    shots = judge_shots([eft(i, "AB"[i % 2]) for i in range(6)], 3, seed=0)
    records = [eft(10, "A"), eft(11, "B"), eft(12, "A", steps=12)]
    rows, metrics = judge_accuracy(generator, records, "compact", Judge(mode="direct"), shots, max_model_len=None)
    assert metrics["judge_too_long"] == 0 and metrics["judge_shots"] == 3 and all(r.p_a is not None for r in rows)
    tokens = [len(generator.tokenizer(chat_prompt(generator.tokenizer, judge_prompt(
        r.problem, r.previous_steps, r.step_a, r.step_b, "compact"), [(judge_prompt(
            s.problem, s.previous_steps, s.step_a, s.step_b, "compact"), judge_target(s.explanation, s.verdict, "direct"))
            for s in shots]) + "[[")["input_ids"]) for r in records]
    assert tokens[2] > tokens[0] + 40  # twelve steps more
    rows, metrics = judge_accuracy(generator, records, "compact", Judge(mode="direct"), shots,
                                   max_model_len=max(tokens[:2]) + 1)
    assert [r.too_long for r in rows] == [False, False, True]
    assert rows[2].verdict is None and not rows[2].correct and rows[0].p_a is not None
    assert metrics["judge_too_long"] == 1 and metrics["judge_parse_failure_rate"] == 0.0
    assert metrics["judge_examples"] == 3


def test_compact_claims_adds_what_each_step_claims_and_nothing_else():
    """``compact-claims`` is ``compact`` plus one line, each candidate's claim as written (the last boxed
    answer, else the last number): it shows what the steps say, not which one is right."""
    from psrlm import toy
    from psrlm.prompts import step_claim

    right, boxed_off = "Step 2: Second, he gives away 3, so 8 - 3 = 5.", "Step 2: So 8 - 3 = 5. The answer is \\boxed{4}."
    args = ("Leo has 3 pens. First, he gets 5 more. Second, he gives away 3.", ["Step 1: First, he gets 5 more, so 3 + 5 = 8."])
    plain, claims = judge_prompt(*args, boxed_off, right, "compact"), judge_prompt(*args, boxed_off, right, "compact-claims")
    assert claims == plain + "\n[Claims] A says 4. B says 5."
    assert judge_prompt(*args, right, boxed_off, "compact-claims").endswith("[Claims] A says 5. B says 4.")
    assert [step_claim(s) for s in (right, boxed_off, "Step 3: I am not sure.", "Step 1: 7 * 2 = 14. \\boxed{1/2}")] == \
        ["5", "4", "nothing", "1/2"]
    for body in ("First, he gets 5 more, so 3 + 5 = 8.", "So 8 - 3 = 5. The answer is \\boxed{4}."):
        assert step_claim(f"Step 1: {body}") == str(toy.claim_of(body))  # the toy oracle reads the same number
