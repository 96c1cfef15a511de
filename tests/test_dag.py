"""``dvc.yaml`` tells the truth about code: every project file a stage runs is one of its deps.

A stage's code is the transitive closure of the project modules its ``stages/<name>.py`` imports
(every ``import``, including those inside functions), plus the files those modules read: the SQL of
each ``query("<name>")`` call, the prompt templates (``psrlm/prompts``), the lm-eval task folders.
A file is covered when it, or a folder above it, is a declared dep. Declared code deps that the stage
does not run are reported too (they rerun it for nothing). Data deps (``${paths...}``) are not code
and are not checked for coverage here (``test_pipeline`` checks what a params change reruns), but
their file names are: every path ``dvc.yaml`` spells inside a ``paths`` folder is one that the
``psrlm.params`` helpers build, so the code and the DAG name each file the same way. Params and outs are
checked against what the stages read and write in the smoke run (``trace_gaps`` at the end of this file,
run by ``tests/test_trace.py``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from psrlm.params import profile_raw

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("psrlm", "schemas", "stages")
# files a module reads at run time, beside its imports
READS = {
    "psrlm/prompts/__init__.py": ["psrlm/prompts"],
    "psrlm/evaluation.py": ["psrlm/lm_eval_tasks"],
}
QUERY = re.compile(r"""\bquery\(\s*["'](\w+)["']""")
FUNCTION = re.compile(r"!function ((?:psrlm|schemas)(?:\.\w+)+)\.\w+")


def _module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _imports(path: Path) -> set[str]:
    rel = path.relative_to(ROOT).with_suffix("").parts
    package = rel[:-1]  # for "from . import x"; a package's __init__ is its own package
    if path.name == "__init__.py":
        package = rel[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return {n for n in names if n.split(".")[0] in PACKAGES}


def code_of(module: str) -> set[str]:
    """Every project file that ``python -m <module>`` runs or reads (paths relative to the root)."""
    seen: set[Path] = set()
    reads: set[str] = set()
    todo = [_module_file(module)]
    while todo:
        path = todo.pop()
        if path is None or path in seen:
            continue
        seen.add(path)
        text = path.read_text(encoding="utf-8")
        names = _imports(path) if path.suffix == ".py" else set()
        names.update(FUNCTION.findall(text))  # lm-eval YAML: custom_dataset: !function psrlm.real.benchmarks.x
        for name in names:
            parts = name.split(".")
            todo.extend(_module_file(".".join(parts[: i + 1])) for i in range(len(parts)))  # packages run too
        rel = str(path.relative_to(ROOT))
        reads.update(f"psrlm/queries/{q}.sql" for q in QUERY.findall(text))
        for folder in READS.get(rel, []):
            reads.add(folder)
            todo.extend(f for f in sorted((ROOT / folder).rglob("*")) if f.is_file() and "__pycache__" not in f.parts)
    return {str(p.relative_to(ROOT)) for p in seen} | reads


def stage_module(stage: dict) -> str:
    match = re.search(r"-m (stages\.\w+)", stage["cmd"])
    assert match, f"cannot tell the module of {stage['cmd']!r}"
    return match.group(1)


def code_deps(stage: dict) -> list[str]:
    return [d for d in stage.get("deps", []) if not d.startswith("${")]


def covered(file: str, deps: list[str]) -> bool:
    return any(file == d or file.startswith(d.rstrip("/") + "/") for d in deps)


def gaps(stages: dict) -> dict[str, dict[str, list[str]]]:
    """Per stage: code it runs that is not declared (``missing``), declared code it does not run (``unused``)."""
    out = {}
    for name, stage in stages.items():
        stage = stage.get("do", stage)  # foreach stages: the template
        runs, deps = code_of(stage_module(stage)), code_deps(stage)
        missing = sorted(f for f in runs if not covered(f, deps))
        unused = sorted(d for d in deps if not any(covered(f, [d]) for f in runs))
        if missing or unused:
            out[name] = {"missing": missing, "unused": unused}
    return out


@pytest.fixture(scope="module")
def stages() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def test_every_stage_declares_exactly_the_code_it_runs(stages):
    found = gaps(stages)
    assert not found, "dvc.yaml deps do not match the code the stages run:\n" + yaml.safe_dump(found, sort_keys=True)


def test_the_check_catches_a_removed_dep(stages):
    """Remove one code dep from a copy of ``dvc.yaml``: the check names the stage and the file."""
    broken = yaml.safe_load(yaml.safe_dump(stages))
    broken["rollout"]["do"]["deps"].remove("psrlm/judge.py")
    assert gaps(broken) == {"rollout": {"missing": ["psrlm/judge.py"], "unused": []}}
    broken["pairs"]["do"]["deps"].append("psrlm/search.py")
    assert gaps(broken)["pairs"] == {"missing": [], "unused": ["psrlm/search.py"]}


def test_the_closure_follows_lazy_and_relative_imports():
    files = code_of("stages.problems")
    assert "psrlm/real/loaders.py" in files  # imported inside a function
    assert "schemas/table.py" in files  # through schemas/__init__.py
    assert "psrlm/queries/pairs.sql" in code_of("stages.pairs")


# --- file names: what dvc.yaml spells is what the params helpers build ------------------------------
# The names stay in code (psrlm/params.py) rather than in a `files:` section of params.yaml: dvc.yaml can
# only substitute values, so a pattern such as timing/<stage>-<key>.json would still be spelled there,
# and names that are not knobs would become params DVC tracks. This test ties the two spellings.
INTERPOLATION = re.compile(r"\$\{([\w.]+)\}")


def lookup(context: dict, name: str):
    for part in name.split("."):
        context = context[part]
    return context


def resolve(text: str, context: dict) -> str:
    return INTERPOLATION.sub(lambda m: str(lookup(context, m.group(1))), text)


def instances(name: str, stage: dict, raw: dict):
    """``(stage@item, template, context)`` for every stage DVC makes of a ``dvc.yaml`` entry."""
    if "foreach" not in stage:
        yield name, stage, raw
        return
    items = lookup(raw, INTERPOLATION.fullmatch(stage["foreach"]).group(1))
    for key, item in (items.items() if isinstance(items, dict) else ((i, i) for i in items)):
        yield f"{name}@{key}", stage["do"], {**raw, "key": key, "item": item}


def paths_of(entries: list) -> list[str]:
    return [e if isinstance(e, str) else next(iter(e)) for e in entries]


def data_deps(stage: dict) -> list[str]:
    return [d for d in stage.get("deps", []) if d.startswith("${")]


def helper_files(p) -> set[str]:
    """Every path the ``Params`` helpers build for the models, iterations, splits and tasks of ``p``."""
    from psrlm.params import BASE_MODELS, Splits

    files = {getattr(p.paths, folder) for folder in type(p.paths).model_fields}
    files |= {p.problems_file(s) for s in [*Splits.model_fields, *(f"bench-{t}" for t in p.evaluate.tasks)]}
    files |= {p.set_file(s) for s in ("ift", "eft_train", "eft_test", "solution_eft_train")}
    files |= {p.metrics_dir(kind) for kind in ("train", "rollout", "eval", "pairs")}
    files |= {p.summary_file(s) for s in ("json", "md")} | {p.report_dir()}
    for m in [*BASE_MODELS, *p.iterations, *p.srlm.iterations]:
        files |= {p.model_dir(m), p.eval_dir(m), p.test_search_dir(m), p.metrics_file("train", m),
                  p.metrics_file("eval", m), p.metrics_file("eval", f"{m}-search")}
    for k in [*p.iterations, *p.srlm.iterations]:
        files |= {p.rollout_dir(k), p.pairs_file(k), p.metrics_file("rollout", k), p.metrics_file("pairs", k)}
    return {str(f) for f in files}


def misnamed(stages: dict, raw: dict | None = None) -> list[str]:
    """Data paths of ``dvc.yaml`` (deps, outs, metrics; every foreach item) that no helper builds, and
    stages whose wall-time metric is not the one ``psrlm/stage.py`` writes (``Params.timing_file``).
    ``raw``: the params (default: ``params.yaml``)."""
    from psrlm.params import parse_params

    raw = raw if raw is not None else yaml.safe_load((ROOT / "params.yaml").read_text())
    p = parse_params(raw)
    named, timing = helper_files(p), str(p.metrics_dir("timing")) + "/"
    wrong = []
    for name, stage in stages.items():
        for instance, template, context in instances(name, stage, raw):
            module, *args = resolve(template["cmd"], context).split("-m ", 1)[1].split()
            files = [resolve(f, context) for f in [*data_deps(template), *paths_of(template.get("outs", [])),
                                                   *paths_of(template.get("metrics", []))]]
            expected = str(p.timing_file(module.removeprefix("stages."), *args))
            if [f for f in files if f.startswith(timing)] != [expected]:
                wrong.append(f"{instance}: its timing is not {expected}")
            wrong += [f"{instance}: {f}" for f in files if not f.startswith(timing) and f not in named]
    return wrong


def test_dvc_yaml_spells_the_file_names_of_the_params_helpers(stages):
    found = misnamed(stages)
    assert not found, "dvc.yaml names files the params helpers do not:\n" + "\n".join(found)


def test_the_srlm_arm_spells_the_file_names_of_the_params_helpers(stages):
    """The SRLM arm's stages exist only when ``srlm.iterations`` names iterations (both arms, as the README's
    experiment runs them; the default has none)."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert not list(instances("solution_rollout", stages["solution_rollout"], raw))
    raw["srlm"] = profile_raw(ROOT / "profiles" / "tiny-cpu-srlm.yaml")["srlm"]
    found = misnamed(stages, raw)
    assert not found, "dvc.yaml names files the params helpers do not:\n" + "\n".join(found)
    assert {i for n in ("solution_rollout", "solution_dpo") for i, *_ in instances(n, stages[n], raw)} == {
        "solution_rollout@s2", "solution_rollout@s3", "solution_rollout@s4", "solution_dpo@s2", "solution_dpo@s3",
        "solution_dpo@s4"}


def test_the_file_name_check_catches_a_misspelling(stages):
    broken = yaml.safe_load(yaml.safe_dump(stages))
    broken["pairs"]["do"]["outs"] = ["${paths.pairs}/${key}.pq"]
    broken["dpo"]["do"]["metrics"][1] = {"${paths.metrics}/timing/dpo_${key}.json": {"cache": False}}
    found = misnamed(broken)
    assert "pairs@m2: data/pairs/m2.pq" in found
    assert "dpo@m3: its timing is not data/metrics/timing/dpo-m3.json" in found


def test_the_plots_are_files_the_report_stage_writes():
    """``plots`` in dvc.yaml names files of ``paths.report`` that ``stages/report.py`` writes by name."""
    from psrlm.params import load_params

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    report = load_params(ROOT / "params.yaml").report_dir()
    written = {node.value for node in ast.walk(ast.parse((ROOT / "stages/report.py").read_text()))
               if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    plotted = []
    for plot in yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]:
        plotted += [plot] if isinstance(plot, str) else list(next(iter(plot.values()))["y"])
    plotted = [Path(resolve(f, params)) for f in plotted]
    assert plotted and all(f.parent == report and f.name in written for f in plotted), plotted


# --- params and outs: what a stage run reads and writes is what dvc.yaml declares --------------------
# The smoke pipeline runs every stage with PSRLM_TRACE set (tests/conftest.py, `project`): each run
# records the params keys it read and the files it wrote (psrlm/trace.py); tests/test_trace.py checks
# that record with `trace_gaps`. A key read is declared when it, or a section above it, is one of the stage's
# `params`, or is spelled into its cmd, deps or outs (`${paths.rollouts}`, `${item.parent}` of rollout@m2 =
# `iterations.m2.parent`, `${launch.train}`): a change there changes the stage itself, so DVC reruns it.
# `paths.<x>` is thus declared by the stage's data deps and outs, never in `params`; `seed` is a param like
# any other. Declared params a run did not read are not reported: many are read on one branch only (real
# data, M0's judge shots, DPO with pairs), which one smoke run cannot take.
GUARDS = {  # read only to refuse a model the stage is not made for (by hand: python -m stages.evaluate m9);
    # declared, adding a model to the list would rerun every other model's evaluation
    "evaluate": {"evaluate.models"},
    "solution_evaluate": {"evaluate.models"},
    "test_search": {"evaluate.search_models"},
}


def contract(name: str, stage: dict, template: dict, context: dict) -> tuple[set[str], list[str]]:
    """The params keys a stage instance declares, and the files and folders it declares it writes."""
    written = [f for kind in ("outs", "metrics", "plots") for f in paths_of(template.get(kind, []))]
    params = {resolve(p, context) for p in template.get("params", []) if isinstance(p, str)} | GUARDS.get(name, set())
    for key in INTERPOLATION.findall(" ".join([template["cmd"], *template.get("deps", []), *written])):
        if key.startswith("item."):  # a field of this instance's entry of the foreach mapping
            source = INTERPOLATION.fullmatch(stage["foreach"]).group(1)
            params.add(f"{source}.{context['key']}.{key.removeprefix('item.')}")
        elif key not in ("key", "item"):
            params.add(key)
    return params, [resolve(f, context) for f in written]


def declares(key: str, params: set[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in params)


def trace_gaps(stages: dict, raw: dict, runs: list[dict]) -> dict[str, dict[str, list[str]]]:
    """Per traced stage run (``psrlm.trace``): params keys it read that it does not declare, files it wrote
    or removed outside its declared outs (outs, metrics, plots), declared outs it did not write."""
    declared = {i: contract(name, stage, template, context)
                for name, stage in stages.items() for i, template, context in instances(name, stage, raw)}
    out = {}
    for run in runs:
        if run["stage"] not in declared:
            out[run["stage"]] = {"not a stage of dvc.yaml": []}
            continue
        params, outs = declared[run["stage"]]
        found = {"params read, not declared": sorted(k for k in run["reads"] if not declares(k, params)),
                 "written outside its outs": sorted(f for f in run["writes"] + run["removed"] if not covered(f, outs)),
                 "outs not written": sorted(o for o in outs if not any(covered(f, [o]) for f in run["writes"]))}
        if any(found.values()):
            out[run["stage"]] = {k: v for k, v in found.items() if v}
    return out


def test_the_trace_check_catches_a_removed_param_and_out(stages):
    """A hand-made trace of ``pairs@m2``: it matches ``dvc.yaml``; a copy without the param or the out fails."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    run = {"stage": "pairs@m2", "reads": ["iterations.m2.parent", "pairs.keep", "paths.metrics", "paths.pairs",
                                          "paths.rollouts"],
           "writes": ["data/metrics/pairs/m2.json", "data/metrics/timing/pairs-m2.json", "data/pairs/m2.parquet"],
           "removed": []}
    assert trace_gaps(stages, raw, [run]) == {}
    broken = yaml.safe_load(yaml.safe_dump(stages))
    broken["pairs"]["do"]["params"].remove("iterations.${key}")
    assert trace_gaps(broken, raw, [run]) == {"pairs@m2": {"params read, not declared": ["iterations.m2.parent"]}}
    broken = yaml.safe_load(yaml.safe_dump(stages))
    broken["pairs"]["do"]["outs"] = ["${paths.pairs}/${key}.pq"]
    assert trace_gaps(broken, raw, [run]) == {"pairs@m2": {"written outside its outs": ["data/pairs/m2.parquet"],
                                                           "outs not written": ["data/pairs/m2.pq"]}}
    assert trace_gaps(stages, raw, [{**run, "removed": ["data/sets/ift.parquet"]}]) == {
        "pairs@m2": {"written outside its outs": ["data/sets/ift.parquet"]}}
    assert trace_gaps(stages, raw, [{**run, "stage": "pairs@m9"}]) == {"pairs@m9": {"not a stage of dvc.yaml": []}}
