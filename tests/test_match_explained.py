"""What a new user found unclear in a match (issue 14 §7): a network the project asked
nothing of, criteria that scored unasked, parcel ids cut in an 80-column terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from rich.cells import cell_len

from layers.demo import generate_zone
from layers.store.store import Store
from matching.connections import NO_DEMAND
from matching.engine import match
from matching.request import load_request
from matching.zone import Zone, build_zone

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "requests"
HYDRAULIC = EXAMPLES / "hydraulic_cylinder_expansion.json"
"""Asks for power and a highway interchange; no heat, no rail, no airport."""


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone()


@pytest.fixture(scope="module")
def built(zone: dict[str, gpd.GeoDataFrame]) -> Zone:
    return build_zone(zone)


def test_a_network_without_demand_says_so_and_needs_nothing(built: Zone) -> None:
    """Heat said 需新建或扩容 (build or expand) where no heat plant is in reach, although
    the project asked for no heat."""
    request = load_request(HYDRAULIC)
    assert request.heat_mw is None
    result = match(request, built, top_n=10)
    heat = [c for site in result.sites for c in site.connections if c.utility == "heat"]
    assert heat, "the land profile's plan covers heat"
    assert any(c.source is None for c in heat), "the demo zone leaves some sites out of reach"
    for connection in heat:
        assert connection.note == NO_DEMAND
        assert not connection.upgrade_needed


def test_optional_criteria_score_only_when_asked_and_the_result_says_why(built: Zone) -> None:
    """Rail and airport scored for a project that asked for neither. Now they weigh only
    when the request asks for them or sets their weight, and the result says which."""
    request = load_request(HYDRAULIC)
    result = match(request, built, top_n=3)
    criteria = {c["key"]: c for c in result.to_dict(excluded_limit=0)["criteria"]}
    for key in ("rail", "airport"):
        assert criteria[key]["in_play"] is False and criteria[key]["weight"] == 0
        assert "未提" in str(criteria[key]["why"]) and "not asked" in str(criteria[key]["why"])
        assert all(s.contributions[key] == 0 for s in result.sites)
    assert "提出了" in str(criteria["interchange"]["why"])
    assert sum(float(c["weight"]) for c in criteria.values()) == pytest.approx(1.0)
    asked = request.model_copy(
        update={"logistics": request.logistics.model_copy(update={"max_airport_km": 40})}
    )
    airport = match(asked, built).described()[2]
    assert airport["key"] == "airport" and airport["in_play"] and "提出了" in airport["why"]
    weighted = match(request.model_copy(update={"weights": {"rail": 0.3}}), built).described()
    assert weighted[1]["in_play"] and weighted[1]["why"].startswith("项目指定权重")


def test_match_in_80_columns_shows_whole_ids_and_the_criteria(
    loaded: Store, store_url: str, built: Zone
) -> None:
    env = {**os.environ, "COLUMNS": "80"}
    out = subprocess.run(
        [sys.executable, "-m", "geo_service", "match", str(HYDRAULIC), "--db", store_url],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env=env,
    ).stdout
    assert max(cell_len(line) for line in out.splitlines()[1:]) <= 80  # after the title
    assert "…" not in out
    result = match(load_request(HYDRAULIC), built, top_n=10)
    for site in result.sites:
        for site_id in site.ids[:4]:
            assert site_id in out
    assert "评分项 (criteria in play)" in out and "距机场" in out
