"""Fixtures and tiers: every store test runs on the embedded SQLite store and on PostGIS.

The PostGIS URL comes from ``GEO_SERVICE_TEST_PG_URL`` (set by ``scripts/test.sh``); a
fresh database is created on that server for the session. In CI (``CI`` set) a missing
PostGIS, or any skipped test, fails the run: a skipped PostGIS test is a failure.

Tiers. Each test is marked from what it uses (see :func:`pytest_collection_modifyitems`):
``store`` (a store fixture), ``postgis`` (runs against PostGIS), ``browser`` (Chromium),
``external`` (starts another process: the CLI, a server, GDAL, QGIS), ``fuzz``
(Hypothesis or schemathesis) and ``slow`` (long by measurement, :data:`SLOW`). ``pytest``
with no paths and no ``-m`` runs the fast tier: none of postgis, browser, external, fuzz,
slow, on every core (``-n 0`` for one process). Name files, or pass ``-m`` (``-m ""``
for everything), to choose otherwise;
``scripts/test.sh`` runs every tier on both stores.

Heavy imports (the app, the store, Playwright) happen inside the fixtures, so the pure
tests in ``tests/unit`` load none of them.
"""

from __future__ import annotations

import ast
import os
import shutil
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# Before any test module imports pyogrio: importing layers switches GDAL's VRT driver off,
# which GDAL reads only as pyogrio registers its drivers, and layers.io refuses to read
# with it on. A module importing pyogrio first (third-party imports sort first) would
# otherwise leave it on for every test after it in the process, the CLI's run in it too.
import layers  # noqa: F401

if TYPE_CHECKING:
    import geopandas as gpd
    from fastapi.testclient import TestClient
    from playwright.sync_api import Browser
    from typer.testing import Result

    from geo_service.settings import Settings
    from layers.store.store import Store

PG_URL_ENV = "GEO_SERVICE_TEST_PG_URL"

TIERS = {
    "store": "uses a store (SQLite or PostGIS)",
    "postgis": "runs against PostgreSQL + PostGIS",
    "browser": "drives a headless Chromium",
    "external": "starts another process (the CLI, a server, GDAL, QGIS)",
    "fuzz": "generates its cases (Hypothesis, schemathesis)",
    "slow": "takes seconds by measurement (SLOW in tests/conftest.py)",
}
FAST_TIER = "not (postgis or browser or external or fuzz or slow)"
"""The marker expression of the default tier: ``pytest`` with no paths runs these."""

STORE_FIXTURES = {"store", "loaded", "store_url", "postgis_url", "postgis_store"}
PROCESS_NAMES = {"subprocess", "Popen"}
"""A test that names one of these, itself or through a helper or fixture of its module,
starts another process."""

READ_ONLY = {
    # Modules whose tests that use ``loaded`` only read it: they share one loaded store
    # (and one app) per module and store kind. A test here that writes fails, naming itself.
    # In a module where some tests write, mark those that only read, one by one, with
    # ``@pytest.mark.read_only``.
    "tests/test_ogc_ets.py",
    "tests/test_filter_literals.py",
    "tests/test_crs_api.py",
    "tests/test_sentinel.py",
    "tests/test_html_pages.py",
}

SLOW = {
    # Tests of the fast tier that took 3 s or more in a run of it (pytest --durations=60,
    # 2 cores shared with other work, so about three times an idle machine's time). Node
    # ids without parameters: every case of the test is slow.
    "tests/test_architecture.py::test_lower_packages_do_not_import_upper_ones_or_the_web",
    "tests/test_bodies.py::test_other_requests_are_answered_while_a_large_json_is_decoded",
    "tests/test_faults.py::test_fault_during_an_upload_leaves_no_temporary_file",
    "tests/test_filters.py::test_filters_select_what_an_independent_evaluator_selects",
    "tests/test_hostile_files.py::test_zip_bomb_is_refused_before_decompression",
    "tests/test_html_pages.py::test_items_and_items_pages_show_every_property_of_the_json",
    "tests/test_html_pages.py::test_the_public_html_holds_nothing_internal",
    "tests/test_import_limits.py::"
    "test_an_import_past_the_time_limit_is_stopped_and_the_next_gets_a_fresh_worker",
    "tests/test_injection.py::test_a_million_vertex_filter_geometry_is_refused_before_parsing",
    "tests/test_ledger_rules.py::test_ledger_rules_over_http",
    "tests/test_ledger_rules.py::test_a_large_bad_file_is_refused_without_waiting_for_a_lock",
    "tests/test_lookalike_ids.py::test_any_insertion_is_refused_naming_row_and_field_or_is_the_same_id",
    "tests/test_matching.py::test_feasible_sites_are_exactly_those_the_naive_oracle_finds",
    "tests/test_no_fetch.py::test_post_stock_lists_fetches_nothing",
    "tests/test_ogc_ets.py::test_bbox_crs_parameter__verify_bbox_crs_parameter",
    "tests/test_ogc_ets.py::test_features_crs_parameter_transform__with_crs_parameter",
    "tests/test_query_timeout.py::test_without_a_timeout_the_heavy_filter_is_answered",
    "tests/test_routes_roles.py::test_every_route_answers_every_role_as_its_policy_says",
    "tests/test_sentinel.py::test_no_public_response_gives_anything_hidden_away",
    "tests/test_sessions.py::test_clients_sending_a_key_in_a_header_need_no_token",
    "tests/test_stock_api.py::test_land_bureau_imports_and_publishes_over_http",
    "tests/test_stock_api.py::test_readers_over_http_during_a_publish_see_one_list",
    "tests/test_stocklist.py::test_two_imports_for_one_year_at_once_one_gets_a_conflict",
    "tests/test_stocklist_guards.py::"
    "test_removing_more_than_the_allowed_share_needs_confirmation_over_http",
    "tests/test_unit_of_work.py::test_a_reservation_racing_a_publish_never_strands",
    "tests/test_unit_of_work.py::test_a_release_racing_a_publish_leaves_nothing_stranded",
    "tests/test_unit_of_work.py::test_a_reservation_racing_a_ledger_edit_never_strands",
    "tests/unit/test_demo.py::test_larger_zone",
}


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def pytest_configure(config: pytest.Config) -> None:
    for name, meaning in TIERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")
    config.addinivalue_line(
        "markers",
        "read_only: the test's loaded store is shared by the module's read-only tests "
        "(one store per module and store kind); the test fails if it changes the store",
    )


def _names_used(function: Callable[..., Any], seen: set[object]) -> set[str]:
    """The global names ``function`` uses, and those of the module's own functions it
    calls, transitively (nested functions and lambdas included)."""
    function = getattr(function, "__wrapped__", function)
    code = getattr(function, "__code__", None)
    if code is None or function in seen:
        return set()
    seen.add(function)
    names: set[str] = set()
    codes = [code]
    while codes:
        current = codes.pop()
        names.update(current.co_names)
        codes.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    module = getattr(function, "__globals__", {})
    for name in list(names):
        helper = module.get(name)
        if isinstance(helper, types.FunctionType) and helper.__module__ == function.__module__:
            names |= _names_used(helper, seen)
    return names


def _tiers(item: pytest.Item) -> set[str]:
    if not isinstance(item, pytest.Function):  # doctests: pure
        return set()
    fixtures = set(item.fixturenames)
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec else {}
    tiers: set[str] = set()
    if fixtures & STORE_FIXTURES:
        tiers.add("store")
    if params.get("store_url") == "postgis" or fixtures & {"postgis_url", "postgis_store"}:
        tiers.add("postgis")
    if "browser" in fixtures:
        tiers.add("browser")
    seen: set[object] = set()
    used = _names_used(item.function, seen)
    definitions = item._fixtureinfo.name2fixturedefs  # pytest has no public accessor
    for name in fixtures:
        for definition in definitions.get(name, ()):
            used |= _names_used(definition.func, seen)
    if used & PROCESS_NAMES:
        tiers.add("external")
    if item.get_closest_marker("hypothesis") or "schemathesis" in vars(item.module):
        tiers.add("fuzz")
    if item.nodeid.split("[")[0] in SLOW:
        tiers.add("slow")
    return tiers


def _module_path(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its tiers; with no paths and no ``-m``, keep the fast tier."""
    fast, rest = [], []
    for item in items:
        tiers = _tiers(item)
        for name in sorted(tiers):
            item.add_marker(name)
        if _module_path(item) in READ_ONLY:
            item.add_marker("read_only")
        explicit = {mark.name for mark in item.iter_markers()} & set(TIERS)
        (rest if explicit & (set(TIERS) - {"store"}) else fast).append(item)
    if _fast_tier_by_default(config) and rest:
        config.hook.pytest_deselected(items=rest)
        items[:] = fast


def _fast_tier_by_default(config: pytest.Config) -> bool:
    """No paths and no ``-m``: the fast tier. An xdist worker is told by the controller
    (it is started with the paths spelled out)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return bool(workerinput.get("fast_tier_by_default"))
    testpaths = config.args_source is pytest.Config.ArgsSource.TESTPATHS
    return testpaths and not config.option.markexpr


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """In the fast tier by default, a module that imports schemathesis is not even
    imported: each of its tests is fuzz (see :func:`_tiers`), and building them from the
    OpenAPI document takes seconds in every process."""
    if collection_path.suffix != ".py" or not _fast_tier_by_default(config):
        return None
    return _imports_schemathesis(collection_path) or None


def _imports_schemathesis(path: Path) -> bool:
    source = path.read_text(encoding="utf-8")
    if "import schemathesis" not in source:
        return False
    return any(
        isinstance(node, ast.Import)
        and any(a.name == "schemathesis" and not a.asname for a in node.names)
        for node in ast.parse(source).body
    )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """``pytest`` alone is the inner loop: the fast tier on every core (pytest-xdist),
    unless ``-n`` says otherwise (``-n 0``: one process). Runs before xdist reads ``-n``."""
    worker = hasattr(config, "workerinput")  # a worker runs its share, in itself
    asked = getattr(config.option, "numprocesses", 0) is not None  # 0: no xdist at all
    if not worker and not asked and _fast_tier_by_default(config):
        config.option.numprocesses = "auto"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: pass the controller's choice of tier on to each worker."""
    node.workerinput["fast_tier_by_default"] = _fast_tier_by_default(node.config)


@contextmanager
def _postgis_database(base: str) -> Iterator[str]:
    """A new database with PostGIS on the server at ``base``, dropped afterwards."""
    import sqlalchemy as sa

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
    try:
        yield test_url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _postgis_base() -> str:
    base = os.environ.get(PG_URL_ENV)
    if not base:
        message = f"{PG_URL_ENV} is not set: run scripts/test.sh, which starts PostGIS"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return base


@pytest.fixture(scope="session")
def postgis_url() -> Iterator[str]:
    with _postgis_database(_postgis_base()) as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgis"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "postgis":
        return str(request.getfixturevalue("postgis_url"))
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'geo_service.db'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated embedded store, copied for each test."""
    from layers.store.store import Store

    path = tmp_path_factory.mktemp("template") / "geo_service.db"
    Store.open(f"sqlite:///{path}").close()
    return path


def _shares_store(request: pytest.FixtureRequest) -> bool:
    """Whether the test reads the module's shared loaded store (see ``read_only``)."""
    return (
        request.node.get_closest_marker("read_only") is not None
        and "loaded" in request.fixturenames
    )


@pytest.fixture
def store(store_url: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A migrated, empty store for each test; for a ``read_only`` test that uses
    ``loaded``, the module's shared loaded store.

    History is append-only by design (triggers refuse to delete releases and audit rows),
    so emptying needs a way round them: a fresh copy of an empty embedded store, or, on
    PostGIS, deleting with triggers off for the transaction (session_replication_role).
    An embedded store for a test that uses ``loaded`` is a copy of one already holding the
    module's zone (:func:`loaded_template`): copying a file is quicker than writing it.
    """
    import sqlalchemy as sa

    from layers.store.store import Store

    if _shares_store(request):
        yield request.getfixturevalue("module_loaded")
        return
    url = sa.make_url(store_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        template = "loaded_template" if "loaded" in request.fixturenames else "sqlite_template"
        _fresh_sqlite(path, request.getfixturevalue(template))
        opened = Store.open(store_url)
    else:
        opened = _emptied(Store.open(store_url))
    yield opened
    opened.close()


def _fresh_sqlite(path: Path, template: Path) -> None:
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(template, path)


@pytest.fixture(scope="module")
def loaded_template(
    sqlite_template: Path,
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """An embedded store holding the module's ``zone``, copied for each test using ``loaded``."""
    from layers.store.store import Store

    path = tmp_path_factory.mktemp("loaded") / "geo_service.db"
    _fresh_sqlite(path, sqlite_template)
    opened = Store.open(f"sqlite:///{path}")
    _load(opened, zone)
    opened.close()
    return path


def _load(store: Store, zone: dict[str, gpd.GeoDataFrame]) -> None:
    from layers.catalog import LAYERS
    from tests.people import TESTER

    for name, frame in zone.items():
        store.features.write(LAYERS[name], frame, actor=TESTER)


@pytest.fixture(scope="session")
def demo_zone() -> Callable[..., dict[str, gpd.GeoDataFrame]]:
    """:func:`layers.demo.generate_zone`, made once per process for each set of arguments
    (modules ask for the same few zones), each call given its own copy to change."""
    from layers.demo import generate_zone

    made: dict[tuple[tuple[str, int], ...], dict[str, gpd.GeoDataFrame]] = {}

    def zone(**arguments: int) -> dict[str, gpd.GeoDataFrame]:
        key = tuple(sorted(arguments.items()))
        if key not in made:
            made[key] = generate_zone(**arguments)
        return {name: frame.copy() for name, frame in made[key].items()}

    return zone


@pytest.fixture(scope="module")
def module_loaded(
    store_url: str,
    zone: dict[str, gpd.GeoDataFrame],
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Store]:
    """One store holding the module's ``zone``, shared by its ``read_only`` tests: a
    database of its own (never the session's, which other tests empty)."""
    from layers.store.store import Store

    with _module_store_url(store_url, request, tmp_path_factory) as url:
        opened = Store.open(url)
        _load(opened, zone)
        yield opened
        opened.close()


@contextmanager
def _module_store_url(
    store_url: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if store_url.startswith("sqlite"):
        path = tmp_path_factory.mktemp("shared") / "geo_service.db"
        _fresh_sqlite(path, request.getfixturevalue("sqlite_template"))
        yield f"sqlite:///{path}"
    else:
        with _postgis_database(_postgis_base()) as url:
            yield url


@pytest.fixture
def scratch_postgis_url(postgis_url: str) -> Iterator[str]:
    """A database of its own on the PostGIS server, empty but for PostGIS, dropped
    afterwards (a test may drop it first). Not a copy of the session's database: a copy
    needs every other connection to it closed, which xdist's neighbours do not promise."""
    with _postgis_database(postgis_url) as url:
        yield url


@pytest.fixture
def postgis_store(postgis_url: str) -> Iterator[Store]:
    """The session's PostGIS database, emptied, for tests of PostGIS alone."""
    from layers.store.store import Store

    opened = _emptied(Store.open(postgis_url))
    yield opened
    opened.close()


def _emptied(store: Store) -> Store:
    """A PostGIS store with every table emptied (history included, see :func:`store`)."""
    import sqlalchemy as sa

    from layers.store.tables import metadata

    with store.transaction() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    return store


def _fingerprint(store: Store) -> tuple[object, ...]:
    """What a write changes: the layer versions, the newest audit row, the row counts."""
    import sqlalchemy as sa

    from layers.store.tables import metadata

    with store.engine.connect() as conn:
        counts = [
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        ]
    return store.features.versions(), store.audit.rows(limit=1), counts


@pytest.fixture
def loaded(
    store: Store, zone: dict[str, gpd.GeoDataFrame], request: pytest.FixtureRequest
) -> Iterator[Store]:
    """The store holding the test module's ``zone`` fixture, every layer (an embedded
    store was copied holding it: see :func:`store`)."""
    if _shares_store(request):
        if "planner_key" in request.fixturenames:  # made once per shared store, before its tests
            request.getfixturevalue("module_planner_key")
        before = _fingerprint(store)
        yield store
        assert _fingerprint(store) == before, (
            f"{request.node.nodeid} changed the store its module shares; "
            "it is not read-only: take its read_only mark off (or its module's)"
        )
        return
    if store.engine.url.get_backend_name() != "sqlite":
        _load(store, zone)
    yield store


@pytest.fixture
def planner_key(loaded: Store, request: pytest.FixtureRequest) -> str:
    """A planner's key to the test's store (a shared store's: the one made with it)."""
    if _shares_store(request):
        return request.getfixturevalue("module_planner_key")  # type: ignore[no-any-return]
    return _planner_key(loaded)


@pytest.fixture(scope="module")
def module_planner_key(module_loaded: Store) -> str:
    return _planner_key(module_loaded)


def _planner_key(store: Store) -> str:
    from geo_service import auth
    from tests.people import TESTER

    return auth.create_key(store, name="规划师 测试", role="planner", actor=TESTER)[1]


def _settings(store: Store, folder: Path) -> Settings:
    """The service's settings for ``store``, with a data and a temporary folder of their
    own (uploads are written there, so tests can run in parallel)."""
    from geo_service.settings import Settings

    db_url = store.engine.url.render_as_string(hide_password=False)
    (folder / "tmp").mkdir(exist_ok=True)
    return Settings(db_url=db_url, data_dir=folder, tmp_dir=folder / "tmp")


@pytest.fixture
def settings(store: Store, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if _shares_store(request):
        return request.getfixturevalue("module_settings")  # type: ignore[no-any-return]
    return _settings(store, tmp_path)


@pytest.fixture
def tiled(
    store: Store, settings: Settings, demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]
) -> Settings:
    """The demo zone stored, and settings that draw every map's sites from vector tiles."""
    from layers.catalog import LAYERS
    from tests.people import TESTER

    for name, frame in demo_zone().items():
        store.features.write(LAYERS[name], frame, actor=TESTER)
    return settings.model_copy(update={"map_tile_threshold": 0})


@pytest.fixture(scope="module")
def module_settings(module_loaded: Store, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _settings(module_loaded, tmp_path_factory.mktemp("shared"))


@pytest.fixture
def client(settings: Settings, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """The app on the test's store, in process; a ``read_only`` test shares its module's
    (its cookies cleared after each test)."""
    if _shares_store(request):
        shared: TestClient = request.getfixturevalue("module_client")
        yield shared
        shared.cookies.clear()
        return
    with _client(settings) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def module_client(module_settings: Settings) -> Iterator[TestClient]:
    with _client(module_settings) as test_client:
        yield test_client


@contextmanager
def _client(settings: Settings) -> Iterator[TestClient]:
    from fastapi.testclient import TestClient

    from geo_service.app import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def cli() -> Callable[..., Result]:
    """The CLI run in this process, for tests of what a command does where starting a
    process is not the point: ``cli("key", "list", "--db", url)`` gives the exit code and
    its output (``input=`` and ``env=`` as ``CliRunner.invoke``): ``stdout``, ``stderr``
    and ``output``, the two mixed as a terminal shows them.

    It runs the entry point, :func:`geo_service.cli.main` (what ``python -m geo_service``
    runs), not the typer app alone: ``main`` turns the store's errors into exit codes and
    a message on stderr. An exception the entry point lets through fails the test with
    its traceback (a process would exit 1 with it)."""
    import sys
    from unittest import mock

    from typer.testing import CliRunner, Result

    from geo_service.cli import main

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        exit_code, exception = 0, None
        with (
            runner.isolation(input=input, env=env) as (stdout, stderr, output),
            mock.patch.object(sys, "argv", ["geo-service", *args]),
            mock.patch.object(sys, "excepthook", sys.excepthook),  # typer sets its own
        ):
            try:
                main()
            except SystemExit as stop:
                code = 0 if stop.code is None else stop.code
                exit_code = code if isinstance(code, int) else 1  # a message: sys.exit's 1
                exception = stop if exit_code else None
            sys.stdout.flush()
            sys.stderr.flush()
            return Result(  # read inside: the streams are closed with the isolation
                runner, stdout.getvalue(), stderr.getvalue(), output.getvalue(),
                return_value=None, exit_code=exit_code, exception=exception,
            )  # fmt: skip

    return invoke


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
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS, chromium_path

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
