"""Loaders of the real math data, one per source (files and fields: ``../shared/data/README.md``).

Problem sources (GSM8K, MATH, MATH-500, AIME 2024, AMC 2023, Gaokao 2023 En, OlympiadBench) give
``schemas.Problem`` rows as dicts through ``load_problems``, their gold answer normalised once, on
load, by one function per format (``psrlm.real.answers``). ``solution`` keeps the source's reference
solution as written (GSM8K's calculator annotations included: the EFT perturbations check against
them); ``steps`` stay empty (``psrlm.real.ift`` splits solutions into steps). The step-labelled sets
(ProcessBench, PRMBench) and OpenAI's GSM8K model solutions give the rows of ``schemas.real``.

Every loader takes the data root (the folder holding ``gsm8k/``, ``math/``, ...). ``load_problems``
also takes ``hub=`` a Hugging Face dataset id with the same fields, read through
``datasets.load_dataset``. Bad input fails with an ``ArtifactError`` naming file, line and reason;
nothing is dropped silently.

    from psrlm.real.loaders import load_problems
    problems = load_problems("math500", "/work/shared/data")        # 500 dicts of Problem fields
"""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from psrlm.real.answers import (
    AnswerFormatError,
    amc_answer,
    gsm8k_answer,
    integer_answer,
    latex_answer,
    math_answer,
    olympiad_answer,
)
from schemas import LabelledSolution, ModelSolution, PerturbedSolution, Problem
from schemas.table import ArtifactError, Duplicates, Row, TextRepeats, _format_error, iter_jsonl

# (source, split) -> file under the data root
FILES = {
    ("gsm8k", "train"): "gsm8k/train.jsonl",
    ("gsm8k", "test"): "gsm8k/test.jsonl",
    ("math", "train"): "math/math_full_train.jsonl",
    ("math", "test"): "math/math_full_test.jsonl",
    ("math500", "test"): "math/math500_test.jsonl",
    ("aime24", "test"): "aime24/test.jsonl",
    ("amc23", "test"): "amc23/test.jsonl",
    ("gaokao2023en", "test"): "gaokao2023en/test.jsonl",
    ("olympiadbench", "test"): "olympiadbench/test.jsonl",
}
PROCESSBENCH_SUBSETS = ("gsm8k", "math", "olympiadbench", "omnimath")
PRMBENCH_FILE = "prmbench/prmtest_classified_subset400.jsonl"
GSM8K_MODEL_SOLUTIONS_FILE = "gsm8k/example_model_solutions.jsonl"
GSM8K_MODELS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")

log = logging.getLogger(__name__)


# Upstream defects, repaired on load so that counts match the README and every problem is gradable:
# (source, id in the source) -> (why, {field: (old, new)}): ``old`` "" means the field must be empty and
# becomes ``new``; otherwise ``old`` is replaced by ``new``. A repair that no longer applies is an error.
REPAIRS: dict[tuple[str, str], tuple[str, dict[str, tuple[str, str]]]] = {
    ("math", "train/number_theory/7115.json"): (
        "empty \\boxed{}; the solution shows that no number in the range is prime",
        {"solution": ("\\boxed{}", "\\boxed{0}")}),
    ("math", "train/number_theory/7117.json"): (
        "empty \\boxed{}; the solution shows that no P+n is prime",
        {"solution": ("\\boxed{}", "\\boxed{0}")}),
    ("gaokao2023en", "HMMT2023General_9"): (
        "empty answer, pasted at the end of the question instead",
        {"question": ("answers: $\\frac{3}{10}$", ""), "answer": ("", "$\\frac{3}{10}$")}),
    ("gaokao2023en", "052023SATS4_11"): (
        "empty answer, pasted at the end of the question instead",
        {"question": ("Answer: A", ""), "answer": ("", "A")}),
}


# ---- reading ----------------------------------------------------------------------------------------

Rows = Iterator[tuple[str, dict]]  # (where: "file:line", record)


def _jsonl_rows(path: Path) -> Rows:
    for lineno, obj in iter_jsonl(path):
        yield f"{path}:{lineno}", obj


def _json_array_rows(path: Path) -> Rows:
    """The items of a JSON array file, each named by the line its object starts on."""
    if not path.exists():
        raise ArtifactError(f"{path}: file not found")
    text = path.read_text(encoding="utf-8")
    try:
        items = json.loads(text)
    except json.JSONDecodeError as err:
        raise ArtifactError(f"{path}:{err.lineno}: malformed JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(items, list):
        raise ArtifactError(f"{path}:1: expected a JSON array of objects, got {type(items).__name__}")
    # a pretty-printed array of flat objects: the i-th line that opens an object starts item i
    opening = [n for n, line in enumerate(text.splitlines(), start=1) if line.lstrip().startswith("{")]
    line_of = opening if len(opening) == len(items) else None
    for i, obj in enumerate(items):
        where = f"{path}:{line_of[i]}" if line_of else f"{path}: item {i}"
        if not isinstance(obj, dict):
            raise ArtifactError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        yield where, obj


def _hub_rows(hub: str, split: str, config: str | None) -> Rows:
    try:
        import datasets

        table = datasets.load_dataset(hub, config, split=split)
    except Exception as err:  # noqa: BLE001 -- offline, unknown id, no such split: all one message
        raise ArtifactError(
            f"hub:{hub}: could not load split '{split}' through datasets.load_dataset "
            f"({type(err).__name__}: {str(err)[:200]}). Offline (HF_HUB_OFFLINE=1, no network)? "
            "Pass the local data root instead."
        ) from None
    for i, obj in enumerate(table):
        yield f"hub:{hub}[{split}] row {i}", dict(obj)


def _repaired(source: str, obj: dict, where: str) -> dict:
    key = (source, str(obj.get("unique_id", obj.get("id", ""))))
    if key not in REPAIRS:
        return obj
    why, fixes = REPAIRS[key]
    obj = dict(obj)
    for name, (old, new) in fixes.items():
        value = obj.get(name)
        if not isinstance(value, str) or (value != "" if old == "" else old not in value):
            raise ArtifactError(f"{where}: the repair of {key[1]} ({why}) no longer applies to field '{name}'")
        obj[name] = new if old == "" else value.replace(old, new, 1).strip()
    log.info("%s: repaired %s: %s", where, key[1], why)
    return obj


def _field(obj: dict, name: str, where: str, kind: type | tuple[type, ...] = str) -> Any:
    if name not in obj:
        raise ArtifactError(f"{where}: missing field '{name}'")
    value = obj[name]
    if not isinstance(value, kind):
        kinds = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ArtifactError(f"{where}: field '{name}' must be {kinds}, got {type(value).__name__}")
    return value


def _answer(normalise: Callable[[Any], str], value: Any, where: str, name: str) -> str:
    try:
        return normalise(value)
    except AnswerFormatError as err:
        raise ArtifactError(f"{where}: field '{name}': {err}") from None


def _validated(model: type[Row], where: str, /, **fields) -> Row:
    try:
        return model.model_validate(fields)
    except ValidationError as err:
        raise ArtifactError(_format_error(where, err)) from None


# ---- problems ---------------------------------------------------------------------------------------

def _gsm8k(obj: dict, where: str, i: int, split: str) -> dict:
    solution = _field(obj, "answer", where)
    return dict(id=f"{split}/{i}", problem=_field(obj, "question", where),
                answer=_answer(gsm8k_answer, solution, where, "answer"), solution=solution)


def _math(obj: dict, where: str, i: int, split: str) -> dict:
    solution = _field(obj, "solution", where)
    if "answer" in obj:  # MATH-500 states it (always the solution's last box); the full MATH does not
        answer = _answer(latex_answer, obj["answer"], where, "answer")
    else:
        answer = _answer(math_answer, solution, where, "solution")
    return dict(id=_field(obj, "unique_id", where), problem=_field(obj, "problem", where), answer=answer,
                solution=solution)


def _aime(obj: dict, where: str, i: int, split: str) -> dict:
    return dict(id=str(_field(obj, "id", where, (int, str))), problem=_field(obj, "problem", where),
                answer=_answer(integer_answer, _field(obj, "answer", where, (str, int)), where, "answer"),
                solution=obj.get("solution") or "")


def _amc(obj: dict, where: str, i: int, split: str) -> dict:
    return dict(id=str(_field(obj, "id", where, (int, str))), problem=_field(obj, "problem", where),
                answer=_answer(amc_answer, _field(obj, "answer", where, (float, int, str)), where, "answer"))


def _gaokao(obj: dict, where: str, i: int, split: str) -> dict:
    # no id field: the record's position (its "source" names an exam, not the problem)
    return dict(id=str(i), problem=_field(obj, "question", where),
                answer=_answer(latex_answer, _field(obj, "answer", where, (str, int, float)), where, "answer"))


def _olympiad(obj: dict, where: str, i: int, split: str) -> dict:
    question = _field(obj, "question", where)
    context = obj.get("context") if isinstance(obj.get("context"), str) else ""  # null in all 675
    solution = obj.get("solution") or []
    return dict(id=str(_field(obj, "id", where, (int, str))),
                problem=f"{context.strip()}\n\n{question}" if context.strip() else question,
                answer=_answer(olympiad_answer, _field(obj, "final_answer", where, (list, str)), where,
                               "final_answer"),
                solution="\n\n".join(solution) if isinstance(solution, list) else str(solution))


CONVERTERS = {"gsm8k": _gsm8k, "math": _math, "math500": _math, "aime24": _aime, "amc23": _amc,
              "gaokao2023en": _gaokao, "olympiadbench": _olympiad}


def load_problems(source: str, root: str | Path | None = None, split: str = "test", *,
                  hub: str | None = None, hub_config: str | None = None, duplicates: Duplicates = "error") -> list[dict]:
    """All problems of ``source``'s ``split`` as dicts of ``schemas.Problem`` fields. The same problem
    text twice is an error naming both lines, or with ``duplicates="drop"`` a counted drop.

    Reads ``root``/<file of the source> (``FILES``), or with ``hub`` the Hugging Face data set of that
    id (its records must carry the source's fields). Ids are ``<source>/<id in the source>``.
    """
    if source not in CONVERTERS:
        raise ValueError(f"unknown source '{source}' (known: {', '.join(CONVERTERS)})")
    if hub is not None:
        rows = _hub_rows(hub, split, hub_config)
    else:
        if (source, split) not in FILES:
            splits = [s for (name, s) in FILES if name == source]
            raise ValueError(f"source '{source}' has no split '{split}' (has: {', '.join(splits)})")
        if root is None:
            raise ValueError("pass the data root (the folder holding gsm8k/, math/, ...) or a hub id")
        rows = _jsonl_rows(Path(root) / FILES[(source, split)])
    out, seen, texts = [], {}, TextRepeats(Problem.unique_text, duplicates)
    for i, (where, obj) in enumerate(rows):
        fields = CONVERTERS[source](_repaired(source, obj, where), where, i, split)
        fields["id"] = f"{source}/{fields['id']}"
        if fields["id"] in seen:
            raise ArtifactError(f"{where}: duplicate id '{fields['id']}' (first at {seen[fields['id']]})")
        seen[fields["id"]] = where
        problem = _validated(Problem, where, source=source, **fields)
        if texts.keep(problem.problem, where, where):
            out.append(problem.model_dump())
    texts.report()
    if not out:
        raise ArtifactError(f"{source} ({split}): no records")
    return out


# ---- step-labelled solutions -------------------------------------------------------------------------

def load_processbench(root: str | Path, subset: str) -> list[dict]:
    """One ProcessBench subset (gsm8k 400, math / olympiadbench / omnimath 1,000 items)."""
    if subset not in PROCESSBENCH_SUBSETS:
        raise ValueError(f"unknown ProcessBench subset '{subset}' (known: {', '.join(PROCESSBENCH_SUBSETS)})")
    out = []
    for where, obj in _json_array_rows(Path(root) / "processbench" / f"{subset}.json"):
        out.append(_validated(
            LabelledSolution, where, id=_field(obj, "id", where), source=f"processbench/{subset}",
            generator=_field(obj, "generator", where), problem=_field(obj, "problem", where),
            steps=_field(obj, "steps", where, list), first_error=_field(obj, "label", where, int),
            final_answer_correct=_field(obj, "final_answer_correct", where, bool),
        ).model_dump())
    return out


def load_prmbench(root: str | Path) -> list[dict]:
    """All 394 PRMBench items (broken ones included: ``psrlm.real.eft.prmbench_defect`` names them)."""
    out = []
    for where, obj in _jsonl_rows(Path(root) / PRMBENCH_FILE):
        line = where.rsplit(":", 1)[-1]
        out.append(_validated(
            PerturbedSolution, where, id=f"prmbench/{line}", idx=_field(obj, "idx", where),
            problem=_field(obj, "question", where), original_question=_field(obj, "original_question", where),
            modified_question=_field(obj, "modified_question", where),
            original_steps=_field(obj, "original_process", where, list),
            modified_steps=_field(obj, "modified_process", where, list),
            error_steps=_field(obj, "error_steps", where, list), classification=_field(obj, "classification", where),
            reason=_field(obj, "reason", where),
        ).model_dump())
    return out


def load_gsm8k_model_solutions(root: str | Path) -> list[dict]:
    """OpenAI's 6B/175B solutions to the 1,319 GSM8K test problems (four per problem, ids as
    ``load_problems("gsm8k", root, "test")``)."""
    out = []
    for i, (where, obj) in enumerate(_jsonl_rows(Path(root) / GSM8K_MODEL_SOLUTIONS_FILE)):
        truth = _field(obj, "ground_truth", where)
        answer = re.search(r"^A:\s*(.+?)\s*$", truth, re.MULTILINE)
        if answer is None:
            raise ArtifactError(f"{where}: field 'ground_truth': no 'A: <answer>' line")
        for model in GSM8K_MODELS:
            raw = _field(obj, model, where, (str, dict))
            try:
                sample = ast.literal_eval(raw) if isinstance(raw, str) else raw
            except (ValueError, SyntaxError):
                raise ArtifactError(f"{where}: field '{model}' is not a stringified dict") from None
            if not isinstance(sample, dict):
                raise ArtifactError(f"{where}: field '{model}' must hold a dict, got {type(sample).__name__}")
            out.append(_validated(
                ModelSolution, f"{where} ({model})", problem_id=f"gsm8k/test/{i}",
                problem=_field(obj, "question", where), answer=answer.group(1).replace(",", ""), model=model,
                solution=sample.get("solution"), is_correct=sample.get("is_correct"),
            ).model_dump())
    return out
