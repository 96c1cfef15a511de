"""The one typed view of ``params.yaml``.

Every stage loads the whole file through :func:`load_params`, so invalid values (a search width below
2, a negative temperature, an unknown key, an iteration whose parent does not exist) fail with a
clear message before any work starts. A field's default is its value in the default params file
(``profiles/tiny-cpu.yaml`` = ``params.yaml``), or the field is required; ``tests/test_params.py``
keeps the two equal. The ``Params`` helpers name every file inside the ``paths`` folders
(``dvc.yaml`` spells the same names; ``tests/test_dag.py`` checks they agree).

    python -m psrlm.params                                        # validate params.yaml
    python -m psrlm.params profiles/smollm2-cpu.yaml              # validate a profile on top of the default
    python -m psrlm.params profiles/smollm2-cpu.yaml --write params.yaml   # and write it whole (make profile)
    python -m psrlm.params --sets profiles/qwen2.5-math-7b.yaml   # its IFT / EFT set sizes per source (psrlm.sizes)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_PARAMS = Path("params.yaml")
BASE_MODELS = ("m0", "m1")  # M0 (base) and M1 (cold start) exist in every run
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paths(Strict):
    """Where each artifact family lives (directories); stage outputs are named inside them."""

    problems: str = "data/problems"
    sets: str = "data/sets"
    models: str = "data/models"
    rollouts: str = "data/rollouts"
    pairs: str = "data/pairs"
    eval: str = "data/eval"
    metrics: str = "data/metrics"
    report: str = "data/report"


class ToyProblems(Strict):
    """The seeded generator of multi-step arithmetic word problems (the embedded default world)."""

    min_ops: int = Field(2, ge=1)
    max_ops: int = Field(2, ge=1, le=10)
    operand_max: int = Field(5, ge=2)
    factor_max: int = Field(2, ge=2)
    value_max: int = Field(20, ge=10)
    operations: list[Literal["add", "sub", "mul"]] = Field(default=["add", "sub", "mul"], min_length=1)
    # events per problem of one split, [min, max], in place of min_ops/max_ops (a curriculum: e.g. search
    # and test problems one event longer than the sft split's worked solutions); {}: every split alike
    split_ops: dict[Literal["pretrain", "sft", "search", "test"], tuple[int, int]] = {}

    @model_validator(mode="after")
    def ordered(self):
        for name, (low, high) in {"": (self.min_ops, self.max_ops), **self.split_ops}.items():
            if not 1 <= low <= high <= 10:
                raise ValueError(f"{'split_ops.' + name if name else 'min_ops/max_ops'}: need 1 <= min ({low}) "
                                 f"<= max ({high}) <= 10")
        return self

    def for_split(self, split: str) -> ToyProblems:
        """This world with the split's own number of events."""
        if split not in self.split_ops:
            return self
        low, high = self.split_ops[split]
        return self.model_copy(update={"min_ops": low, "max_ops": high, "split_ops": {}})


class Splits(Strict):
    """How many problems each split holds. pretrain: M0's corpus; sft: IFT (toy: EFT train too); search:
    rollouts; test: held out (toy: EFT test too); eft: real data only, GSM8K problems for EFT train and
    test that no other split holds (``psrlm.real.splits``)."""

    pretrain: int = Field(ge=0)
    sft: int = Field(ge=1)
    search: int = Field(ge=1)
    test: int = Field(ge=1)
    eft: int = Field(0, ge=0)


class RealProblems(Strict):
    """Real math from local copies (``data_root``, read-only; see its README) or the Hugging Face hub."""

    data_root: str = "../shared/data"
    train: list[Literal["gsm8k", "math"]] = Field(default=["gsm8k"], min_length=1)  # -> sft + search splits
    test: Literal["gsm8k", "math", "math500"] = "gsm8k"  # -> test split (test-time search, EFT test)
    eft: list[Literal["gsm8k", "prmbench"]] = Field(default=["gsm8k"], min_length=1)
    # PRMBench problems (with every item that perturbs them) held out for the EFT test split
    prmbench_test_share: float = Field(0.2, gt=0, lt=1)
    hub: dict[str, str] = {}  # source -> hub data set id, read instead of data_root (needs network)
    duplicates: Literal["error", "drop"] = "error"  # the same problem text twice in a file: error | counted drop


class Problems(Strict):
    source: Literal["toy", "real"] = "toy"
    seed: int = 1
    splits: Splits
    toy: ToyProblems = ToyProblems()
    real: RealProblems = RealProblems()


class TinyModel(Strict):
    """A Qwen2-architecture model built from a config, with a BPE tokenizer trained on the corpus."""

    vocab_size: int = Field(1024, ge=300)
    hidden_size: int = Field(128, ge=16)
    num_layers: int = Field(4, ge=1)
    num_heads: int = Field(4, ge=1)
    num_kv_heads: int = Field(4, ge=1)
    intermediate_size: int = Field(512, ge=16)
    max_position_embeddings: int = Field(1024, ge=128)

    @model_validator(mode="after")
    def heads_divide(self):
        if self.hidden_size % self.num_heads or self.num_heads % self.num_kv_heads:
            raise ValueError("hidden_size must divide by num_heads, and num_heads by num_kv_heads")
        if (self.hidden_size // self.num_heads) % 32:
            # vLLM's CPU attention rejects e.g. head_dim=16 ("Unsupported CPU attention configuration")
            raise ValueError(f"head size hidden_size/num_heads = {self.hidden_size // self.num_heads} must be a "
                             "multiple of 32 (vLLM's attention kernels)")
        return self


class ModelParams(Strict):
    base: str | None = None  # a hub id or local directory to use as M0; None = build the tiny model
    tiny: TinyModel = TinyModel()


# the trainer settings each section below sets its own default for (the constraints, once)
Epochs = Annotated[float, Field(gt=0)]
BatchSize = Annotated[int, Field(ge=1)]  # per process (GPU): global batch = batch_size x grad_accum x processes
MaxLength = Annotated[int, Field(ge=16)]
WarmupRatio = Annotated[float, Field(ge=0, lt=1)]
Scheduler = Literal["linear", "cosine", "constant", "constant_with_warmup"]
LoggingSteps = Annotated[int, Field(ge=1)]


class Train(Strict):
    """Trainer settings shared by pretraining, SFT and DPO (mapped onto TRL's configs). Each section has
    its own class below, whose defaults are that section's values in ``params.yaml``."""

    epochs: Epochs = 1.0
    max_steps: int = -1  # > 0 overrides epochs (smoke runs)
    learning_rate: float = Field(gt=0)
    batch_size: BatchSize = 16
    grad_accum: int = Field(1, ge=1)
    max_length: MaxLength = 512
    warmup_ratio: WarmupRatio = 0.0
    weight_decay: float = Field(0.0, ge=0)
    scheduler: Scheduler = "linear"
    precision: Literal["fp32", "bf16"] = "fp32"
    gradient_checkpointing: bool = False
    group_by_length: bool = True  # batches of similar lengths: less padding, same examples
    deepspeed: str | None = None  # path to a DeepSpeed JSON config (GPU clusters)
    logging_steps: LoggingSteps = 10
    save_steps: int = Field(200, ge=0)  # checkpoint every n steps (a killed stage resumes there); 0: never


class Pretrain(Train):
    """M0 from scratch (tiny model only)."""

    batch_size: BatchSize = 8
    max_length: MaxLength = 256
    warmup_ratio: WarmupRatio = 0.05
    scheduler: Scheduler = "constant_with_warmup"
    logging_steps: LoggingSteps = 50
    # check sentences per equation of the prose, on average ("... = 11. Ben says 9; 9 - 11 = -2."): the
    # arithmetic the judge's explanation does, learnt before SFT (0: plain prose)
    checks: float = Field(2.0, ge=0, le=8)


class SFT(Train):
    """M1 = SFT(M0, IFT + EFT)."""

    epochs: Epochs = 3.0
    batch_size: BatchSize = 8
    warmup_ratio: WarmupRatio = 0.05
    scheduler: Scheduler = "cosine"
    logging_steps: LoggingSteps = 50
    # M0's pretraining documents (the first n of the pretrain split, prose with its checks, as M0 read them)
    # trained on beside IFT + EFT, loss on every token: keeps the prose arithmetic M0 knows alive through SFT
    # (tiny model only). 0: IFT + EFT alone (the paper's cold start)
    prose_replay: int = Field(0, ge=0)


class Gate(Strict):
    """Search problems no iteration searches, for ``dpo.gate``: [first_problem, first_problem + num_problems)."""

    first_problem: int = Field(ge=0)
    num_problems: int = Field(ge=1)
    # last: the model after the last epoch against M(parent) | each: the model after every epoch (a checkpoint
    # each), the best of them against M(parent) (checkpoint selection; the earliest on a tie)
    epochs: Literal["last", "each"] = "last"


class DPO(Train):
    """Step-wise DPO of M(parent) on its pairs, M(parent) as the reference."""

    # the tiny default: 2, chosen over 5 on validation over 3 seeds (README); the paper: 1 (its real profiles)
    epochs: Epochs = 2.0
    beta: float = Field(0.1, gt=0)
    # weight of an NLL term on the chosen step (RPO / Step-DPO style; TRL's rpo_alpha); null: plain DPO
    rpo_alpha: float | None = Field(10.0, ge=0)
    # EFT train records added as judge pairs (right verdict over wrong) per iteration; 0: the paper's step
    # pairs only. Not the paper's recipe: against the judge's forgetting over iterations
    judge_replay: int = Field(0, ge=0)
    # the NLL term (rpo_alpha) also on the steps before the pair's (they move from the prompt into both the
    # chosen and the rejected text; the DPO term is unchanged). false: on the chosen step alone (Step-DPO's).
    # Not the paper's recipe. Measured (README, seed 0): it does not stop step-2 pairs from moving the step 1
    # of problems no pair is about, so it stays off
    nll_prefix: bool = False
    # fewer pairs than this: M(parent) is copied unchanged (``trained: false``); 1: train on any (the paper's).
    # Not the paper's recipe: on this CPU 2 and 3 oracle-right pairs cost 10 and 7 points of greedy accuracy
    min_pairs: int = Field(20, ge=1)
    # M(iteration) is kept only if its greedy accuracy on these search problems beats M(parent)'s; else
    # M(parent) is copied (``gate.kept: parent``). null: always kept (the paper's). Not the paper's recipe: a
    # rollback rule, checkpoint selection on labelled problems no iteration searches (never the test split)
    gate: Gate | None = Gate(first_problem=1200, num_problems=300)

    @model_validator(mode="after")
    def prefix_needs_nll(self):
        if self.nll_prefix and not self.rpo_alpha:
            raise ValueError("nll_prefix: needs an NLL term (rpo_alpha > 0); the DPO term alone cancels the prefix")
        return self


Corruption = Literal["wrong_arithmetic", "wrong_previous", "answer_mismatch", "wrong_event", "wrong_operand",
                     "skipped_step", "repeated_step", "garbled", "both_wrong_event"]


class Sets(Strict):
    """The cold-start sets: IFT from the sft split; EFT, toy: from sft (train) and test (held out), real:
    GSM8K from the eft split (the first ``eft_test_problems`` to test, the next ``eft_train_problems`` to
    train) beside PRMBench (``problems.real.prmbench_test_share``)."""

    ift_problems: int = Field(ge=1)
    eft_train_problems: int = Field(ge=1)
    eft_test_problems: int = Field(ge=1)
    # toy corruptions (the oracle's wrong steps): a list (equal weights) or {kind: weight}, weights
    # matched to the errors the search makes (the rollout report counts them)
    corruptions: list[Corruption] | dict[Corruption, float] = Field(
        default={"answer_mismatch": 0.3, "wrong_arithmetic": 0.3, "wrong_event": 0.2, "wrong_previous": 0.1,
                 "repeated_step": 0.05, "skipped_step": 0.05, "garbled": 0.3}, min_length=1
    )
    # toy judge explanation: verify (check each candidate's claim against the recomputed equation; the
    # verdict follows from the checks) | equation (one sentence on A's equation, the older form)
    explanation: Literal["verify", "equation"] = "verify"
    # toy only: IFT keeps the problems (of the first ift_problems) whose every event is one of these
    # operations; EFT, search and test keep the whole world. null: every operation (IFT covers the task; the
    # real profiles). The default [add, mul]: the judge is taught to check subtraction steps that M1 never saw
    # worked out in the step format (but for ift_other_problems): a reasoner with room, a judge that can
    # check what it cannot yet do. With every operation M1 solves ~97% and the loop has nothing to teach (README)
    ift_operations: list[Literal["add", "sub", "mul"]] | None = Field(["add", "mul"], min_length=1)
    # toy only, with ift_operations: IFT also keeps the first n of the problems it leaves out (a few worked
    # examples of the left-out operation: a reasoner that has seen it, not yet one that does it reliably)
    ift_other_problems: int = Field(10, ge=0)
    # toy only, with ift_operations: the first step whose event must be one of them; the steps before it may
    # be any operation. 1: every step (the left-out operation never worked out but in ift_other_problems);
    # 2: IFT also works out the left-out operation as a first step, and the loop must carry it to later ones
    ift_operations_from_step: int = Field(1, ge=1)
    # toy only, with ift_other_problems: the left-out problems IFT keeps are drawn from those whose left-out
    # operations sit at these steps alone (1-based), in the split's order; null: from every left-out problem (a
    # dose of worked examples at the one step the loop must teach, e.g. [2])
    ift_other_steps: list[int] | None = Field([2], min_length=1)

    @model_validator(mode="after")
    def positive_weights(self):
        if isinstance(self.corruptions, dict) and any(w <= 0 for w in self.corruptions.values()):
            raise ValueError("corruptions: every weight must be > 0")
        return self


class VLLMSettings(Strict):
    dtype: str = "float32"  # GPUs: bfloat16
    enforce_eager: bool = True
    enable_prefix_caching: bool = True
    tensor_parallel_size: int = Field(1, ge=1)
    gpu_memory_utilization: float = Field(0.85, gt=0, le=1)
    cpu_kvcache_gib: int = Field(2, ge=1)  # VLLM_CPU_KVCACHE_SPACE, CPU builds only
    max_model_len: int = Field(1024, ge=64)
    max_num_seqs: int = Field(1024, ge=1)  # sequences decoded together; tiny models gain from more
    # KV-cache block (tokens): prefix caching shares whole blocks only. null = vLLM's default for the
    # platform (16 on GPUs, 128 on CPUs); CPU kernels need a multiple of 32
    block_size: int | None = Field(32, ge=1)


class Generation(Strict):
    """The generation backend behind every sampling and judging call."""

    backend: Literal["vllm", "hf"] = "vllm"
    vllm: VLLMSettings = VLLMSettings()
    hf_batch_size: int = Field(64, ge=1)


class Search(Strict):
    """The step-wise search (paper Eqs. 1-5; paper: w = 6, temperature 0.5, top_p 0.95, 20 steps)."""

    width: int = Field(6, ge=2)  # w candidates per step
    temperature: float = Field(1.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)  # paper 0.95 (the real profiles); 1.0 chosen on validation (README)
    max_steps: int = Field(8, ge=1)
    max_rollbacks: int = Field(3, ge=0)
    max_step_tokens: int = Field(48, ge=1)
    # where a sampled step ends: line (at the end of its first line: the toy world, whose steps are one line
    # each) | header (paper: at the next "Step n:", a step may span lines; the real profiles)
    step_end: Literal["header", "line"] = "line"
    max_in_flight: int = Field(64, ge=1)  # problems searched at once (continuous batching)


class Judge(Strict):
    # explain: the paper's judge (a short explanation, then [[A]]/[[B]], decoded); direct: trained and
    # asked for the verdict only, read from the next-token probabilities of A vs B (one forward pass)
    mode: Literal["explain", "direct"] = "explain"
    schedule: Literal["round_robin", "knockout"] = "round_robin"  # every pair (paper) | a tournament, O(w)
    orders: Literal["both", "one"] = "both"
    max_tokens: int = Field(64, ge=1)
    temperature: float = Field(0.0, ge=0)  # (decided) judge greedily
    # direct + both orders only: score a pair by P(A) averaged over its two orders, a position-bias
    # correction (the paper counts each order's verdict; a judge that always says A then ties every
    # pair). The judgments table keeps each order's own verdict, so the flip rate still shows the bias.
    average_orders: bool = False
    # toy world only, never a default: the search's comparisons are decided by the oracle (the right
    # step wins; two equally right or wrong steps tie) instead of the model: the upper bound of the
    # judge link, and a way to test pairs and DPO alone. How M1 is trained does not change.
    oracle: bool = False

    @model_validator(mode="after")
    def _average_needs_probabilities(self) -> "Judge":
        if self.average_orders and (self.mode != "direct" or self.orders != "both"):
            raise ValueError("judge.average_orders needs judge.mode: direct (probabilities) and judge.orders: both")
        return self


class PairRules(Strict):
    """Which decided rounds of a rollout become preference pairs (``stages/pairs.py``)."""

    # all: best vs worst of every decided, not rolled-back round (the paper's). proven: only those whose every
    # judgment of best against worst proves its verdict with the verify explanation (``psrlm/proofs.py``:
    # both claims checked against one recomputed value, exact arithmetic, the winner's difference 0, the
    # loser's not). Toy world, explain judge, sets.explanation verify. Not the paper's recipe: the tiny judge
    # guesses on garbled candidates, and the NLL term then teaches the garbled step it chose; the pairs of two
    # wrong steps (rounds without a right candidate) go too. exact: proven, and the chosen step is the judge's own
    # rewrite word for word (a proof checks only the claim: a step can claim the right number from a wrong event or
    # a false equation). The tiny default's, chosen on validation over proven (README, "2026-12-07, evening")
    keep: Literal["all", "proven", "exact"] = "exact"
    # also the rounds where the judge wrote a step no candidate is (``psrlm/proofs.py``, ``new_step``): every
    # judgment of the round works out the same step, checks both claims against it exactly, and the step is one of
    # the toy grammar; it becomes the chosen step against the round's worst candidate. The judge's own step where
    # the reasoner cannot sample it (M1's second-step subtractions: README, "2026-12-07, after midnight"). Toy world,
    # explain judge, verify explanation. Not the paper's recipe (it pairs candidates only); false: the paper's
    rewrites: bool = False


Fallback = Literal["none", "last_number"]


class Grading(Strict):
    """One answer rule for greedy evaluation, test-time search and the rollouts' paths (``psrlm/grader.py``):
    the answer is the last ``\\boxed{}``; ``fallback`` says what a solution without one answers."""

    # none: nothing, it is wrong (METHOD.md's rule; the real-data profiles) | last_number: its last number
    # (the toy default: M0, pretrained on prose and never on \boxed{}, ends "The answer is 7." unboxed)
    fallback: Fallback = "last_number"


class Iteration(Strict):
    """One self-rewarding iteration: M(parent) searches problems [first, first + count) of the search
    split, and step-wise DPO on the pairs it judged gives the model named by this entry's key."""

    parent: str
    first_problem: int = Field(ge=0)
    num_problems: int = Field(ge=1)


class SRLM(Strict):
    """The solution-level self-rewarding arm (SRLM, Yuan et al. 2024), the paper's baseline, beside the step
    arm from the same M1 (S2 -> S3 -> S4 on M2's, M3's and M4's slices); off while ``iterations`` is empty
    (the default and the real profiles: the step arm alone; both arms and the solution EFT take the tiny
    default's make repro past 30 minutes on a 2-core CPU).
    M(parent) samples ``width`` whole solutions per problem and judges them itself, either each alone with
    the additive rubric (``rubric``: a score 0-5, Yuan et al.'s LLM-as-a-judge adapted to math) or every
    two of them in both orders with the step judge's verdict format (``pairwise``: granularity without
    the change of judging style); chosen = highest, rejected = lowest, ties give no pair; DPO on whole
    solutions with the ``dpo`` params. An entry ``s2: {parent: m1, first_problem: 0, num_problems: 400}``
    takes the same slice of the search split as the step iteration ``m2``."""

    iterations: dict[str, Iteration]  # no default, as the step arm's: every params file names its chain
    judge: Literal["rubric", "pairwise"] = "rubric"
    width: int = Field(6, ge=2)  # whole solutions per problem (search.width: the same w)
    temperature: float = Field(1.0, ge=0)  # search.temperature's value
    top_p: float = Field(1.0, gt=0, le=1)  # search.top_p's value
    max_tokens: int = Field(256, ge=1)  # a whole solution (the step arm: max_steps x max_step_tokens = 384)
    judge_max_tokens: int = Field(64, ge=1)  # the judge's explanation and score or verdict
    max_in_flight: int = Field(64, ge=1)  # problems per resume shard
    # the solution judge's EFT (whole solutions, right vs wrong) in M1's SFT set. On: M1 changes for both
    # arms alike; off: M1 is the step arm's M1 alone (its solution judging then zero-shot); true with the arm
    eft: bool = False


class Evaluate(Strict):
    models: list[str] = Field(min_length=1)
    backend: Literal["vllm", "hf"] = "vllm"  # greedy answers and held-out judging (hf: transformers generate)
    max_gen_tokens: int = Field(200, ge=1)
    limit: int | None = Field(None, ge=1)
    # test-time step-wise search with the self-judge (paper: w = 6 on M1 and M4), beside greedy decoding;
    # uses the search and judge params of the rollouts
    search_models: list[str]
    # problems of each task the search answers: the first n of the task's problems (null: all), a subset of
    # those greedy evaluation answered (evaluate.limit)
    search_limit: int | None = Field(None, ge=1)
    # test-time search's sampling; null: the rollouts' search.temperature / search.top_p. The rollouts want
    # rounds that mix a right and a wrong step (pairs); a search that answers wants the fewest wrong samples
    search_temperature: float | None = Field(None, ge=0)
    search_top_p: float | None = Field(None, gt=0, le=1)
    # lm-eval tasks (folders of psrlm/lm_eval_tasks): toy_arith on the toy test split; the real
    # benchmarks gsm8k, math_full, math500, gaokao2023en, olympiadbench, aime24, amc23. Greedy evaluation
    # and test-time search answer each (paper Tables 1 and 5: per benchmark, and their mean)
    tasks: list[str] = Field(default=["toy_arith"], min_length=1)
    # M0's held-out judge accuracy with this many EFT train examples shown first as chat turns (paper
    # Table 3: M0 3-shot, having never learnt the verdict format); 0: zero-shot, as every other model
    m0_judge_shots: int = Field(0, ge=0, le=8)

    @model_validator(mode="after")
    def tasks_exist(self):
        if len(set(self.tasks)) < len(self.tasks):
            raise ValueError(f"tasks: {self.tasks} names a task twice")
        folder = Path(__file__).parent / "lm_eval_tasks"
        unknown = [t for t in self.tasks if not (folder / t).is_dir()]
        if unknown:
            known = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("_"))
            raise ValueError(f"tasks: unknown lm-eval task(s) {unknown}; known: {known}")
        return self


class Prompts(Strict):
    style: Literal["paper", "compact", "compact-claims"] = "compact-claims"  # a folder of templates in psrlm/prompts


class Launch(Strict):
    """How the training stages (base_model, sft, dpo) are started: the command before ``-m stages.<name>``.
    ``python`` runs one process; ``accelerate launch --config_file configs/accelerate/<file>.yaml`` runs
    one per GPU (and node), with the DeepSpeed config named by each trainer's ``deepspeed``."""

    train: str = Field("python", min_length=1)


class Params(Strict):
    seed: int = 0
    paths: Paths = Paths()
    prompts: Prompts = Prompts()
    problems: Problems
    model: ModelParams = ModelParams()
    pretrain: Pretrain
    sets: Sets
    sft: SFT
    generation: Generation = Generation()
    search: Search = Search()
    judge: Judge = Judge()
    pairs: PairRules = PairRules()
    grading: Grading = Grading()
    iterations: dict[str, Iteration]
    dpo: DPO
    launch: Launch = Launch()
    evaluate: Evaluate
    srlm: SRLM

    @model_validator(mode="after")
    def solution_chain(self):
        """The SRLM arm: its own chain from M1, names no other model has, slices within the search split
        (they may, and should, repeat the step arm's), evaluated by its own stage (not evaluate.models)."""
        arm = self.srlm.iterations
        for name, it in arm.items():
            if not NAME.match(name) or name in BASE_MODELS or name in self.iterations:
                raise ValueError(f"srlm.iterations: '{name}' is not a valid new model name (lowercase, not m0/m1 "
                                 "or a step iteration)")
            if it.parent != "m1" and it.parent not in arm:
                raise ValueError(f"srlm.iterations.{name}.parent: '{it.parent}' must be m1 or one of {sorted(arm)}")
            if it.first_problem + it.num_problems > self.problems.splits.search:
                raise ValueError(f"srlm.iterations.{name}: needs search problems up to "
                                 f"{it.first_problem + it.num_problems}, but problems.splits.search is "
                                 f"{self.problems.splits.search}")
            seen, cur = {name}, it.parent
            while cur != "m1":
                if cur in seen:
                    raise ValueError(f"srlm.iterations: the parents of '{name}' form a cycle")
                seen.add(cur)
                cur = arm[cur].parent
            if name in self.evaluate.models:
                raise ValueError(f"evaluate.models: '{name}' is evaluated by solution_evaluate (srlm.iterations)")
        return self

    @model_validator(mode="after")
    def iterations_form_a_chain(self):
        names = set(BASE_MODELS) | set(self.iterations)
        for name, it in self.iterations.items():
            if not NAME.match(name) or name in BASE_MODELS:
                raise ValueError(f"iterations: '{name}' is not a valid model name (lowercase, not m0/m1)")
            if it.parent not in names - {"m0"}:
                raise ValueError(
                    f"iterations.{name}.parent: '{it.parent}' does not exist "
                    f"(choose m1 or one of {sorted(self.iterations)})"
                )
        for name in self.iterations:  # every chain must reach m1 without a cycle
            seen, cur = {name}, self.iterations[name].parent
            while cur != "m1":
                if cur in seen:
                    raise ValueError(f"iterations: the parents of '{name}' form a cycle")
                seen.add(cur)
                cur = self.iterations[cur].parent
        spans = sorted((it.first_problem, it.first_problem + it.num_problems, n) for n, it in self.iterations.items())
        for (a0, a1, an), (b0, _, bn) in zip(spans, spans[1:]):
            if b0 < a1:
                raise ValueError(f"iterations: {an} and {bn} search overlapping problems (each iteration takes new ones)")
        if spans and spans[-1][1] > self.problems.splits.search:
            end, last = spans[-1][1], spans[-1][2]
            raise ValueError(
                f"iterations.{last}: needs search problems up to {end}, but problems.splits.search "
                f"is {self.problems.splits.search}"
            )
        if (gate := self.dpo.gate) is not None:
            end = gate.first_problem + gate.num_problems
            if end > self.problems.splits.search:
                raise ValueError(f"dpo.gate: needs search problems up to {end}, but problems.splits.search is "
                                 f"{self.problems.splits.search}")
            for n, it in (self.iterations | self.srlm.iterations).items():
                if it.first_problem < end and gate.first_problem < it.first_problem + it.num_problems:
                    raise ValueError(f"dpo.gate: problems [{gate.first_problem}, {end}) overlap those {n} searches "
                                     f"([{it.first_problem}, {it.first_problem + it.num_problems})); the gate "
                                     "takes problems no iteration searches")
        unknown = [m for m in self.evaluate.models if m not in names]
        if unknown:
            raise ValueError(f"evaluate.models: unknown model(s) {unknown}; known: {sorted(names)}")
        unknown = [m for m in self.evaluate.search_models if m not in self.evaluate.models]
        if unknown:
            raise ValueError(f"evaluate.search_models: {unknown} not in evaluate.models {self.evaluate.models}")
        real = self.problems.source == "real"
        splits, sets = self.problems.splits, self.sets
        if real and sets.ift_operations is not None:
            raise ValueError("sets.ift_operations: toy world only (problems.source: toy); null for real data")
        if sets.ift_other_steps is not None and (sets.ift_operations is None or min(sets.ift_other_steps) < 1):
            raise ValueError("sets.ift_other_steps: steps (1-based) of the problems ift_operations leaves out; "
                             "only with sets.ift_operations")
        if sets.ift_operations_from_step > 1 and sets.ift_operations is None:
            raise ValueError("sets.ift_operations_from_step: only with sets.ift_operations (null keeps every problem)")
        if sets.ift_other_problems and sets.ift_operations is None:
            raise ValueError("sets.ift_other_problems: only with sets.ift_operations (null keeps every problem)")
        if sets.ift_problems > splits.sft or (not real and sets.eft_train_problems > splits.sft):
            raise ValueError("sets: ift_problems and eft_train_problems must not exceed problems.splits.sft")
        if not real and splits.eft:
            raise ValueError("problems.splits.eft: real data only (the toy EFT takes the sft and test splits)")
        gsm8k_eft = real and "gsm8k" in self.problems.real.eft
        if real and splits.eft and not gsm8k_eft:
            raise ValueError("problems.splits.eft holds GSM8K problems for EFT, but problems.real.eft has no gsm8k")
        if gsm8k_eft and sets.eft_test_problems + sets.eft_train_problems > splits.eft:
            raise ValueError(f"sets: eft_test_problems + eft_train_problems = "
                             f"{sets.eft_test_problems + sets.eft_train_problems} GSM8K problems for EFT, but "
                             f"problems.splits.eft holds {splits.eft} (no other split gives EFT problems)")
        if real and self.model.base is None:
            raise ValueError("problems.source real needs model.base (a pretrained model); the tiny model "
                             "is pretrained on toy problems only")
        if real == ("toy_arith" in self.evaluate.tasks):
            raise ValueError("evaluate.tasks: toy_arith scores the toy test split; with problems.source real "
                             "use the benchmark tasks (gsm8k, math500, ...), and only toy_arith with toy")
        if real and self.judge.oracle:
            raise ValueError("judge.oracle: the oracle knows the toy world only (problems.source: toy)")
        if self.pairs.keep in ("proven", "exact") and (real or self.judge.mode != "explain" or self.judge.oracle
                                                        or self.sets.explanation != "verify"):
            raise ValueError(f"pairs.keep: {self.pairs.keep} reads the toy judge's verify explanation: it needs "
                             "problems.source toy, judge.mode explain, judge.oracle false and sets.explanation verify "
                             "(else set pairs.keep: all, the paper's rule)")
        if self.pairs.rewrites and (real or self.judge.mode != "explain" or self.judge.oracle
                                    or self.sets.explanation != "verify"):
            raise ValueError("pairs.rewrites reads the toy judge's verify explanation: it needs problems.source toy, "
                             "judge.mode explain, judge.oracle false and sets.explanation verify (else false)")
        if not real and self.model.base is None and self.problems.splits.pretrain < 1:
            raise ValueError("problems.splits.pretrain: the tiny model needs pretraining problems (>= 1)")
        if self.sft.prose_replay > self.problems.splits.pretrain:
            raise ValueError(f"sft.prose_replay: {self.sft.prose_replay} documents, but the pretrain split holds "
                             f"{self.problems.splits.pretrain} (problems.splits.pretrain)")
        if not real and self.sets.eft_test_problems > self.problems.splits.test:
            raise ValueError("sets.eft_test_problems must not exceed problems.splits.test")
        return self

    def iteration(self, name: str) -> Iteration:
        """A step iteration (``iterations``) or a solution-level one (``srlm.iterations``)."""
        found = self.iterations.get(name) or self.srlm.iterations.get(name)
        if found is None:
            raise ParamsError(f"unknown iteration '{name}' (params.yaml iterations: {sorted(self.iterations)}, "
                              f"srlm.iterations: {sorted(self.srlm.iterations)})")
        return found

    def solution_level(self, name: str) -> bool:
        """Whether ``name`` is a model of the SRLM arm (``srlm.iterations``)."""
        return name in self.srlm.iterations

    def answering(self, temperature: float | None = None, top_p: float | None = None) -> Params:
        """These params with the sampling of the search that answers problems (test time, validation), not the
        one that makes pairs: ``temperature`` / ``top_p``, else ``evaluate.search_temperature`` / ``search_top_p``,
        else ``search``'s own."""
        temperature = temperature if temperature is not None else self.evaluate.search_temperature
        top_p = top_p if top_p is not None else self.evaluate.search_top_p
        update = {k: v for k, v in {"temperature": temperature, "top_p": top_p}.items() if v is not None}
        return self.model_copy(update={"search": self.search.model_copy(update=update)}) if update else self

    # --- paths: the one place that names each artifact (tests/test_dag.py: dvc.yaml names the same) ---
    def problems_file(self, split: str) -> Path:
        return Path(self.paths.problems) / f"{split}.jsonl"

    def model_dir(self, name: str) -> Path:
        return Path(self.paths.models) / name

    def rollout_dir(self, iteration: str) -> Path:
        return Path(self.paths.rollouts) / iteration

    def pairs_file(self, iteration: str) -> Path:
        return Path(self.paths.pairs) / f"{iteration}.parquet"

    def eval_dir(self, model: str) -> Path:
        return Path(self.paths.eval) / model

    def answers_file(self, model: str) -> Path:
        """Every answer of the model's evaluation, graded (``schemas.AnswerEvalRow``)."""
        return self.eval_dir(model) / "answers.jsonl"

    def judged_file(self, model: str) -> Path:
        """Every held-out EFT pair the model judged (``schemas.JudgeEvalRow``)."""
        return self.eval_dir(model) / "judge.parquet"

    def report_dir(self) -> Path:
        return Path(self.paths.report)

    def task_problems_file(self, task: str) -> Path:
        """The problems of one task of ``evaluate.tasks``, which greedy evaluation and test-time search
        both answer: the test split for ``toy_arith``, ``bench-<task>`` for a benchmark."""
        return self.problems_file("test" if task == "toy_arith" else f"bench-{task}")

    def test_search_dir(self, model: str, task: str | None = None) -> Path:
        """The model's test-time search; with ``task``, that task's rollout tables inside it."""
        folder = Path(self.paths.eval) / f"{model}-search"
        return folder / task if task else folder

    def metrics_dir(self, kind: str) -> Path:
        return Path(self.paths.metrics) / kind

    def metrics_file(self, kind: str, name: str) -> Path:
        return self.metrics_dir(kind) / f"{name}.json"

    def timing_file(self, stage: str, *keys: str) -> Path:
        """Wall time of one run of a stage: ``timing/<stage>.json``, ``timing/<stage>-<key>.json``."""
        return self.metrics_file("timing", "-".join([stage, *keys]))

    def summary_file(self, suffix: str) -> Path:
        return Path(self.paths.metrics) / f"summary.{suffix}"

    def set_file(self, name: str) -> Path:
        return Path(self.paths.sets) / f"{name}.parquet"


def rollout_table(folder: str | Path, table: str) -> Path:
    """One table (``schemas.rollout.ROLLOUT_TABLES``) of a searched batch's folder: ``rollout_dir`` or
    ``test_search_dir`` (or a glob over them, such as ``<rollouts>/*``)."""
    return Path(folder) / f"{table}.parquet"


class ParamsError(ValueError):
    pass


def parse_params(raw: dict, source: str = "params") -> Params:
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        lines = []
        for e in err.errors():
            loc = ".".join(str(p) for p in e["loc"]) or "<top level>"
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see params.yaml for the known keys)"
            lines.append(f"  {loc}: {msg}")
        raise ParamsError(f"invalid {source}:\n" + "\n".join(lines)) from None


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found (run from the project root)") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level")
    return raw


def load_params(path: str | Path = DEFAULT_PARAMS) -> Params:
    """A complete params file (``params.yaml``, what DVC reads)."""
    return parse_params(read_yaml(path), source=str(path))


# --- profiles: the keys a setting changes, on top of the default ---------------------------------
PROFILES = Path(__file__).resolve().parents[1] / "profiles"
DEFAULT_PROFILE = PROFILES / "tiny-cpu.yaml"  # the embedded default, every key commented; params.yaml is a copy


def section(model: type[BaseModel], key: str) -> type[BaseModel] | None:
    """The model of ``key`` when it is a section of ``model`` (a mapping of known keys, such as ``search``
    or ``generation.vllm``); None for a value (a number, a list, a mapping of names such as ``iterations``)."""
    field = model.model_fields.get(key)
    kind = field.annotation if field else None
    return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def overlay(base: dict, changes: dict, model: type[BaseModel] = Params) -> dict:
    """``base`` with ``changes`` on top: a section merges key by key, any other value is replaced whole
    (a profile that names ``iterations`` or ``sets.corruptions`` gives all of them)."""
    out = dict(base)
    for key, value in changes.items():
        inner = section(model, key)
        if inner and isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = overlay(base[key], value, inner)
        else:
            out[key] = value
    return out


def is_profile(path: str | Path) -> bool:
    return Path(path).resolve().parent == PROFILES


def profile_raw(path: str | Path) -> dict:
    """The complete params of a profile (``profiles/<name>.yaml``): its keys on top of the default's."""
    return overlay(read_yaml(DEFAULT_PROFILE), read_yaml(path))


def load_profile(path: str | Path) -> Params:
    return parse_params(profile_raw(path), source=f"{path} (on top of {DEFAULT_PROFILE.name})")


def profile_text(path: str | Path) -> str:
    """The complete params file of a profile, as ``make profile`` writes it to ``params.yaml``: the
    default as it is (comments included); any other profile merged, headed by its own comments."""
    path = Path(path)
    if path.resolve() == DEFAULT_PROFILE:
        return DEFAULT_PROFILE.read_text(encoding="utf-8")
    notes = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        notes.append(line)
    head = [f"# Written by `make profile P={path.stem}`: profiles/{DEFAULT_PROFILE.name} (the default, every key",
            f"# explained) with profiles/{path.name} on top (the keys it changes, and why). Edit those, not",
            "# this file, or try a change with `dvc exp run -S key=value`.", "#", *notes, ""]
    return "\n".join(head) + "\n" + yaml.safe_dump(profile_raw(path), sort_keys=False, allow_unicode=True, width=110)


def main() -> None:
    import argparse

    cli = argparse.ArgumentParser(prog="python -m psrlm.params", description=(
        "Validate a params file. A profile (a file in profiles/) holds only the keys it changes and is "
        f"validated on top of the default (profiles/{DEFAULT_PROFILE.name})."))
    cli.add_argument("file", nargs="?", default=str(DEFAULT_PARAMS), help="default: params.yaml")
    cli.add_argument("--write", metavar="OUT", help="also write the complete, validated file to OUT "
                     "(make profile: params.yaml)")
    cli.add_argument("--sets", action="store_true", help="also print the sizes of its problem splits and of "
                     "IFT / EFT train / EFT test per source, computed from the data without a model (python -m "
                     "psrlm.sizes)")
    args = cli.parse_args()
    profile = is_profile(args.file)
    try:
        params = load_profile(args.file) if profile else load_params(args.file)
    except ParamsError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    chain = " -> ".join(["m0", "m1", *params.iterations])
    if params.srlm.iterations:
        chain += ", SRLM arm: m1 -> " + " -> ".join(params.srlm.iterations)
    print(f"{args.file}: valid ({chain})")
    if args.write:
        out = Path(args.write)
        text = profile_text(args.file) if profile else Path(args.file).read_text(encoding="utf-8")
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
        print(f"{out}: written")
    if args.sets:
        # a process of its own: every stage imports this module, and none should depend on the data-splitting
        # code the sizes run (tests/test_dag.py counts imports, lazy ones too)
        import subprocess

        sys.exit(subprocess.run([sys.executable, "-m", "psrlm.sizes", args.file]).returncode)


if __name__ == "__main__":
    main()
