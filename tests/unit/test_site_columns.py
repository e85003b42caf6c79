"""The cached column reads a request makes of a zone's sites (matching/zone.py) against
pandas on the frame itself."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from layers.demo import generate_zone
from matching.zone import Sites, build_zone


@pytest.fixture(scope="module")
def sites() -> Sites:
    parcels = build_zone(generate_zone(parcels=60)).parcels
    frame = parcels.frame.copy()
    frame.loc[[3, 7], "status"] = None  # missing: category code -1
    frame.loc[[2, 5], "land_use"] = None
    return dataclasses.replace(parcels, frame=frame)


@pytest.mark.parametrize("column", ["status", "land_use"])
def test_isin_answers_as_pandas_does(sites: Sites, column: str) -> None:
    categories = list(sites.frame[column].cat.categories)
    for wanted in ([], categories[:1], categories[1:3], categories, ["no such value"]):
        for _ in range(2):  # read, then from the cache
            found = sites.isin(column, wanted)
            assert found.tolist() == sites.frame[column].isin(wanted).tolist(), wanted


def test_floats_are_the_column_as_floats(sites: Sites) -> None:
    for column in ("area_mu", "inv_lo", "power_kva"):
        want = sites.frame[column].to_numpy(dtype=float)
        np.testing.assert_array_equal(sites.floats(column), want)
        assert sites.floats(column) is sites.floats(column)  # cached
