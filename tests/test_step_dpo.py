"""Step-wise DPO: no end-of-sequence after a step that did not end its solution; training moves weights."""

import copy

import torch

from psrlm.params import DPO
from psrlm.prompts import chat_prompt, reasoning_prompt
from psrlm.training import step_dpo, step_dpo_trainer


def pairs(tokenizer):
    prompt = chat_prompt(tokenizer, reasoning_prompt("Mia has 2 apples. She finds 3 more.", "compact"))
    middle = dict(prompt=prompt, chosen="Step 1: 2 + 3 = 5.", rejected="Step 1: 2 + 3 = 6.", chosen_final=False,
                  rejected_final=False)
    final = dict(prompt=prompt + "Step 1: 2 + 3 = 5.\n", chosen="Step 2: 5 * 2 = 10. The answer is \\boxed{10}.",
                 rejected="Step 2: 5 * 2 = 12.", chosen_final=True, rejected_final=False)
    return [middle, final]


def test_eos_only_after_final_steps(tiny_lm, tmp_path):
    model, tokenizer = tiny_lm
    cfg = DPO(learning_rate=1e-3, max_steps=1, batch_size=2)
    trainer = step_dpo_trainer(model, copy.deepcopy(model), tokenizer, pairs(tokenizer), cfg, tmp_path, seed=0)
    eos = tokenizer.eos_token_id
    middle, final = trainer.train_dataset[0], trainer.train_dataset[1]
    assert middle["chosen_ids"][-1] != eos and middle["rejected_ids"][-1] != eos
    assert final["chosen_ids"][-1] == eos and final["rejected_ids"][-1] != eos
    assert tokenizer.decode(middle["chosen_ids"]) == "Step 1: 2 + 3 = 5."
    # the prompt/completion boundary is clean: the prompt ids are the prompt alone
    assert tokenizer.decode(final["prompt_ids"]).endswith("Step 1: 2 + 3 = 5.\n")


def test_step_dpo_changes_the_policy_not_the_reference(tiny_lm, tmp_path):
    model, tokenizer = tiny_lm
    policy, reference = copy.deepcopy(model), copy.deepcopy(model)
    before = [p.detach().clone() for p in policy.parameters()]
    ref_before = [p.detach().clone() for p in reference.parameters()]
    metrics = step_dpo(policy, reference, tokenizer, pairs(tokenizer) * 4, DPO(learning_rate=1e-2, max_steps=3,
                                                                                 batch_size=4), tmp_path, seed=0)
    assert metrics["steps"] == 3
    # fewer steps than logging_steps (10): the first step's loss and the run's mean are still reported
    assert metrics["first_loss"] is not None and metrics["mean_loss"] is not None
    assert any(not torch.equal(a, b) for a, b in zip(before, policy.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(ref_before, reference.parameters()))


def test_judge_replay_pairs_differ_only_in_the_verdict(tiny_lm):
    from stages.dpo import judge_replay_pairs
    from schemas import EFTRecord

    _, tokenizer = tiny_lm
    eft = [EFTRecord(id=f"eft-{i}-{v}", problem_id=f"p{i}", problem="Mia has 2 apples. First, she gets 3 more.",
                     previous_steps=[], step_a=f"Step 1: 2 + 3 = {5 if v == 'A' else 6}.",
                     step_b=f"Step 1: 2 + 3 = {6 if v == 'A' else 5}.", verdict=v,
                     explanation="First, she gets 3 more, so 2 + 3 = 5.", corruption="wrong_arithmetic",
                     pair_id=f"eft-{i}") for i in range(5) for v in "AB"]
    replay = judge_replay_pairs(tokenizer, eft, 4, "compact", "explain", seed="0-m2")
    assert len(replay) == 4 and replay == judge_replay_pairs(tokenizer, eft, 4, "compact", "explain", seed="0-m2")
    for pair in replay:
        right = "[[A]]" if "= 5." in pair["prompt"].split("[Step A]")[1].split("[Step B]")[0] else "[[B]]"
        assert pair["chosen"].endswith(right) and not pair["rejected"].endswith(right)
        assert pair["chosen"][:-5] == pair["rejected"][:-5] and pair["chosen_final"] and pair["rejected_final"]
    assert len(judge_replay_pairs(tokenizer, eft, 50, "compact", "explain", seed="0")) == len(eft)
