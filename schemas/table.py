"""Reading and writing artifacts as validated rows.

Every artifact is a table of one row model (a pydantic ``Row``). Writers validate each row and then
write atomically (a temp file, then a rename), so a killed stage never leaves a half-written output;
``atomic_dir`` does the same for an output directory.
Readers check columns against the row model and validate every row, naming file, row and field when
something is off. JSONL readers name file and line.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import types
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)


class Row(BaseModel):
    """Base of every artifact row: unknown fields are errors, rows are immutable. ``unique_key`` names
    a field whose values must not repeat within one file (readers check it); ``unique_text`` a text
    field that must not repeat either (whitespace-normalised): a repeat is an error, or with
    ``duplicates="drop"`` a counted, logged drop."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    unique_key: ClassVar[str | None] = None
    unique_text: ClassVar[str | None] = None


R = TypeVar("R", bound=Row)


class ArtifactError(ValueError):
    """An artifact (input file or stage output) does not match its schema."""


def _polars_type(annotation: Any) -> pl.DataType:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union {annotation}")
        return _polars_type(args[0])
    if origin is list:
        (inner,) = typing.get_args(annotation)
        return pl.List(_polars_type(inner))
    if origin is typing.Literal:
        return pl.Utf8
    return {str: pl.Utf8, int: pl.Int64, float: pl.Float64, bool: pl.Boolean}[annotation]


def polars_schema(model: type[Row]) -> dict[str, pl.DataType]:
    return {name: _polars_type(f.annotation) for name, f in model.model_fields.items()}


def _format_error(where: str, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "<row>"
        parts.append(f"field '{field}': {e['msg']}")
    return f"{where}: " + "; ".join(parts)


def atomic_path(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@contextmanager
def atomic_dir(out: str | Path, *, main_process: bool = True) -> Iterator[Path]:
    """Write the directory ``out`` atomically: the body writes into the sibling ``.<name>.tmp`` that
    this yields (removed first if an earlier attempt left it; not created: the body creates it), and
    only when the body succeeds does it replace ``out``. A killed or failed body leaves ``out`` as it
    was and the temp folder behind (``.dvcignore`` keeps it out of every hash).

    ``main_process=False``: under several processes, one that writes into the temp folder but leaves
    clearing and renaming it to the main process (the caller keeps them in step with barriers).

        with atomic_dir(out) as tmp:
            write_parquet(tmp / "rows.parquet", Row, rows)
    """
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    if main_process:
        shutil.rmtree(tmp, ignore_errors=True)
    yield tmp
    if main_process:
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)


def write_parquet(path: str | Path, model: type[R], rows: Iterable[R | dict]) -> int:
    """Validate ``rows`` as ``model`` and write them to ``path`` atomically. Returns the row count."""
    path = Path(path)
    validated = [r if isinstance(r, model) else model.model_validate(r) for r in rows]
    frame = pl.DataFrame([r.model_dump() for r in validated], schema=polars_schema(model), orient="row")
    tmp = atomic_path(path)
    frame.write_parquet(tmp)
    os.replace(tmp, path)
    return len(validated)


Duplicates = Literal["error", "drop"]


def _validated(model: type[R], records: Iterable[tuple[str, str, dict]], duplicates: Duplicates | None = None) -> list[R]:
    """Validate ``(where, short where, record)`` triples as ``model``, checking ``model.unique_key``,
    and ``model.unique_text`` unless ``duplicates`` is None (see :class:`Row`; files people bring are
    checked, the pipeline's own tables are not)."""
    out: list[R] = []
    seen: dict[Any, str] = {}
    texts = TextRepeats(model.unique_text if duplicates else None, duplicates or "error")  # None: not checked
    for where, short, record in records:
        try:
            row = model.model_validate(record)
        except ValidationError as err:
            raise ArtifactError(_format_error(where, err)) from None
        if model.unique_key:
            key = getattr(row, model.unique_key)
            if key in seen:
                raise ArtifactError(f"{where}: duplicate {model.unique_key} {key!r} (first at {seen[key]})")
            seen[key] = short
        if texts.keep(getattr(row, texts.field) if texts.field else None, where, short):
            out.append(row)
    texts.report()
    return out


class TextRepeats:
    """The ``unique_text`` check: the same text twice (whitespace-normalised) is an error naming both
    places, or with ``duplicates="drop"`` the later one is skipped and counted."""

    def __init__(self, field: str | None, duplicates: Duplicates = "error"):
        self.field, self.duplicates, self.seen, self.dropped = field, duplicates, {}, []

    def keep(self, text: str | None, where: str, short: str) -> bool:
        if self.field is None or text is None:
            return True
        key = " ".join(text.split())
        if key not in self.seen:
            self.seen[key] = short
            return True
        if self.duplicates == "error":
            raise ArtifactError(f"{where}: same {self.field} as {self.seen[key]} (a repeated problem; "
                                f"problems.real.duplicates: drop skips and counts repeats)")
        self.dropped.append(where)
        return False

    def report(self) -> None:
        if self.dropped:
            log.warning("%d repeated %s dropped (first: %s)", len(self.dropped), self.field, self.dropped[0])


def read_parquet(path: str | Path, model: type[R]) -> list[R]:
    """Read ``path`` and validate every row as ``model``."""
    frame = read_frame(path, model)
    return _validated(model, ((f"{path}: row {i}", f"row {i}", r) for i, r in enumerate(frame.iter_rows(named=True))))


def read_frame(path: str | Path, model: type[Row]) -> pl.DataFrame:
    """Read ``path`` as a Polars frame after checking its columns match ``model`` exactly."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: file not found (expected a {model.__name__} table)")
    frame = pl.read_parquet(path)
    expected = set(model.model_fields)
    if set(frame.columns) != expected:
        missing, extra = sorted(expected - set(frame.columns)), sorted(set(frame.columns) - expected)
        raise ArtifactError(f"{path}: columns do not match {model.__name__}: missing {missing}, unexpected {extra}")
    return frame


def write_jsonl(path: str | Path, model: type[R], rows: Iterable[R | dict]) -> int:
    path = Path(path)
    tmp = atomic_path(path)
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            row = r if isinstance(r, model) else model.model_validate(r)
            f.write(row.model_dump_json() + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-blank line; errors name file and line."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: file not found")
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ArtifactError(f"{path}:{lineno}: not valid UTF-8 ({err.reason} at byte {err.start})") from None
            if lineno == 1:
                line = line.removeprefix("\ufeff")  # a byte order mark, as some Windows tools write UTF-8
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ArtifactError(f"{path}:{lineno}: malformed JSON ({err.msg} at column {err.colno})") from None
            if not isinstance(obj, dict):
                raise ArtifactError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
            yield lineno, obj


def read_jsonl(path: str | Path, model: type[R], *, duplicates: Duplicates = "error") -> list[R]:
    out = _validated(model, ((f"{path}:{n}", f"line {n}", obj) for n, obj in iter_jsonl(path)), duplicates)
    if not out:
        raise ArtifactError(f"{path}: no records (empty file)")
    return out


def write_json(path: str | Path, obj: Any) -> None:
    path = Path(path)
    tmp = atomic_path(path)
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
