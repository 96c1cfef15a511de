"""The HF backend's stop rule: a stop string counts only inside the generated text; where a step ends."""

import torch

from psrlm.engine import candidate_sampling
from psrlm.generation.hf_backend import StopOnNewText
from psrlm.params import Search

PROMPT = "Mia has 2 apples.\n"


def stop_after_prompt(tokenizer, stops: tuple[str, ...]):
    """The stop rule for a request of ``PROMPT``, and a function that builds prompt + generated ids."""
    prompt = tokenizer(PROMPT)["input_ids"]

    def ids(generated: str) -> torch.Tensor:
        return torch.tensor([prompt + tokenizer(generated, add_special_tokens=False)["input_ids"]])

    return StopOnNewText(tokenizer, stops, len(prompt)), ids


def test_stop_string_ignores_the_prompt_boundary(tiny_lm):
    _, tokenizer = tiny_lm
    stop, ids = stop_after_prompt(tokenizer, ("\nStep ",))
    assert not stop(ids("Step "), None).item()  # "\n" of the prompt + "Step " is not a stop
    assert not stop(ids("Step 1: 2 + 3 = 5."), None).item()
    assert stop(ids("Step 1: 2 + 3 = 5.\nStep "), None).item()


def test_a_one_line_step_ends_at_its_newline(tiny_lm):
    """``search.step_end: line`` (the toy world): the step is cut at its first newline, so text the model
    writes after the step (``\\n next says ...``) never becomes part of a candidate."""
    _, tokenizer = tiny_lm
    sampling = candidate_sampling(Search(step_end="line"))
    assert sampling.stop == ("\n",)
    assert candidate_sampling(Search(step_end="header")).stop == ("\nStep ",)  # the paper's: a step may span lines
    stop, ids = stop_after_prompt(tokenizer, sampling.stop)
    assert not stop(ids("Step 1: 2 + 3 = 5."), None).item()  # the prompt's own newline is not a stop
    assert stop(ids("Step 1: 2 + 3 = 5.\n next"), None).item()
