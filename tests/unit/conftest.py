"""Pure tests: no store, no app, no browser, no other process; seconds for the lot.

A test here that asks for a store or a browser belongs in ``tests/``: collection stops
with its name (the fixtures of ``tests/conftest.py`` are visible here, but this tier
promises not to use them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

HEAVY = {"store", "loaded", "store_url", "postgis_url", "postgis_store", "client", "browser"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    wrong = [
        item.nodeid
        for item in items
        if item.path.is_relative_to(here) and HEAVY & set(getattr(item, "fixturenames", ()))
    ]
    if wrong:
        raise pytest.UsageError(
            "tests/unit is for pure tests; move these to tests/: " + ", ".join(wrong)
        )
