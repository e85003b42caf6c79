"""The real desktop client (item 14): Debian's QGIS 3.22, headless, reads parcels from a
running service through its OGC API – Features provider — as the public, and through its
OAuth2 method (resource owner grant: the key as the password, exchanged at
``/oauth/token`` for a bearer token) as a planner, who alone sees the internal fields.

PyQGIS lives in Debian's python3, not in our venv: the test runs a small script
(``tests/clients/qgis_oapif.py``) with ``/usr/bin/python3`` against a uvicorn server of
ours on 127.0.0.1. ``scripts/test.sh`` installs ``qgis`` and ``python3-qgis``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import PARCELS
from layers.store.store import Store
from tests.browser import serve
from tests.people import TESTER

SCRIPT = Path(__file__).with_name("clients") / "qgis_oapif.py"
PYTHON = Path("/usr/bin/python3")


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=25)


@pytest.fixture
def base_url(loaded: Store, settings: Settings) -> Iterator[str]:
    with serve(create_app(settings)) as base:
        yield base


def qgis(base: str, collection: str, key: str | None = None) -> dict[str, Any]:
    """What QGIS saw: whether the layer loaded, its fields and how many features."""
    check = subprocess.run([str(PYTHON), "-c", "import qgis.core"], capture_output=True,
                           check=False)  # fmt: skip
    if check.returncode != 0:
        raise RuntimeError("PyQGIS is not installed: run scripts/test.sh (apt: python3-qgis)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QGIS_", "PYTHON"))}
    env |= {"QT_QPA_PLATFORM": "offscreen", "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    env["HOME"] = tempfile.mkdtemp(prefix="qgis-home-")  # its own auth database, fresh
    env["XDG_RUNTIME_DIR"] = env["HOME"]
    # The key goes as an argument to a process of ours on a loopback test server only.
    args = [str(PYTHON), str(SCRIPT), base, collection, *([key] if key else [])]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


def test_qgis_signs_in_with_oauth2_and_sees_the_internal_fields(
    base_url: str, loaded: Store
) -> None:
    key = auth.create_key(loaded, name="规划 QGIS", role="planner", actor=TESTER)[1]
    public_fields = PARCELS.field_names(PARCELS.visible_fields(public=True))
    staff_fields = PARCELS.field_names(PARCELS.visible_fields(public=False))
    internal = set(staff_fields) - set(public_fields)
    assert internal  # the layer has fields only staff may see

    public = qgis(base_url, "parcels")
    assert public["valid"], public["error"]
    assert not internal & set(public["fields"])
    assert set(public_fields) <= set(public["fields"])

    planner = qgis(base_url, "parcels", key)
    assert planner["valid"], planner["error"]
    assert set(staff_fields) <= set(planner["fields"])  # every internal field, too
    assert planner["count"] == loaded.features.count(PARCELS) >= public["count"]
    # QGIS came through the token endpoint, and the token is the key's.
    issued = [r for r in loaded.audit.rows() if r["action"] == "token.issue"]
    assert len(issued) >= 1 and issued[0]["actor"] == "规划 QGIS"
