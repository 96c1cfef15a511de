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


def test_nll_prefix_moves_the_earlier_steps_into_both_completions(tiny_lm, tmp_path):
    import pytest
    from pydantic import ValidationError

    from psrlm.training import prefix_into_completions

    model, tokenizer = tiny_lm
    base = chat_prompt(tokenizer, reasoning_prompt("Mia has 2 apples. She finds 3 more.", "compact"))
    cfg = DPO(learning_rate=1e-3, max_steps=1, batch_size=2, nll_prefix=True)
    trainer = step_dpo_trainer(model, copy.deepcopy(model), tokenizer, pairs(tokenizer), cfg, tmp_path, seed=0)
    middle, final = trainer.train_dataset[0], trainer.train_dataset[1]
    assert tokenizer.decode(middle["chosen_ids"]) == "Step 1: 2 + 3 = 5."  # no earlier step: as before
    assert tokenizer.decode(final["prompt_ids"]) == tokenizer.decode(middle["prompt_ids"])  # the problem alone
    assert tokenizer.decode(final["chosen_ids"]).startswith("Step 1: 2 + 3 = 5.\nStep 2: 5 * 2 = 10.")
    assert tokenizer.decode(final["rejected_ids"]) == "Step 1: 2 + 3 = 5.\nStep 2: 5 * 2 = 12."
    moved = prefix_into_completions(pairs(tokenizer), tokenizer)
    assert [p["prompt"] for p in moved] == [base, base] and moved[0] == pairs(tokenizer)[0]
    with pytest.raises(ValueError, match="problem 'p7'.*assistant turn"):
        prefix_into_completions([dict(pairs(tokenizer)[1], prompt="Step 1: 2 + 3 = 5.\n", problem_id="p7")], tokenizer)
    with pytest.raises(ValidationError, match="nll_prefix"):
        DPO(nll_prefix=True, rpo_alpha=None)


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


def test_fewer_pairs_than_min_pairs_copy_the_parent(tiny_lm, tmp_path):
    """``dpo.min_pairs``: below it the stage trains nothing and M(parent) is the next model, byte for byte;
    at it the stage trains (the policy's weights move)."""
    import json

    import yaml

    from psrlm.modeling import load_model, save_model
    from psrlm.params import parse_params
    from schemas import PreferencePair
    from schemas.table import write_parquet
    from stages.dpo import main
    from tests.conftest import ROOT

    model, tokenizer = tiny_lm
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["paths"] |= {k: str(tmp_path / k) for k in ("models", "pairs", "metrics")}
    raw["dpo"] |= {"max_steps": 1, "batch_size": 2, "min_pairs": 3, "gate": None}
    params = parse_params(raw, source="test")
    save_model(model, tokenizer, params.model_dir("m1"))
    provenance = dict(chosen_wins=2, rejected_wins=0, round=0, n_distinct=2, model="m1", problem_id="p0")
    rows = [x | provenance | {"position": i} for i, x in enumerate(pairs(tokenizer))]
    write_parquet(params.pairs_file("m2"), PreferencePair, rows)  # 2 pairs < 3

    main(params, "m2")
    metrics = json.loads(params.metrics_file("train", "m2").read_text())
    assert metrics == {"pairs": 2, "trained": False}
    for f in params.model_dir("m1").iterdir():
        assert (params.model_dir("m2") / f.name).read_bytes() == f.read_bytes()

    write_parquet(params.pairs_file("m3"), PreferencePair, rows + rows[:1])  # 3 pairs: trains
    raw["iterations"]["m3"]["parent"] = "m1"
    params = parse_params(raw, source="test")
    main(params, "m3")
    assert json.loads(params.metrics_file("train", "m3").read_text())["trained"]
    trained, _ = load_model(params.model_dir("m3"))
    assert any(not torch.equal(a, b) for a, b in zip(model.parameters(), trained.parameters()))


def gate_project(tiny_lm, tmp_path, dpo: dict):
    """A project whose M1 is ``tiny_lm``, with two step pairs for m2 and 4 gate problems (search[8:12]);
    ``dpo``: the dpo params on top of params.yaml's. Returns the params and M1's model."""
    import yaml

    from psrlm.modeling import save_model
    from psrlm.params import ToyProblems, parse_params
    from psrlm.toy import generate_splits
    from schemas import PreferencePair, Problem
    from schemas.table import write_jsonl, write_parquet
    from tests.conftest import ROOT

    model, tokenizer = tiny_lm
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["paths"] |= {k: str(tmp_path / k) for k in ("problems", "models", "pairs", "metrics")}
    raw["problems"]["splits"] |= {"search": 12}
    raw["iterations"] = {"m2": {"parent": "m1", "first_problem": 0, "num_problems": 8}}
    raw["srlm"]["iterations"] = {}
    raw["evaluate"] |= {"models": ["m0", "m1", "m2"], "search_models": ["m2"], "max_gen_tokens": 8}
    raw["generation"] |= {"backend": "hf"}
    raw["dpo"] |= {"batch_size": 2, "min_pairs": 1} | dpo
    params = parse_params(raw, source="test")
    problems = generate_splits(ToyProblems(), {"search": 12}, seed=0)["search"]
    write_jsonl(params.problems_file("search"), Problem, problems)
    save_model(model, tokenizer, params.model_dir("m1"))
    provenance = dict(chosen_wins=2, rejected_wins=0, round=0, n_distinct=2, model="m1", problem_id="p0")
    write_parquet(params.pairs_file("m2"), PreferencePair,
                  [x | provenance | {"position": i} for i, x in enumerate(pairs(tokenizer))])
    return params


def test_the_gate_keeps_the_trained_model_only_if_it_beats_its_parent(tiny_lm, tmp_path):
    """``dpo.gate``: both models decode the gate's problems greedily; an untrained model answers none of
    them, and the trained one (a step on two pairs) none either: a tie keeps the parent, byte for byte, and
    the metrics say so."""
    import json

    from stages.dpo import keeps_trained, main

    assert keeps_trained(0.50, 0.51) and not keeps_trained(0.50, 0.50) and not keeps_trained(0.50, 0.49)
    params = gate_project(tiny_lm, tmp_path, {"max_steps": 1, "gate": {"first_problem": 8, "num_problems": 4}})

    main(params, "m2")
    metrics = json.loads(params.metrics_file("train", "m2").read_text())
    assert metrics["trained"] and metrics["gate"] == {"problems": 4, "parent_accuracy": 0.0, "trained_accuracy": 0.0,
                                                      "kept": "parent"}
    for f in params.model_dir("m1").iterdir():
        assert (params.model_dir("m2") / f.name).read_bytes() == f.read_bytes()


def test_the_gate_can_choose_among_the_models_after_every_epoch(tiny_lm, tmp_path):
    """``dpo.gate.epochs: each``: the trainer keeps a checkpoint per epoch, the gate decodes M(parent) and
    every one of them, and keeps the best (the earliest of equals) only if it beats the parent; the
    metrics hold every epoch's accuracy, and no checkpoint is left behind."""
    import json

    from stages.dpo import best_candidate, main

    assert best_candidate([0.4, 0.6, 0.6, 0.5]) == 1 and best_candidate([0.3]) == 0 and best_candidate([0.2, 0.2]) == 0
    params = gate_project(tiny_lm, tmp_path, {"epochs": 2, "gate": {"first_problem": 8, "num_problems": 4,
                                                                     "epochs": "each"}})

    main(params, "m2")
    metrics = json.loads(params.metrics_file("train", "m2").read_text())
    assert metrics["trained"] and metrics["steps"] == 2
    assert metrics["gate"] == {"problems": 4, "parent_accuracy": 0.0, "trained_accuracy": 0.0, "kept": "parent",
                               "epoch": 1.0, "epoch_accuracy": {"1": 0.0, "2": 0.0}}
    for f in params.model_dir("m1").iterdir():
        assert (params.model_dir("m2") / f.name).read_bytes() == f.read_bytes()
    assert not any("checkpoint" in p.name for p in tmp_path.rglob("*"))
