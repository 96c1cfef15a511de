"""Training across processes: the GPU profiles validate, the DeepSpeed and accelerate configs build what
the trainers need, and step-wise DPO runs under ``accelerate launch`` with ZeRO-2 and ZeRO-3 on the CPU
(2 processes, gloo), the main process alone saving a model that loads and has moved.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from psrlm.params import load_profile

ROOT = Path(__file__).resolve().parents[1]
PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))
DEEPSPEED = sorted((ROOT / "configs" / "deepspeed").glob("*.json"))
ACCELERATE = sorted((ROOT / "configs" / "accelerate").glob("*.yaml"))


def config_files(command: str) -> list[str]:
    """The accelerate config files a launch command names (``--config_file X`` or the wrapper's argument)."""
    return re.findall(r"(configs/accelerate/[\w.-]+\.(?:yaml|sh))", command)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_profile_is_a_valid_params_file(profile):
    params = load_profile(profile)
    named = config_files(params.launch.train)
    assert all((ROOT / f).is_file() for f in named), params.launch.train


@pytest.mark.parametrize("profile", [p for p in PROFILES if p.name.startswith("qwen")], ids=lambda p: p.name)
def test_gpu_profile_trains_with_deepspeed_through_accelerate(profile):
    params = load_profile(profile)
    assert params.model.base and params.prompts.style == "paper"
    for cfg in (params.sft, params.dpo):
        assert cfg.precision == "bf16" and cfg.deepspeed and (ROOT / cfg.deepspeed).is_file()
    named = config_files(params.launch.train)
    assert named and all((ROOT / f).is_file() for f in named), params.launch.train


def test_profiles_exist():
    assert {p.name for p in PROFILES} >= {"qwen2.5-math-7b.yaml", "qwen2.5-math-72b.yaml"}


@pytest.fixture
def clean_deepspeed_state():
    """Building a trainer config with ``deepspeed=`` registers it globally (``from_pretrained`` would then
    use ZeRO-3's partitioned loading) and sets up accelerate's state: undo both for the next tests."""
    environ = dict(os.environ)
    yield
    from accelerate.state import AcceleratorState
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    unset_hf_deepspeed_config()
    AcceleratorState._reset_state(reset_partial_state=True)
    os.environ.clear()
    os.environ.update(environ)


@pytest.mark.parametrize("path", DEEPSPEED, ids=lambda p: p.name)
def test_deepspeed_config_builds_trl_configs(path, tmp_path, clean_deepspeed_state):
    """On a CPU the TRL configs build with ``use_cpu`` (what ``psrlm.training`` sets without a GPU)."""
    from psrlm.params import DPO, Train
    from psrlm.training import dpo_config, sft_config

    raw = json.loads(path.read_text())
    stage = raw["zero_optimization"]["stage"]
    if stage == 3:  # without it ZeRO-3 saves no weights (only the partitions)
        assert raw["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    assert "optimizer" not in raw and "scheduler" not in raw  # the HF trainer's, as configured in params
    for args in (sft_config(Train(learning_rate=1e-6, deepspeed=str(path)), tmp_path, seed=0),
                 dpo_config(DPO(learning_rate=5e-7, deepspeed=str(path)), tmp_path, seed=0)):
        assert args.deepspeed == str(path) and args.deepspeed_plugin.zero_stage == stage
        ds = args.hf_deepspeed_config.config  # the "auto" values, filled from the trainer config
        assert ds["train_micro_batch_size_per_gpu"] == args.per_device_train_batch_size
        assert ds["bf16"]["enabled"] is False  # fp32 params
        assert args.hf_deepspeed_config.is_zero3() == (stage == 3)
        del args


@pytest.mark.parametrize("path", ACCELERATE, ids=lambda p: p.name)
def test_accelerate_config_names_a_deepspeed_config(path):
    from accelerate.commands.config.config_args import load_config_from_file

    cfg = load_config_from_file(str(path))
    assert str(cfg.distributed_type) == "DistributedType.DEEPSPEED"
    assert (ROOT / cfg.deepspeed_config["deepspeed_config_file"]).is_file()
    if "cpu" in path.name:
        assert cfg.num_processes == 2 and cfg.num_machines == 1 and not cfg.use_cpu  # use_cpu: 1 process
    else:
        assert cfg.num_processes == 8 * cfg.num_machines and cfg.deepspeed_config["zero3_init_flag"]
        if cfg.num_machines > 1:
            assert cfg.deepspeed_config["deepspeed_multinode_launcher"] == "standard"


def test_srun_wrapper_starts_one_launch_per_node(tmp_path):
    """``configs/accelerate/srun-launch.sh`` with fake ``srun``/``scontrol``/``accelerate``: each node's
    launch gets its own rank, the first node's address, and the stage's arguments unchanged."""
    fake = {
        "srun": '#!/usr/bin/env bash\nwhile [[ $1 == --* ]]; do shift; done\n'
                'for id in 0 1; do SLURM_NODEID=$id "$@"; done\n',
        "scontrol": "#!/usr/bin/env bash\nprintf 'gpu-07\\ngpu-08\\n'\n",
        "accelerate": "#!/usr/bin/env bash\necho \"$*\"\n",
    }
    for name, text in fake.items():
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "SLURM_JOB_NODELIST": "gpu-[07-08]",
           "SLURM_JOB_NUM_NODES": "2"}
    out = subprocess.run([str(ROOT / "configs/accelerate/srun-launch.sh"), "configs/accelerate/zero3-multinode.yaml",
                          "-m", "stages.dpo", "m2"], env=env, capture_output=True, text=True, check=True).stdout
    common = ("launch --config_file configs/accelerate/zero3-multinode.yaml --num_machines 2 --num_processes 16 "
              "--machine_rank {} --main_process_ip gpu-07 --main_process_port 29500 -m stages.dpo m2")
    assert out.splitlines() == [common.format(0), common.format(1)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accelerate_launch(config: Path, args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    """``accelerate launch`` with 2 CPU processes: DeepSpeed on its CPU accelerator (gloo), one thread each."""
    env = {**os.environ, "DS_ACCELERATOR": "cpu", "DS_BUILD_OPS": "0", "OMP_NUM_THREADS": "1",
           "PSRLM_NO_PROGRESS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    cmd = [str(Path(sys.executable).parent / "accelerate"), "launch", "--config_file", str(config),
           "--main_process_port", str(free_port()), *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def max_difference(a, b) -> float:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    return max((sa[k].float() - sb[k].float()).abs().max().item() for k in sa)


@pytest.mark.pipeline
@pytest.mark.parametrize("zero", [2, 3])
def test_step_dpo_under_accelerate_deepspeed_on_two_cpu_processes(zero, tmp_path):
    from psrlm.modeling import load_model

    proc = accelerate_launch(ROOT / f"configs/accelerate/zero{zero}-cpu-2proc.yaml",
                             [str(ROOT / "tests/distributed_dpo_driver.py"), "--deepspeed",
                              f"configs/deepspeed/zero{zero}.json", "--out", str(tmp_path), "--steps", "3"], cwd=ROOT)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert "rank 0/2: global steps 3" in log and "rank 1/2: global steps 3" in log, log[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 3 and metrics["processes"] == 2
    # 8 pairs, 2 per process and step: 4 per step, so 3 steps are 1.5 epochs (the data was split, not repeated)
    assert "'epoch': '1.5'" in log
    model_dir = tmp_path / "model"
    assert sorted(p.name for p in model_dir.iterdir() if p.suffix in (".safetensors", ".bin")) == ["model.safetensors"]
    assert not list(tmp_path.glob(".model.tmp*"))
    trained, _ = load_model(model_dir)
    initial, _ = load_model(tmp_path / "initial")
    assert max_difference(trained, initial) > 1e-4  # the saved weights are the trained ones, gathered whole


@pytest.mark.pipeline
def test_dpo_stage_under_accelerate_zero3(tiny_lm, tmp_path):
    """``stages.dpo`` itself, launched as ``launch.train`` would launch it: 2 processes, ZeRO-3 (config
    first, partitioned loading, TRL's sharded reference model), the main process alone writing."""
    from psrlm.modeling import load_model, save_model
    from schemas import PreferencePair
    from schemas.table import write_parquet
    from tests.distributed_dpo_driver import preference_pairs

    model, tokenizer = tiny_lm
    models = tmp_path / "models"
    save_model(model, tokenizer, models / "m1")
    provenance = dict(chosen_wins=2, rejected_wins=0, round=0, n_distinct=2, model="m1")
    write_parquet(tmp_path / "pairs" / "m2.parquet", PreferencePair,
                  [p | provenance | {"problem_id": f"p{i // 2}", "position": i % 2}
                   for i, p in enumerate(preference_pairs(tokenizer))])
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["paths"] |= {"models": str(models), "pairs": str(tmp_path / "pairs"), "metrics": str(tmp_path / "metrics")}
    params["dpo"] |= {"max_steps": 2, "batch_size": 2, "logging_steps": 1, "save_steps": 0, "min_pairs": 1,
                      "gate": None, "deepspeed": "configs/deepspeed/zero3.json"}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (tmp_path / "configs").symlink_to(ROOT / "configs")

    proc = accelerate_launch(ROOT / "configs/accelerate/zero3-cpu-2proc.yaml", ["-m", "stages.dpo", "m2"], cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    metrics = json.loads((tmp_path / "metrics" / "train" / "m2.json").read_text())
    assert metrics["trained"] and metrics["steps"] == 2 and metrics["pairs"] == 8
    assert (tmp_path / "metrics" / "timing" / "dpo-m2.json").is_file()
    assert not list(models.glob(".m2.*"))  # checkpoints and the temp directory are gone
    m2, _ = load_model(models / "m2")
    m1, _ = load_model(models / "m1")
    assert max_difference(m2, m1) > 1e-4 and all(torch.isfinite(p).all() for p in m2.parameters())
