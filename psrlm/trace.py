"""An opt-in trace of one stage run: the params keys it reads and the files it writes.

``PSRLM_TRACE=<file>`` (set by the smoke pipeline of the tests) makes ``psrlm.stage.run_stage`` append one
JSON line per stage run to ``<file>``::

    {"stage": "rollout@m2", "reads": ["generation.backend", "iterations.m2.parent", "paths.rollouts", ...],
     "writes": ["data/metrics/rollout/m2.json", ...], "removed": []}

``tests/test_dag.py`` checks it against ``dvc.yaml``: every key read is a declared param of the stage, every
file written lies in one of its outs. Off (the default), nothing here runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cache
from typing import get_args, get_origin

import psrlm.params
from psrlm.params import Params, Strict

TRACE = "PSRLM_TRACE"


class Trace:
    """What the stage reads of ``params`` and writes under the working directory, from now to :meth:`save`.

    Reads: every params section (a ``Strict`` model) is mapped to its dotted key; reading a field that holds
    a value records ``<section>.<field>`` (``search.width``, ``iterations.m2.parent``, ``paths.rollouts``),
    ``model_dump`` records the fields it dumps, a ``model_copy`` keeps its section's key. Looking up one
    entry of ``iterations`` (``[key]``, ``.get``, ``in``) reads only the fields read of that entry; going
    over the mapping (``for``, ``len``, ``items``) reads all of it. A ``Params`` parsed while tracing
    (``load_params()`` in lm-eval's task code) is traced too. Not seen: reads that use no attribute
    (``==``, ``hash``).

    Writes: files created, changed or removed between two snapshots (mtime, size, inode) of the tree
    outside ``SKIP``; a work folder made and removed in between leaves no trace.
    """

    SKIP = {".git", ".dvc", ".venv", "__pycache__"}

    def __init__(self, params: Params) -> None:
        self.reads: set[str] = set()
        self.keys: dict[int, str] = {}  # id(section) -> its dotted key
        self.sections: list[Strict] = []  # kept alive while traced, so that no id is reused
        self.before = self.files()
        self.add(params, "")
        self.parse, trace = psrlm.params.parse_params, self

        def parse_traced(*args, **kwargs) -> Params:
            return trace.add(trace.parse(*args, **kwargs), "")

        def read(section: Strict, name: str):
            value = object.__getattribute__(section, name)
            key = trace.keys.get(id(section))
            if key is None or name.startswith("_"):
                return value
            if name == "model_dump":
                return lambda **kw: trace.dumped(section, key, value, **kw)
            if name == "model_copy":
                return lambda **kw: trace.add(value(**kw), key)
            if name not in type(section).model_fields or isinstance(value, Strict):
                return value  # a method, or a section (its own fields record their reads)
            field = f"{key}.{name}".lstrip(".")
            if name in entries(type(section)):
                return Entries(value, field, trace.reads)
            trace.reads.add(field)
            return value

        psrlm.params.parse_params = parse_traced  # load_params() calls it
        Strict.__getattribute__ = read  # every section class inherits it

    def add(self, section: Strict, key: str) -> Strict:
        """Map ``section`` and every section inside it to their keys."""
        self.sections.append(section)
        self.keys[id(section)] = key
        for name, value in section.__dict__.items():
            inner = f"{key}.{name}".lstrip(".")
            if isinstance(value, Strict):
                self.add(value, inner)
            elif name in entries(type(section)):
                for entry, item in value.items():
                    self.add(item, f"{inner}.{entry}")
        return section

    def dumped(self, section: Strict, key: str, dump: Callable, **kwargs):
        fields = set(kwargs.get("include") or type(section).model_fields) - set(kwargs.get("exclude") or ())
        self.reads.update(f"{key}.{name}".lstrip(".") for name in fields)
        return dump(**kwargs)

    @classmethod
    def files(cls) -> dict[str, tuple[int, int, int]]:
        found = {}
        for folder, dirs, names in os.walk("."):
            dirs[:] = [d for d in dirs if d not in cls.SKIP]
            for name in names:
                path = os.path.join(folder, name)
                st = os.lstat(path)
                found[os.path.relpath(path)] = (st.st_mtime_ns, st.st_size, st.st_ino)
        return found

    def save(self, file: str | os.PathLike, stage: str) -> None:
        """Stop tracing and append the stage's record to ``file``."""
        psrlm.params.parse_params = self.parse
        del Strict.__getattribute__
        after = self.files()
        record = {"stage": stage, "reads": sorted(self.reads),
                  "writes": sorted(f for f, stat in after.items() if self.before.get(f) != stat),
                  "removed": sorted(set(self.before) - set(after))}
        with open(file, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


@cache
def entries(kind: type[Strict]) -> set[str]:
    """The fields of ``kind`` that map names to sections (``iterations: dict[str, Iteration]``)."""
    def of_sections(annotation) -> bool:
        value = get_args(annotation)[-1] if get_origin(annotation) is dict else None
        return isinstance(value, type) and issubclass(value, Strict)
    return {name for name, field in kind.model_fields.items() if of_sections(field.annotation)}


class Entries(dict):
    """A traced mapping of named sections: a lookup reads nothing by itself (the entry's fields record
    their reads); going over the mapping reads all of it."""

    def __init__(self, items: dict, key: str, reads: set[str]) -> None:
        super().__init__(items)
        self.key, self.reads = key, reads

    def __iter__(self):
        self.reads.add(self.key)
        return super().__iter__()

    def __len__(self):
        self.reads.add(self.key)
        return super().__len__()

    def keys(self):
        self.reads.add(self.key)
        return super().keys()

    def values(self):
        self.reads.add(self.key)
        return super().values()

    def items(self):
        self.reads.add(self.key)
        return super().items()
