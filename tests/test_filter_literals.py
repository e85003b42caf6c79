"""Literals in public filters (R29) and what a bad filter leaves in the logs (R38), on
both stores: an impossible date or a number no store can hold is a 400 that names the
literal, never a 500; integers beyond 32 bits are answered; one bad request writes at
most one short log line, with its request id, and nothing else."""

from __future__ import annotations

import datetime as dt
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlencode

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS, ON_OFFER
from layers.store.store import Store
from tests.browser import serve
from tests.test_injection import DATABASE_TEXT

ITEMS = "/collections/parcels/items"

# (filter, the literal the answer must name): every place a literal becomes a value —
# a quoted string compared with a date field, pygeofilter's DATE() and TIMESTAMP()
# conversions, IN lists, BETWEEN bounds, INTERVAL ends and numbers out of every range.
MALFORMED: list[tuple[str, str]] = [
    ("inv_due = '2026-02-30'", "2026-02-30"),
    ("inv_due = '2026-02-29'", "2026-02-29"),  # 2026 is not a leap year
    ("inv_due IN ('0000-01-01')", "0000-01-01"),
    ("inv_due IN ('2026-01-01', '2026-04-31')", "2026-04-31"),
    ("inv_due NOT IN ('2026-00-10')", "2026-00-10"),
    ("inv_due BETWEEN '2026-01-01' AND '2026-02-31'", "2026-02-31"),
    ("inv_due > '9999-12-32'", "9999-12-32"),
    ("'2026-02-30' < inv_due", "2026-02-30"),
    ("inv_due = DATE('2026-13-01')", "2026-13-01"),
    ("inv_due > DATE('2026-02-30')", "2026-02-30"),
    ("inv_due = DATE('0000-01-01')", "0000-01-01"),
    ("inv_due = DATE('20260230')", "20260230"),
    ("inv_due IN (DATE('2026-01-01'), DATE('2026-19-39'))", "2026-19-39"),
    ("inv_due = TIMESTAMP('2026-02-30T00:00:00Z')", "2026-02-30T00:00:00Z"),
    ("inv_due = TIMESTAMP('2026-01-01T25:00:00Z')", "2026-01-01T25:00:00Z"),
    ("inv_due = TIMESTAMP('0000-01-01T00:00:00Z')", "0000-01-01T00:00:00Z"),
    ("T_DURING(inv_due, INTERVAL('2026-01-01T00:00:00Z', '2026-02-30T00:00:00Z'))", "2026-02-30"),
    ("price_wmu > 1e400", "1e400"),
    ("price_wmu < -1e400", "1e400"),
    ("price_wmu BETWEEN 0 AND 1E999", "1E999"),
    ("list_year = 99999999999999999999999", "99999999999999999999999"),
    ("list_year IN (2026, -9223372036854775809)", "9223372036854775809"),
    ("price_wmu > " + "9" * 5000, "9999"),
]


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=40)


@pytest.mark.parametrize(("text", "literal"), MALFORMED)
def test_a_malformed_literal_is_a_400_naming_it(
    client: TestClient, loaded: Store, text: str, literal: str
) -> None:
    response = client.get(ITEMS, params={"filter": text})
    assert response.status_code == 400, (text, response.text)
    body = response.json()
    assert body["code"] == "invalid_input"
    assert literal in body["message"], (text, body["message"])
    assert len(response.content) < 1_000  # the message quotes at most a bounded excerpt
    for word in DATABASE_TEXT:
        assert word not in response.text, (text, word)


def test_integers_beyond_32_bits_are_answered_like_any_number(
    client: TestClient, loaded: Store
) -> None:
    parcels = loaded.features.read(LAYERS["parcels"])
    parcels = parcels[parcels["status"] == ON_OFFER["parcels"]]  # what the public sees
    priced = int(parcels["price_wmu"].notna().sum())
    listed = int(parcels["list_year"].notna().sum())
    expected = {
        "price_wmu > 2147483648": 0,
        "price_wmu < 2147483648": priced,
        "price_wmu < 9223372036854775807": priced,
        "price_wmu > -9223372036854775808": priced,
        "price_wmu < 99999999999999999999999": priced,  # a float field: any finite number
        "price_wmu < 1e308": priced,
        "list_year < 2147483648": listed,
        "list_year > -2147483649": listed,
        "list_year <> 4294967296": listed,
        "list_year BETWEEN -9223372036854775808 AND 9223372036854775807": listed,
        "list_year IN (2147483648, 2026)": int((parcels["list_year"] == 2026).sum()),
    }
    for text, count in expected.items():
        response = client.get(ITEMS, params={"filter": text, "limit": 1})
        assert response.status_code == 200, (text, response.text)
        assert response.json()["numberMatched"] == count, text


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    year=st.integers(0, 9999),
    month=st.integers(0, 19),
    day=st.integers(0, 39),
    spelling=st.sampled_from(["'{}'", "DATE('{}')"]),
)
def test_any_date_the_grammar_admits_is_answered_or_refused_by_name(
    client: TestClient, loaded: Store, year: int, month: int, day: int, spelling: str
) -> None:
    text = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        dt.date(year, month, day)
        valid = True
    except ValueError:
        valid = False
    response = client.get(ITEMS, params={"filter": f"inv_due <= {spelling.format(text)}"})
    if valid:
        assert response.status_code == 200, (text, response.text)
    else:
        assert response.status_code == 400, (text, response.text)
        assert text in response.json()["message"]


# -- R38: bounded logs -------------------------------------------------------------------
_CLIENT_SIDE = ("httpx", "httpcore", "hypothesis")


def _server_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every line the service logged (the traceback of a record counts as its lines)."""
    handler = logging.Formatter()
    lines: list[str] = []
    for record in caplog.records:
        if not record.name.startswith(_CLIENT_SIDE):
            lines += handler.format(record).splitlines()
    return lines


@pytest.mark.parametrize(
    "text",
    [
        "inv_due > DATE('2026-13-01')",  # pygeofilter's parser dumped its state stack here
        "inv_due = '2026-02-30'",  # was a 500 with a traceback
        "inv_due = TIMESTAMP('2026-02-30T00:00:00Z')",
        "land_use = ",  # a plain syntax error
    ],
)
def test_a_bad_filter_logs_one_short_line_with_the_request_id(
    client: TestClient,
    loaded: Store,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    text: str,
) -> None:
    client.get(ITEMS, params={"limit": 1})  # the zone is loaded: only the filter's lines
    capfd.readouterr()
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        response = client.get(ITEMS, params={"filter": text}, headers={"X-Request-ID": "probe-38"})
    assert response.status_code == 400
    lines = _server_lines(caplog)
    assert len(lines) <= 1, lines
    assert all("probe-38" in line and len(line.encode()) < 500 for line in lines), lines
    printed = capfd.readouterr()
    assert len(printed.out) + len(printed.err) < 500, (printed.out[:300], printed.err[:300])


def test_an_unexpected_error_logs_one_short_line_not_a_traceback(
    settings: Settings,
    loaded: Store,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Through a real server (uvicorn logs what escapes the application)."""
    app = create_app(settings)
    with serve(app) as base:
        store: Store = app.state.store

        def broken(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("a bug " + "x" * 5_000)

        store.features.read = broken  # type: ignore[method-assign]
        capfd.readouterr()
        caplog.clear()
        request = urllib.request.Request(  # noqa: S310  # our own loopback server
            f"{base}{ITEMS}?{urlencode({'limit': 1})}", headers={"X-Request-ID": "probe-500"}
        )
        with caplog.at_level(logging.DEBUG), pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request)  # noqa: S310
    assert raised.value.code == 500
    assert raised.value.headers["X-Request-ID"] == "probe-500"
    lines = _server_lines(caplog)
    assert len(lines) == 1, lines
    assert "probe-500" in lines[0] and "RuntimeError" in lines[0] and len(lines[0]) < 500
    printed = capfd.readouterr()
    assert "Traceback" not in printed.err + printed.out
