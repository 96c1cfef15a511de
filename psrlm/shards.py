"""Per-problem resume: finished work is persisted as it goes, so a killed stage loses little.

A stage writes each batch of finished problems as a shard (a folder of Parquet tables, written to a
temp folder and renamed, so a shard is either whole or absent) under a partial folder named by a
fingerprint of everything the result depends on. A rerun with the same fingerprint skips the
problems in its shards; a rerun after any change of inputs starts clean. The partial folder sits
beside the stage's DVC output (which DVC deletes before a rerun) and is removed once the output is
complete.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from schemas.table import Row, atomic_dir, read_parquet, write_parquet


def fingerprint(*parts: object, files: list[Path] = ()) -> str:
    """A hash of JSON-able ``parts`` and of the name, size and modification time of ``files``
    (cheap for multi-GB checkpoints, and DVC rewrites a file whenever its content changes)."""
    h = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
    for f in sorted(files):
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def work_dir(output: Path, kind: str, key: str) -> Path:
    """``.<output>.<kind>-<key>`` beside ``output``: where a stage keeps the work a rerun may reuse.
    Folders of the same kind with another key (left by an attempt with other inputs) are removed."""
    root = output.with_name(f".{output.name}.{kind}-{key}")
    for stale in output.parent.glob(f".{output.name}.{kind}-*"):
        if stale != root:  # inputs changed since that attempt: its work is not reusable
            shutil.rmtree(stale, ignore_errors=True)
    return root


class ShardStore:
    def __init__(self, output: Path, key: str, tables: dict[str, type[Row]]):
        self.root = work_dir(output, "partial", key)
        self.tables = tables

    def load(self) -> dict[str, list[Row]]:
        """Every row of every complete shard, per table."""
        out: dict[str, list[Row]] = {name: [] for name in self.tables}
        for shard in sorted(self.root.glob("shard-*")):
            for name, model in self.tables.items():
                out[name].extend(read_parquet(shard / f"{name}.parquet", model))
        return out

    def write(self, rows: dict[str, list]) -> None:
        n = len(list(self.root.glob("shard-*")))
        with atomic_dir(self.root / f"shard-{n:06d}") as tmp:
            for name, model in self.tables.items():
                write_parquet(tmp / f"{name}.parquet", model, rows.get(name, []))

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
