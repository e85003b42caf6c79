"""The squares of counts below zoom 12 follow the map's filter, as a person uses it in
Chromium (network cut off): a park chosen, an area range typed, a type unticked, and each
square counts only the sites kept — on the investor map (public) and on the readiness map
(staff, signed in)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Browser

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.area import M2_PER_MU
from layers.catalog import FACTORIES, LAYERS, ON_OFFER, PARCELS
from layers.frames import derive
from layers.store.store import Store
from layers.tiling import DETAIL_ZOOM, SIZE_M2
from tests.browser import Visit, screenshot, serve, sign_in, visit
from tests.people import TESTER
from tests.test_maps_scale import _press, _settled, _squares

LAND, FACTORY = "宗地 parcels", "厂房 factories"
SHOTS = os.environ.get("GEO_SERVICE_SCREENSHOTS")


def _sizes(frame: gpd.GeoDataFrame, layer: str) -> np.ndarray:
    """Each site's size in m² as the page compares it: the value its tile carries (3
    decimals) times the factor."""
    field, factor = SIZE_M2[layer]
    values = derive(frame, LAYERS[layer])[field].astype(float)
    return np.array([round(v, 3) for v in values]) * factor


def _count(
    frame: gpd.GeoDataFrame, layer: str, *, park: str, low: float = -np.inf, high: float = np.inf
) -> int:
    """The oracle: sites of ``park`` whose size lies from ``low`` to ``high`` (m²)."""
    sizes = _sizes(frame, layer)
    return int(((frame["park_id"] == park).to_numpy() & (sizes >= low) & (sizes <= high)).sum())


def _total(v: Visit, word: str, expected: int) -> int:
    """What the squares labelled ``word`` add up to once they show ``expected``, as a
    person looks until the numbers change (the page asks again once the filter rests);
    what they show after 10 s otherwise."""
    deadline = time.monotonic() + 10
    while True:
        _settled(v)
        shown = sum(n for n, *_ in _squares(v, word))
        if shown == expected or time.monotonic() > deadline:
            return shown
        v.page.wait_for_timeout(200)


def _shown(v: Visit, land: int, factories: int) -> tuple[int, int]:
    """The squares' totals of parcels and of factories, once they show these (see
    :func:`_total`)."""
    return _total(v, LAND, land), _total(v, FACTORY, factories)


def _zoomed_out(v: Visit) -> None:
    """From where the map opens down to the last zoom of squares, with the − button."""
    opened = _settled(v)
    assert _press(v, "out", opened - (DETAIL_ZOOM - 1)) == DETAIL_ZOOM - 1


@pytest.mark.parametrize("size", [(1440, 900), (390, 844)])
def test_investor_squares_count_what_the_filter_keeps(
    browser: Browser,
    tiled: Settings,
    demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]],
    size: tuple[int, int],
) -> None:
    """An investor zoomed out to the squares picks a park, types an area range, unticks
    factories: the squares count that park's listed parcels and factories of that size,
    and the factories' squares go; none is left where nothing matches."""
    zone = demo_zone()
    land = zone[PARCELS.name][zone[PARCELS.name]["status"] == ON_OFFER[PARCELS.name]]
    idle = zone[FACTORIES.name][zone[FACTORIES.name]["status"] == ON_OFFER[FACTORIES.name]]
    park = str(land["park_id"].value_counts().index[-1])  # the park with the fewest
    phone = size[0] < 600
    with (
        serve(create_app(tiled)) as base,
        visit(browser, f"{base}/maps/investor", viewport=size, touch=phone) as v,
    ):
        _zoomed_out(v)
        assert _shown(v, len(land), len(idle)) == (len(land), len(idle))
        squares = len(_squares(v, LAND))
        if phone:  # the filter starts folded to its title: a tap opens it
            v.page.get_by_text("筛选 Filter").tap()
        v.page.get_by_label("园区 Park", exact=True).select_option(park)
        parcels, factories = (
            _count(land, PARCELS.name, park=park),
            _count(idle, FACTORIES.name, park=park),
        )
        assert 0 < parcels < len(land) and 0 < factories < len(idle)
        assert _shown(v, parcels, factories) == (parcels, factories)
        assert len(_squares(v, LAND)) < squares  # none where the park has no parcel
        if SHOTS:
            screenshot(v, Path(SHOTS) / f"investor-squares-park-{size[0]}.png")
        low, high = _bounds(_sizes(land[land["park_id"] == park], PARCELS.name))
        v.page.get_by_label("面积 Area 最小 min").press_sequentially(str(low), delay=120)
        v.page.get_by_label("面积 Area 最大 max").fill(str(high))
        parcels = _count(land, PARCELS.name, park=park, low=low, high=high)
        factories = _count(idle, FACTORIES.name, park=park, low=low, high=high)
        assert 0 < parcels < _count(land, PARCELS.name, park=park)
        assert _shown(v, parcels, factories) == (parcels, factories)
        v.page.get_by_label("厂房 factory", exact=True).uncheck()
        assert _shown(v, parcels, 0) == (parcels, 0) and _squares(v, FACTORY) == []
        # Land is reckoned in 亩: the same boxes read in 亩 once it is chosen.
        v.page.get_by_label("面积单位 Unit").select_option(label="亩 mu")
        v.page.get_by_label("面积 Area 最大 max").fill("")
        low_mu = _bound_mu(_sizes(land[land["park_id"] == park], PARCELS.name))
        v.page.get_by_label("面积 Area 最小 min").fill(f"{low_mu:g}")
        parcels = _count(land, PARCELS.name, park=park, low=low_mu * M2_PER_MU)
        assert 0 < parcels < _count(land, PARCELS.name, park=park)
        assert _shown(v, parcels, 0) == (parcels, 0)
        if SHOTS:
            screenshot(v, Path(SHOTS) / f"investor-squares-mu-{size[0]}.png")
        v.page.get_by_label("面积 Area 最小 min").fill("")
        v.page.get_by_label("面积 Area 最大 max").fill("")
        v.page.get_by_label("园区 Park", exact=True).select_option("")
        assert _shown(v, len(land), 0) == (len(land), 0)
        v.page.get_by_label("厂房 factory", exact=True).check()
        assert _shown(v, len(land), len(idle)) == (len(land), len(idle))
        assert v.console_errors == [] and v.blocked == []


def _bound_mu(sizes: np.ndarray) -> float:
    """A least area in 亩 a person would type (one decimal), keeping about half of
    ``sizes`` (m²), none within 2 m² of it (see :func:`_bounds`)."""
    low = round(float(np.median(sizes)) / M2_PER_MU, 1)
    while np.abs(sizes - low * M2_PER_MU).min() < 2:
        low = round(low + 0.1, 1)
    return low


def _bounds(sizes: np.ndarray) -> tuple[int, int]:
    """An area range a person would type (whole m²), keeping some of ``sizes`` but not
    all, with no size within 2 m² of a bound: the two stores measure a parcel a few cm²
    apart, and the test must not depend on which is asked."""
    ordered = np.sort(sizes)
    low = int(ordered[len(ordered) // 3]) + 1
    high = int(ordered[-2]) - 1
    while np.abs(sizes - low).min() < 2:
        low += 3
    while np.abs(sizes - high).min() < 2:
        high -= 3
    return low, high


def test_readiness_squares_count_the_park_chosen(
    browser: Browser,
    store: Store,
    tiled: Settings,
    demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]],
) -> None:
    """Staff signed in, zoomed out to the squares, pick a park: the squares count every
    parcel of that park (whatever its status), and the whole zone's again with 全部."""
    parcels = demo_zone()[PARCELS.name]
    park = str(pd.Series(parcels["park_id"]).value_counts().index[0])
    key = auth.create_key(store, name="规划 测试", role="planner", actor=TESTER)[1]
    with (
        serve(create_app(tiled)) as base,
        visit(browser, f"{base}/login?next=/maps/readiness", ready=None, viewport=(1440, 900)) as v,
    ):
        sign_in(v.page, key)
        _zoomed_out(v)
        assert _total(v, LAND, len(parcels)) == len(parcels)
        v.page.get_by_label("园区", exact=True).select_option(park)
        of_park = int((parcels["park_id"] == park).sum())
        assert _total(v, LAND, of_park) == of_park < len(parcels)
        if SHOTS:
            screenshot(v, Path(SHOTS) / "readiness-squares-park-1440.png")
        v.page.get_by_label("园区", exact=True).select_option("")
        assert _total(v, LAND, len(parcels)) == len(parcels)
        assert v.console_errors == [] and v.blocked == []
