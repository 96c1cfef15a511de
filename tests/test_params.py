"""Invalid params fail before any work, with a message that names the field."""

import copy
from pathlib import Path

import pytest
import yaml

from psrlm.params import ParamsError, load_params, parse_params

DEFAULT = yaml.safe_load(open("params.yaml"))


def bad(mutate):
    raw = copy.deepcopy(DEFAULT)
    mutate(raw)
    with pytest.raises(ParamsError) as err:
        parse_params(raw)
    return str(err.value)


def test_default_params_are_valid():
    p = load_params("params.yaml")
    assert p.iterations and p.evaluate.models[0] == "m0"


def test_width_below_two():
    assert "search.width" in bad(lambda r: r["search"].update(width=1))


def test_negative_temperature():
    assert "search.temperature" in bad(lambda r: r["search"].update(temperature=-0.1))


def test_averaging_orders_needs_the_direct_judge_in_both_orders():
    assert "average_orders" in bad(lambda r: r["judge"].update(average_orders=True, mode="explain"))
    assert "average_orders" in bad(lambda r: r["judge"].update(average_orders=True, mode="direct", orders="one"))


def test_unknown_key_is_named():
    msg = bad(lambda r: r["search"].update(widht=4))
    assert "search.widht" in msg and "unknown key" in msg


def test_parent_must_exist():
    msg = bad(lambda r: r["iterations"]["m3"].update(parent="m9"))
    assert "iterations.m3.parent" in msg and "m9" in msg


def test_parent_cycle():
    def cycle(r):
        r["iterations"]["m2"]["parent"] = "m3"
    assert "cycle" in bad(cycle)


def test_overlapping_problem_ranges():
    assert "overlapping" in bad(lambda r: r["iterations"]["m3"].update(first_problem=0))


def test_wrong_type():
    assert "search.max_steps" in bad(lambda r: r["search"].update(max_steps="many"))


def test_evaluated_model_must_exist():
    assert "evaluate.models" in bad(lambda r: r["evaluate"].update(models=["m0", "m7"]))


def test_stage_exits_with_message_before_work(tmp_path, monkeypatch):
    import subprocess
    import sys
    from pathlib import Path

    raw = copy.deepcopy(DEFAULT)
    raw["search"]["width"] = 0
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "stages.problems"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    assert "search.width" in proc.stderr
    assert not (tmp_path / "data").exists()  # no work was done


def test_params_yaml_is_the_tiny_cpu_profile():
    """The embedded default lives twice: params.yaml (what DVC reads) and profiles/tiny-cpu.yaml (what
    `make profile P=tiny-cpu` restores). Edit both, or switch back with that command."""
    root = Path(__file__).resolve().parents[1]
    assert (root / "params.yaml").read_text() == (root / "profiles" / "tiny-cpu.yaml").read_text()
    default = yaml.safe_load((root / "params.yaml").read_text())
    for profile in sorted((root / "profiles").glob("*.yaml")):
        load_params(profile)  # every profile validates
        # and names every key the default does (dvc.yaml reads keys such as evaluate.tasks by name)
        assert not key_paths(default) - key_paths(yaml.safe_load(profile.read_text())), profile.name


def key_paths(d: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in d.items():
        out.add(prefix + k)
        if isinstance(v, dict) and k not in ("iterations", "corruptions"):  # mappings of names, not keys
            out |= key_paths(v, f"{prefix}{k}.")
    return out
