"""The HF backend's stop rule: a stop string counts only inside the generated text."""

import torch

from psrlm.generation.hf_backend import StopOnNewText


def test_stop_string_ignores_the_prompt_boundary(tiny_lm):
    _, tokenizer = tiny_lm
    prompt = tokenizer("Mia has 2 apples.\n")["input_ids"]
    stop = StopOnNewText(tokenizer, ("\nStep ",), len(prompt))

    def ids(generated: str) -> torch.Tensor:
        return torch.tensor([prompt + tokenizer(generated, add_special_tokens=False)["input_ids"]])

    assert not stop(ids("Step "), None).item()  # "\n" of the prompt + "Step " is not a stop
    assert not stop(ids("Step 1: 2 + 3 = 5."), None).item()
    assert stop(ids("Step 1: 2 + 3 = 5.\nStep "), None).item()
