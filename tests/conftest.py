"""Fixtures: every store test runs on the embedded SQLite store and on PostGIS.

The PostGIS URL comes from ``GEO_SERVICE_TEST_PG_URL`` (set by ``scripts/test.sh``); a
fresh database is created on that server for the session. In CI (``CI`` set) a missing
PostGIS, or any skipped test, fails the run: a skipped PostGIS test is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright

from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS
from layers.store.store import Store
from layers.store.tables import metadata
from tests.browser import CHROMIUM_ARGS, chromium_path
from tests.people import TESTER

PG_URL_ENV = "GEO_SERVICE_TEST_PG_URL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


@pytest.fixture(scope="session")
def postgis_url() -> Iterator[str]:
    base = os.environ.get(PG_URL_ENV)
    if not base:
        message = f"{PG_URL_ENV} is not set: run scripts/test.sh, which starts PostGIS"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    url = sa.make_url(base)
    name = f"geo_service_t_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    test_url = url.set(database=name)
    engine = sa.create_engine(test_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        assert conn.execute(sa.text("SELECT postgis_version()")).scalar()
    engine.dispose()
    yield test_url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgis"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "postgis":
        return str(request.getfixturevalue("postgis_url"))
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'geo_service.db'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated embedded store, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "geo_service.db"
    Store.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def store(store_url: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A migrated, empty store for each test.

    History is append-only by design (triggers refuse to delete releases and audit rows),
    so emptying needs a way round them: a fresh copy of an empty embedded store, or, on
    PostGIS, deleting with triggers off for the transaction (session_replication_role).
    """
    url = sa.make_url(store_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        opened = Store.open(store_url)
    else:
        opened = _emptied(Store.open(store_url))
    yield opened
    opened.close()


@pytest.fixture
def postgis_store(postgis_url: str) -> Iterator[Store]:
    """The session's PostGIS database, emptied, for tests of PostGIS alone."""
    opened = _emptied(Store.open(postgis_url))
    yield opened
    opened.close()


def _emptied(store: Store) -> Store:
    """A PostGIS store with every table emptied (history included, see :func:`store`)."""
    with store.transaction() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    return store


@pytest.fixture
def loaded(store: Store, zone: dict[str, gpd.GeoDataFrame]) -> Store:
    """The store holding the test module's ``zone`` fixture, every layer."""
    for name, frame in zone.items():
        store.features.write(LAYERS[name], frame, actor=TESTER)
    return store


@pytest.fixture
def settings(store: Store, store_url: str, tmp_path: Path) -> Settings:
    return Settings(db_url=store_url, data_dir=tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _in_ci() and _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _in_ci() and _skipped:
        terminalreporter.write_line(
            f"FAILED: {len(_skipped)} test(s) skipped in CI, which counts as failure: "
            + ", ".join(_skipped[:10]),
            red=True,
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (one for the whole run)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
