"""Plain Hugging Face ``generate`` backend: for machines without vLLM, small evaluations, and as the
baseline that the rollout benchmark compares the engine against."""

from __future__ import annotations

from psrlm.generation import BatchedStream, Completion, Sampling
from psrlm.progress import progress


class HFGenerator(BatchedStream):
    def __init__(self, model_dir: str, batch_size: int, seed: int):
        import torch

        from psrlm.modeling import load_model

        self.model, self.tokenizer = load_model(model_dir)
        self.model.eval()
        self.tokenizer.padding_side = "left"
        self.batch_size = batch_size
        torch.manual_seed(seed)

    def generate(self, prompts: list[str], sampling: Sampling, desc: str | None = None,
                 seeds: list[int] | None = None) -> list[list[Completion]]:
        if seeds is not None and sampling.temperature > 0:
            # one prompt at a time under its own seed: slow, but what it samples is batch-independent
            out = []
            for prompt, seed in zip(prompts, seeds):
                self._seed(seed)
                out.extend(self._generate([prompt], sampling, None))
            return out
        return self._generate(prompts, sampling, desc)

    def _seed(self, seed: int) -> None:
        import torch

        torch.manual_seed(seed)

    def _generate(self, prompts: list[str], sampling: Sampling, desc: str | None) -> list[list[Completion]]:
        import torch
        from transformers import StoppingCriteriaList

        results: list[list[Completion]] = []
        eos = self.tokenizer.eos_token_id
        # greedy (temperature 0): the n completions are one, decoded once (generate refuses n > 1 without sampling)
        drawn = sampling.n if sampling.temperature > 0 else 1
        per_batch = max(1, self.batch_size // drawn)
        batches = range(0, len(prompts), per_batch)
        for start in progress(batches, desc=desc or "", total=len(batches), disable=desc is None):
            batch = prompts[start : start + per_batch]
            enc = self.tokenizer(batch, return_tensors="pt", padding=True)
            kwargs = dict(
                max_new_tokens=sampling.max_tokens,
                num_return_sequences=drawn,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=eos,
            )
            if sampling.temperature > 0:
                kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
            else:
                kwargs.update(do_sample=False)
            if sampling.stop:
                stop = StopOnNewText(self.tokenizer, sampling.stop, enc["input_ids"].shape[1])
                kwargs.update(stopping_criteria=StoppingCriteriaList([stop]))
            with torch.no_grad():
                out = self.model.generate(**enc, **kwargs)
            new = out[:, enc["input_ids"].shape[1] :]
            for i in range(len(batch)):
                group = []
                for j in range(sampling.n):
                    ids = new[i * drawn + j % drawn].tolist()
                    group.append(self._completion(ids, sampling))
                results.append(group)
        return results

    def choice_probs(self, prompts: list[str], token_a: int, token_b: int) -> list[float]:
        import torch

        probs: list[float] = []
        for start in range(0, len(prompts), self.batch_size):
            enc = self.tokenizer(prompts[start : start + self.batch_size], return_tensors="pt", padding=True)
            with torch.no_grad():
                logits = self.model(**enc).logits[:, -1, :]  # left padding: the last position is the next token
            pair = torch.softmax(logits[:, [token_a, token_b]].float(), dim=-1)
            probs.extend(pair[:, 0].tolist())
        return probs

    def _completion(self, ids: list[int], sampling: Sampling) -> Completion:
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        ended = eos in ids
        if ended:
            ids = ids[: ids.index(eos)]
        while ids and ids[-1] == pad:
            ids = ids[:-1]
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        for stop in sampling.stop:
            cut = text.find(stop)
            if cut != -1:
                return Completion(text=text[:cut], finish_reason="stop", num_tokens=len(ids))
        return Completion(text=text, finish_reason="eos" if ended else "length", num_tokens=len(ids))

    def close(self) -> None:
        del self.model


def _stopping_criteria_base():
    from transformers import StoppingCriteria

    return StoppingCriteria


class StopOnNewText(_stopping_criteria_base()):
    """Stops a sequence once its *generated* text holds a stop string.

    transformers' own ``stop_strings`` also matches across the prompt boundary: a prompt ending in a
    newline followed by a generated ``Step `` already matches ``"\nStep "``, which ended every step
    after two tokens.
    """

    def __init__(self, tokenizer, stops: tuple[str, ...], prompt_length: int):
        self.tokenizer, self.stops, self.prompt_length = tokenizer, tuple(stops), prompt_length

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_length :], skip_special_tokens=True)
        return torch.tensor([any(s in t for s in self.stops) for t in texts], dtype=torch.bool,
                            device=input_ids.device)

