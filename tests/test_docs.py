"""The field documentation is the schema, not a copy that drifts from it."""

from __future__ import annotations

from pathlib import Path

from layers.docs import render

DOCS = Path(__file__).resolve().parents[1] / "docs" / "layers.md"


def test_docs_match_the_schema() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/layers.md is stale: run `python -m layers.docs > docs/layers.md`"
    )
