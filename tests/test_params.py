"""Invalid params fail before any work, with a message that names the field."""

import copy
import re
from pathlib import Path

import pytest
import yaml

from pydantic import BaseModel

from psrlm.params import (DEFAULT_PROFILE, Params, ParamsError, load_params, load_profile, overlay, parse_params,
                          profile_raw, profile_text, section)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((ROOT / "params.yaml").read_text())


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


def test_the_answering_search_samples_as_evaluate_says_and_the_rollouts_keep_theirs():
    assert "evaluate.search_top_p" in bad(lambda r: r["evaluate"].update(search_top_p=0.0))
    p = parse_params(copy.deepcopy(DEFAULT))
    assert p.answering(None, None) is p
    answering = p.answering(0.25, None)
    assert (answering.search.temperature, answering.search.top_p) == (0.25, p.search.top_p)
    assert answering.search.width == p.search.width and p.search.temperature == DEFAULT["search"]["temperature"]


def test_averaging_orders_needs_the_direct_judge_in_both_orders():
    assert "average_orders" in bad(lambda r: r["judge"].update(average_orders=True, mode="explain"))
    assert "average_orders" in bad(lambda r: r["judge"].update(average_orders=True, mode="direct", orders="one"))


@pytest.mark.parametrize("judge", [{"oracle": True}, {"mode": "direct"}])
def test_proven_pairs_need_the_toy_judges_explanation_and_say_how_to_do_without(judge):
    msg = bad(lambda r: r["judge"].update(judge))
    assert f"pairs.keep: {DEFAULT['pairs']['keep']} reads" in msg and "pairs.keep: all" in msg
    parse_params(copy.deepcopy(DEFAULT) | {"judge": DEFAULT["judge"] | judge, "pairs": {"keep": "all"}})
    msg = bad(lambda r: (r["judge"].update(judge), r["pairs"].update(keep="all", rewrites=True)))
    assert "pairs.rewrites reads" in msg


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


def test_the_gate_takes_problems_no_iteration_searches():
    msg = bad(lambda r: r["dpo"].update(gate={"first_problem": 1000, "num_problems": 300}))
    assert "dpo.gate" in msg and "m4" in msg
    msg = bad(lambda r: r["dpo"].update(gate={"first_problem": 1200, "num_problems": 301}))
    assert "dpo.gate" in msg and "problems.splits.search" in msg

    def srlm_overlaps(r):
        r["srlm"]["iterations"] = {"s2": {"parent": "m1", "first_problem": 0, "num_problems": 400},
                                   "s4": {"parent": "s2", "first_problem": 800, "num_problems": 500}}
        r["problems"]["splits"]["search"] = 1600
    assert "s4" in bad(srlm_overlaps)
    raw = copy.deepcopy(DEFAULT)
    raw["dpo"]["gate"] = None  # the paper's: no gate
    assert parse_params(raw).dpo.gate is None


def test_ift_operations_are_toy_only():
    def real(r):
        r["problems"]["source"] = "real"
        r["sets"]["ift_operations"] = ["add"]
    assert "ift_operations" in bad(real)
    assert "sets.ift_operations" in bad(lambda r: r["sets"].update(ift_operations=["div"]))
    assert "ift_other_problems" in bad(lambda r: r["sets"].update(ift_operations=None, ift_other_problems=5,
                                                                              ift_other_steps=None))
    assert "ift_other_problems" in bad(lambda r: r["sets"].update(ift_operations=["add"], ift_other_problems=-1))
    assert "ift_operations_from_step" in bad(lambda r: r["sets"].update(ift_operations=None, ift_other_problems=0,
                                                                       ift_other_steps=None, ift_operations_from_step=2))
    assert "sets.ift_operations_from_step" in bad(lambda r: r["sets"].update(ift_operations_from_step=0))
    assert "sets.ift_other_steps" in bad(lambda r: r["sets"].update(ift_other_steps=[0]))
    assert "sets.ift_other_steps" in bad(lambda r: r["sets"].update(ift_operations=None, ift_other_problems=0,
                                                                     ift_other_steps=[2]))


def test_prose_replay_takes_no_more_documents_than_the_pretrain_split_holds():
    assert "sft.prose_replay" in bad(lambda r: r["sft"].update(prose_replay=16001))
    assert "sft.prose_replay" in bad(lambda r: r["sft"].update(prose_replay=-1))
    raw = copy.deepcopy(DEFAULT)
    raw["sft"]["prose_replay"] = 16000
    assert parse_params(raw).sft.prose_replay == 16000


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
    """The embedded default lives twice: params.yaml (what DVC reads, and what `make profile` rewrites)
    and profiles/tiny-cpu.yaml (what the other profiles sit on, and what `make profile P=tiny-cpu`
    restores). Edit both, or switch back with that command."""
    assert (ROOT / "params.yaml").read_text() == DEFAULT_PROFILE.read_text()
    assert profile_text(DEFAULT_PROFILE) == DEFAULT_PROFILE.read_text()  # written as it is, comments too


# --- the model's defaults are params.yaml's values --------------------------------------------------
def required_only(model: type[BaseModel], raw: dict) -> dict:
    """The values of ``raw`` that ``model`` has no default for (sections followed)."""
    out = {}
    for key, field in model.model_fields.items():
        if field.is_required():
            inner = section(model, key)
            out[key] = required_only(inner, raw[key]) if inner else raw[key]
    return out


def differences(model: type[BaseModel], raw: dict, built: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in raw.items():
        inner = section(model, key)
        if inner and isinstance(value, dict):
            out += differences(inner, value, built[key], f"{prefix}{key}.")
        elif built[key] != value:
            out.append(f"{prefix}{key}: params.yaml {value!r}, model default {built[key]!r}")
    return out


def test_model_defaults_are_the_values_of_params_yaml():
    """Every key of params.yaml: a Params built from its required fields alone has the same value, so
    code that builds a section from defaults (``Search()``) runs the default setting."""
    built = Params.model_validate(required_only(Params, DEFAULT)).model_dump()
    assert not differences(Params, DEFAULT, built), "\n".join(differences(Params, DEFAULT, built))


def test_the_defaults_check_names_a_drifted_key():
    raw = copy.deepcopy(DEFAULT)
    raw["search"]["width"] = 4
    raw["sft"]["scheduler"] = "linear"  # each trainer section has its own defaults
    built = Params.model_validate(required_only(Params, DEFAULT)).model_dump()
    assert [d.split(":")[0] for d in differences(Params, raw, built)] == ["sft.scheduler", "search.width"]


# --- profiles: the keys they change, on top of the default -----------------------------------------
PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_every_profile_merges_and_validates(profile):
    load_profile(profile)
    # the merged file names every key the default does (dvc.yaml reads keys such as evaluate.tasks by name)
    assert not key_paths(DEFAULT) - key_paths(profile_raw(profile))
    # and make profile writes exactly the merged values
    assert yaml.safe_load(profile_text(profile)) == profile_raw(profile)


@pytest.mark.parametrize("profile", [p for p in PROFILES if p != DEFAULT_PROFILE], ids=lambda p: p.stem)
def test_a_profile_holds_only_its_differences(profile):
    def same(model, changes, base, prefix=""):
        for key, value in changes.items():
            inner = section(model, key)
            if inner and isinstance(value, dict) and isinstance(base.get(key), dict):
                yield from same(inner, value, base[key], f"{prefix}{key}.")
            elif key in base and base[key] == value and type(base[key]) is type(value):
                yield prefix + key
    assert not list(same(Params, yaml.safe_load(profile.read_text()), DEFAULT)), "keys equal to the default's"


def test_overlay_merges_sections_and_replaces_values():
    base = {"search": {"width": 6, "top_p": 0.95}, "evaluate": {"tasks": ["a", "b"]},
            "iterations": {"m2": {"parent": "m1"}, "m3": {"parent": "m2"}}, "sets": {"corruptions": {"a": 1, "b": 1}}}
    changes = {"search": {"width": 4}, "evaluate": {"tasks": ["c"]}, "iterations": {"m2": {"parent": "m1"}},
               "sets": {"corruptions": {"b": 2}}}
    assert overlay(base, changes) == {"search": {"width": 4, "top_p": 0.95}, "evaluate": {"tasks": ["c"]},
                                      "iterations": {"m2": {"parent": "m1"}}, "sets": {"corruptions": {"b": 2}}}


def test_an_invalid_profile_is_named_with_the_field(tmp_path):
    (tmp_path / "x.yaml").write_text("search: {width: 1}\n")
    with pytest.raises(ParamsError, match=r"x.yaml \(on top of tiny-cpu.yaml\):\n  search.width"):
        load_profile(tmp_path / "x.yaml")


def test_make_profile_validates_and_writes_the_complete_file(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "params.yaml"
    proc = subprocess.run([sys.executable, "-m", "psrlm.params", "profiles/smollm2-cpu.yaml", "--write", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert load_params(out) == load_profile(ROOT / "profiles" / "smollm2-cpu.yaml")
    assert yaml.safe_load(out.read_text()) == profile_raw(ROOT / "profiles" / "smollm2-cpu.yaml")
    assert out.read_text().startswith("# Written by `make profile P=smollm2-cpu`")


def key_paths(d: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in d.items():
        out.add(prefix + k)
        # mappings of names, not keys; dpo.gate: a value (a slice, or null in the real profiles)
        if isinstance(v, dict) and k not in ("iterations", "corruptions", "gate"):
            out |= key_paths(v, f"{prefix}{k}.")
    return out


def test_the_srlm_arm_through_dvc_set_params(tmp_path):
    """The README's `dvc exp run -S srlm.eft=true -S '+srlm.iterations.s2={...}' ...` switches the SRLM arm on:
    the params of the tiny-cpu-srlm profile. Overriding the whole mapping (`srlm.iterations={...}`) is refused
    by DVC's hydra, and `srlm.iterations={}` merges an empty mapping: a no-op."""
    from dvc.utils.hydra import apply_overrides

    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text())
    apply_overrides(path, ["srlm.iterations={}"])
    assert yaml.safe_load(path.read_text()) == DEFAULT
    readme = (ROOT / "README.md").read_text()
    flags = re.findall(r"-S '(\+srlm\.iterations\.s\d=\{[^}]*\})'", readme)
    assert len(flags) == 3 and "-S srlm.eft=true" in readme
    apply_overrides(path, ["srlm.eft=true", *flags])
    both = load_profile(ROOT / "profiles" / "tiny-cpu-srlm.yaml")
    assert load_params(path).srlm == both.srlm
