"""DuckDB queries over the pipeline's Parquet artifacts. The SQL lives in ``psrlm/queries/*.sql``
(one file per question); this module only runs a file with its named Parquet inputs bound."""

from __future__ import annotations

from pathlib import Path

import polars as pl

QUERIES = Path(__file__).parent / "queries"


def query(name: str, **files: str | Path | list[str | Path]) -> pl.DataFrame:
    """Run ``queries/<name>.sql`` with ``$<key>`` bound to each given file path (a glob, or a list of
    paths); returns Polars."""
    import duckdb

    sql = (QUERIES / f"{name}.sql").read_text(encoding="utf-8")
    with duckdb.connect() as con:
        return con.sql(sql, params={k: [str(p) for p in v] if isinstance(v, list) else str(v) for k, v in files.items()}).pl()
