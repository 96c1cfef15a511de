"""``dvc.yaml`` tells the truth about code: every project file a stage runs is one of its deps.

A stage's code is the transitive closure of the project modules its ``stages/<name>.py`` imports
(every ``import``, including those inside functions), plus the files those modules read: the SQL of
each ``query("<name>")`` call, the prompt templates (``psrlm/prompts``), the lm-eval task folders.
A file is covered when it, or a folder above it, is a declared dep. Declared code deps that the stage
does not run are reported too (they rerun it for nothing). Data deps (``${paths...}``) are not code
and are not checked here; ``test_pipeline`` checks what a params change reruns.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

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
    broken["pairs"]["do"]["deps"].append("psrlm/toy.py")
    assert gaps(broken)["pairs"] == {"missing": [], "unused": ["psrlm/toy.py"]}


def test_the_closure_follows_lazy_and_relative_imports():
    files = code_of("stages.problems")
    assert "psrlm/real/loaders.py" in files  # imported inside a function
    assert "schemas/table.py" in files  # through schemas/__init__.py
    assert "psrlm/queries/pairs.sql" in code_of("stages.pairs")
