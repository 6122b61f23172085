"""Benchmarks are tools beside the product, not tests: no module under `bench/` imports `tests`,
so the stack helpers they share with the integration tests live in the core."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_bench_module_imports_tests() -> None:
    offenders = {
        path.name: sorted(name for name in imported_modules(path) if name == "tests" or name.startswith("tests."))
        for path in sorted((ROOT / "bench").rglob("*.py"))
    }
    assert {name: found for name, found in offenders.items() if found} == {}
