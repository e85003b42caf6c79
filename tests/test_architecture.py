"""Dependencies point one way: geo_service → maps → matching → layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["layers", "matching", "maps", "geo_service"]
WEB = {"fastapi", "starlette", "uvicorn", "typer", "pydantic_settings"}
# layers/__init__.py switches GDAL's VRT driver off before pyogrio loads (see there);
# that is the one environment access allowed below geo_service.
ALLOWED = {("layers/__init__.py", "os.environ")}


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module.split(".")[0]))
            elif (
                isinstance(node, ast.Attribute)
                and node.attr == "environ"
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                found.add((str(path.relative_to(ROOT)), "os.environ"))
    return found


@pytest.mark.parametrize("package", ORDER[:-1])
def test_lower_packages_do_not_import_upper_ones_or_the_web(package: str) -> None:
    above = set(ORDER[ORDER.index(package) + 1 :])
    offending = sorted(
        (f, m)
        for f, m in _imports(package)
        if m in above | WEB | {"os.environ"} and (f, m) not in ALLOWED
    )
    assert offending == []


def _calls(package: str) -> set[tuple[str, str]]:
    """(file, dotted name) of every call in a package, e.g. ``audit.record``."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                name = owner.id if isinstance(owner, ast.Name) else "…"
                found.add((str(path.relative_to(ROOT)), f"{name}.{node.func.attr}"))
    return found


def test_every_write_goes_through_the_unit_of_work() -> None:
    """R27: no code of the service opens a raw write transaction or writes an audit row
    itself; every change is a ``store.change(...)`` (layers/store/change.py), which takes
    the locks in one order and checks the invariants inside them."""
    offending = sorted(
        (f, call)
        for package in ORDER
        for f, call in _calls(package)
        if (call.endswith(".transaction") or call == "audit.record")
        and f != "layers/store/change.py"
        and "migrations" not in f
    )
    assert offending == []
