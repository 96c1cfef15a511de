"""The stream engine: problems advance on their own, whatever order the backend finishes requests in.

A scripted backend (our own ``Generator`` interface, no library behind it) answers candidate requests
from a table keyed by the problem and the steps so far, and judge requests by preferring the step that
holds the right number; one variant hands back everything at once, one hands back a single request per
``collect``, newest first. The engine's records must not depend on that order.
"""

import re

import pytest

from psrlm.engine import run_search
from psrlm.generation import BatchedStream, Completion, Sampling
from psrlm.params import Judge, Search
from psrlm.search import SearchProblem

# problem -> step position -> the w candidates sampled there (two steps, then the answer)
SCRIPT = {
    "p1": [["2 + 3 = 5.", "2 + 3 = 6.", "2 + 3 = 5.", "2 + 3 = 7."], ["The answer is \\boxed{5}."] * 4],
    "p2": [["4 * 2 = 8."] * 4, ["8 - 1 = 7.", "8 - 1 = 6.", "8 - 1 = 9.", "8 - 1 = 8."],
           ["The answer is \\boxed{7}.", "The answer is \\boxed{6}.", "The answer is \\boxed{7}.",
            "The answer is \\boxed{7}."]],
    "p3": [["9 - 4 = 5."] * 4, ["The answer is \\boxed{5}."] * 4],
}
RIGHT = ["2 + 3 = 5.", "4 * 2 = 8.", "8 - 1 = 7.", "9 - 4 = 5.", "\\boxed{5}", "\\boxed{7}"]


class ScriptedBackend(BatchedStream):
    def __init__(self, tokenizer, one_at_a_time: bool):
        self.tokenizer, self.one_at_a_time = tokenizer, one_at_a_time
        self.collects = 0
        self.longest = 0  # prompt tokens + max_tokens of the longest request answered

    def generate(self, prompts, sampling: Sampling, desc=None, seeds=None):
        out = []
        for prompt in prompts:
            self.longest = max(self.longest, len(self.tokenizer(prompt)["input_ids"]) + sampling.max_tokens)
            if "[[A]]" in prompt:  # a judge prompt: prefer the step whose result is right
                a, b = re.search(r"\[Step A\]\n(.*)\n\[Step B\]\n(.*)", prompt).groups()
                verdict = "A" if _right(a) or not _right(b) else "B"
                out.append([Completion(f"checks the result. [[{verdict}]]", "eos", 4)])
                continue
            problem = re.search(r"problem (p\d)", prompt).group(1)
            position = prompt.count("Step ")  # steps so far
            out.append([Completion(f"Step {position + 1}: {t}", "stop", 6) for t in SCRIPT[problem][position]])
        return out

    def collect(self):
        self.collects += 1
        if not self.one_at_a_time:
            return super().collect()
        rest, self._queued = self._queued[:-1], self._queued[-1:]
        done = super().collect()  # the newest request alone
        self._queued = rest
        return done


def _right(text: str) -> bool:
    return any(r in text for r in RIGHT)


def search(tokenizer, one_at_a_time: bool, in_flight: int, max_model_len: int | None = None):
    backend = ScriptedBackend(tokenizer, one_at_a_time)
    problems = [SearchProblem(id=p, question=f"problem {p}", gold="", prompt=f"Solve problem {p}.\n") for p in SCRIPT]
    finished, groups = [], []
    stats = run_search(problems, backend, Search(width=4, max_steps=5), Judge(mode="explain"), in_flight,
                       "compact", 0, lambda done: (finished.extend(done), groups.append(len(done))),
                       max_model_len=max_model_len)
    records = {s.problem.id: (s.candidates, s.judgments, s.rounds, s.stop_reason, s.finished_steps()) for s in finished}
    return records, stats, groups, backend.longest


@pytest.fixture(scope="module")
def tokenizer(tiny_lm):
    return tiny_lm[1]


def test_records_do_not_depend_on_the_order_requests_finish_in(tokenizer):
    together, stats, _, _ = search(tokenizer, one_at_a_time=False, in_flight=3)
    single, stats_single, _, _ = search(tokenizer, one_at_a_time=True, in_flight=3)
    assert together == single
    assert set(together) == set(SCRIPT)
    assert stats.judge_calls == stats_single.judge_calls > 0
    assert stats_single.collects > stats.collects  # one request per wake-up: really interleaved


def test_the_search_picks_the_right_steps_and_bounds_problems_in_flight(tokenizer):
    records, stats, groups, _ = search(tokenizer, one_at_a_time=True, in_flight=1)
    assert records["p1"][3] == "answer"
    p2_steps = [r for r in records["p2"][2] if r["best"] is not None]
    assert [records["p2"][0][i]["text"] for i in [r["round"] * 4 + r["best"] for r in p2_steps]] == [
        "Step 1: 4 * 2 = 8.", "Step 2: 8 - 1 = 7.", "Step 3: The answer is \\boxed{7}."]
    assert sum(groups) == 3 and stats.rounds == sum(len(r[2]) for r in records.values())


def test_a_prompt_past_max_model_len_ends_its_path_too_long_not_the_run(tokenizer):
    """Room for a reasoning prompt and its step, not for a judge prompt and its explanation: the paths
    that must judge end ``too_long`` with the steps they had (no request past the limit is sent); the
    one whose samples all agree needs no judge and answers."""
    _, _, _, longest = search(tokenizer, one_at_a_time=False, in_flight=3)
    reasoning = max(len(tokenizer(f"Solve problem {p}.\n" + "Step 1: 4 * 2 = 8.\n")["input_ids"]) for p in SCRIPT)
    limit = reasoning + Search().max_step_tokens + 2  # every reasoning request fits, no judge request does
    assert longest > limit
    records, stats, _, longest = search(tokenizer, one_at_a_time=False, in_flight=3, max_model_len=limit)
    assert longest <= limit
    assert {p: r[3] for p, r in records.items()} == {"p1": "too_long", "p2": "too_long", "p3": "answer"}
    assert records["p1"][4] == [] and records["p2"][4] == ["Step 1: 4 * 2 = 8."]  # the steps it had
    assert records["p2"][2][-1]["round"] == 0  # the round it could not judge is not recorded
    assert stats.too_long == 2 and stats.judge_calls == 0
