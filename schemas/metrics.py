"""Metrics files (JSON) that ``dvc metrics show`` / ``dvc exp show`` read, and per-item eval rows."""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.table import Row


class _Metrics(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PairMetrics(_Metrics):
    """Per iteration: the decided rounds of its rollout and the pairs ``pairs.keep`` made of them."""

    decided: int  # rounds whose best beat its worst, not rolled back: the pairs of pairs.keep: all
    pairs: int  # the pairs written (and trained on)
    keep: Literal["all", "proven", "exact"]
    decided_correct_rate: float | None  # toy: chosen right and rejected wrong (oracle), over the decided rounds
    pair_correct_rate: float | None  # the same over the pairs kept
    rewrite_pairs: int | None = None  # pairs.rewrites: the pairs whose chosen step the judges wrote (in pairs)
    rewrite_correct_rate: float | None = None  # toy: the share of them right over a wrong rejected (oracle)


class RolloutMetrics(_Metrics):
    """Per iteration: what the search produced and how the self-judge behaved."""

    problems: int
    pairs: int
    rounds: int
    tie_rate: float  # share of judged rounds where all candidates scored equal
    rollbacks: int
    judgments: int
    parse_failures: int
    parse_failure_rate: float
    flip_rate: float  # share of pairs judged in both orders whose verdict changes with the order
    single_candidate_rate: float  # share of rounds whose samples were all identical
    path_accuracy: float  # share of searched paths whose answer is right (oracle)
    mean_steps: float
    # paths ended because their next prompt (reasoning or judge) would not fit generation.vllm.max_model_len
    too_long: int = 0
    multi_candidate_rounds: int = 0  # rounds with >= 2 distinct candidates (something to judge)
    # toy world only (None without an oracle): rounds whose distinct candidates mix a right and a wrong
    # step; judge calls where exactly one step is right ("in the wild") and the share the judge got
    # right (a parse failure counts as wrong); kept pairs whose chosen step is right and rejected wrong
    mixed_rounds: int | None = None
    wild_judgments: int | None = None
    judge_accuracy_wild: float | None = None
    # flip_rate on the pairs in the wild alone (both orders parsed): flips between two equally wrong steps
    # tie, as they should; these are the ones where the order decides between a right and a wrong step
    flip_rate_wild: float | None = None
    correct_pairs: int | None = None
    pair_correct_rate: float | None = None
    # tokens sampled (candidate steps; judge outputs), counted by re-tokenising the tables' texts with
    # M(parent)'s tokenizer, as the SRLM arm's are (SolutionRolloutMetrics): the compute of the iteration
    sampled_tokens: int | None = None
    judge_tokens: int | None = None


class SolutionRolloutMetrics(_Metrics):
    """Per SRLM iteration (``srlm.iterations``): what the solution-level rollout sampled and judged."""

    method: Literal["solution"] = "solution"
    judge: Literal["rubric", "pairwise"]
    problems: int
    solutions: int
    pairs: int
    tie_rate: float  # share of problems whose best and worst scores are equal (no pair)
    judgments: int  # judge calls (rubric: one per solution; pairwise: w(w-1) per problem in both orders)
    parse_failures: int  # judge outputs without a score / verdict: counted, never scored
    parse_failure_rate: float
    too_long: int  # judge prompts that would not fit generation.vllm.max_model_len (not judged)
    path_accuracy: float  # share of sampled solutions whose answer is right (oracle)
    mean_score: float | None  # rubric: the mean parsed score
    sampled_tokens: int
    judge_tokens: int
    # kept pairs whose chosen solution is right and rejected wrong (the oracle: the boxed answer)
    correct_pairs: int
    pair_correct_rate: float | None


class AnswerEvalRow(Row):
    """One evaluated held-out problem (lm-eval's logged sample, graded by the project's grader)."""

    task: str
    doc_id: int
    problem_id: str
    response: str
    answer: str
    correct: bool


class JudgeEvalRow(Row):
    """One judged held-out EFT example."""

    id: str
    pair_id: str
    raw: str
    verdict: Literal["A", "B"] | None
    p_a: float | None
    expected: Literal["A", "B"]
    correct: bool
    # the prompt would not fit generation.vllm.max_model_len: not judged, counted wrong (and counted)
    too_long: bool = False


class EvalMetrics(_Metrics):
    """Per model: answer accuracy (lm-eval; the mean over its tasks, as the paper's Avg) and judge
    accuracy on held-out EFT pairs."""

    accuracy: float
    tasks: dict[str, float]  # accuracy per lm-eval task
    accuracy_stderr: float
    problems: int
    judge_accuracy: float
    judge_parse_failure_rate: float
    judge_too_long: int = 0  # held-out pairs whose prompt would not fit the context (counted wrong)
    judge_shots: int = 0  # worked EFT train examples shown before each pair (evaluate.m0_judge_shots)
    judge_flip_rate: float
    # direct judge: a pair is right when P(A) averaged over its two orders picks the right step
    # (judge.average_orders scores the search this way); None for the explain judge
    judge_order_averaged_accuracy: float | None = None
    judge_examples: int
    # held-out EFT accuracy per kind of wrong step (toy corruptions; real: wrong_arithmetic for GSM8K,
    # prmbench_<class> for PRMBench) and per source of the pairs (real: gsm8k, prmbench; toy: toy)
    judge_accuracy_by_corruption: dict[str, float] = {}
    judge_accuracy_by_source: dict[str, float] = {}
    mean_steps: float
    mean_step_chars: float
    # per task (paper Table 4): steps per solution and mean step length (characters) of the greedy solutions
    task_mean_steps: dict[str, float] = {}
    task_mean_step_chars: dict[str, float] = {}


class TaskSearchMetrics(_Metrics):
    """Test-time search on the problems of one task, beside greedy decoding on the same problems."""

    search_accuracy: float
    greedy_accuracy: float  # the same problems, greedy decoding (from the model's evaluation)
    problems: int
    mean_steps: float
    rollbacks: int
    judgments: int
    parse_failure_rate: float
    too_long: int = 0  # paths ended because their next prompt would not fit generation.vllm.max_model_len


class SearchEvalMetrics(_Metrics):
    """Per model: test-time step-wise search with the self-judge on held-out problems (paper Table 5):
    per task, and over the tasks: the accuracies are means over tasks (the paper's Avg column), the
    counts sums, mean_steps and parse_failure_rate over every path and judgment."""

    search_accuracy: float
    greedy_accuracy: float
    problems: int
    mean_steps: float
    rollbacks: int
    judgments: int
    parse_failure_rate: float
    too_long: int = 0
    tasks: dict[str, TaskSearchMetrics] = {}
