"""SuiteQL in the sandbox: a query is parsed as Oracle SQL (sqlglot), refused unless it is one
`SELECT` over the tables the sandbox holds (`transaction`, `transactionline`, `item`,
`location`, `currency`, `inventoryitemlocations`), translated to SQLite and run against an in-memory SQLite
database filled from the account's records, so any query a client writes over those tables is
answered as written, not matched against a fixed string. Rows come back as NetSuite's query
service gives them: lower-case column names, values as strings, nulls left out."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlglot
from sqlglot import exp

TABLES: dict[str, tuple[str, ...]] = {
    "item": ("id", "itemid", "externalid", "displayname", "itemtype"),
    "location": ("id", "name"),
    "currency": ("id", "name", "symbol"),
    "transaction": (
        "id",
        "type",
        "tranid",
        "trandate",
        "status",
        "externalid",
        "currency",
        "entity",
        "createddate",
        "lastmodifieddate",
    ),
    "transactionline": (
        "id",
        "transaction",
        "linesequencenumber",
        "item",
        "quantity",
        "location",
        "createdfrom",
        "mainline",
        "isclosed",
    ),
    "inventoryitemlocations": ("item", "location", "quantityonhand", "quantitycommitted", "quantityavailable"),
}


class QueryError(Exception):
    """A query NetSuite would refuse (400 INVALID_PARAMETER), with its reason."""


def _str_to_time(value: str | None, fmt: str | None) -> str | None:
    """TO_TIMESTAMP / TO_DATE as sqlglot writes them for SQLite: the time as the sandbox stores
    times (`YYYY-MM-DD HH:MM:SS`), so comparisons are textual and exact."""
    if value is None or fmt is None:
        return None
    try:
        return datetime.strptime(value, fmt).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError as exc:
        raise sqlite3.OperationalError(f"bad time {value!r}: {exc}") from None


def translate(query: str) -> str:
    """The SQLite of one SuiteQL `SELECT`; `QueryError` for anything else."""
    try:
        statements = [s for s in sqlglot.parse(query, read="oracle") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise QueryError(f"Invalid search query. Detailed unprocessed description follows. {exc}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise QueryError("Invalid search query. Only one SELECT statement is allowed.")
    tree = statements[0]
    for table in tree.find_all(exp.Table):
        if table.name.lower() not in TABLES:
            raise QueryError(f"Invalid search query. Search error occurred: Record '{table.name}' was not found.")
    return tree.sql(dialect="sqlite", identify=True)


def run(query: str, rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> list[dict[str, str]]:
    """Every row `query` selects from the tables `rows` fills."""
    sql = translate(query)
    db = sqlite3.connect(":memory:")
    try:
        db.create_function("STR_TO_TIME", 2, _str_to_time, deterministic=True)
        for name, columns in TABLES.items():
            quoted = ", ".join(f'"{c}"' for c in columns)
            db.execute(f'CREATE TABLE "{name}" ({quoted})')
            values = [tuple(r.get(c) for c in columns) for r in rows.get(name, ())]
            db.executemany(f'INSERT INTO "{name}" VALUES ({", ".join("?" for _ in columns)})', values)
        try:
            cursor = db.execute(sql)
        except sqlite3.Error as exc:
            raise QueryError(f"Invalid search query. Search error occurred: {exc}") from None
        names: Sequence[str] = [d[0].lower() for d in cursor.description]
        return [
            {name: _text(value) for name, value in zip(names, row, strict=True) if value is not None}
            for row in cursor.fetchall()
        ]
    finally:
        db.close()


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
