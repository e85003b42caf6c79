"""Distances from points to polygons measured on their outlines are GEOS's, to the bit."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.demo import generate_zone
from matching.outlines import Outlines
from matching.shapes import projected, projected_corners
from matching.zone import build_zone


def _polygons(rng: np.random.Generator, n: int) -> np.ndarray:
    """Boxes, boxes with a hole, two boxes as one multipolygon, triangles (oblique
    edges), an L (concave), a box drawn with a corner twice (an edge of no length), on a
    grid, so that points fall on corners and edges; and None, and an empty polygon."""
    out = []
    for _ in range(n):
        x, y = (float(v) for v in rng.integers(0, 40, 2))
        w, h = (float(v) for v in rng.integers(2, 12, 2))
        shape = int(rng.integers(0, 6))
        if shape == 0:
            out.append(shapely.box(x, y, x + w, y + h))
        elif shape == 1:
            hole = [(x + 1, y + 1), (x + 1, y + h - 1), (x + w - 1, y + h - 1), (x + w - 1, y + 1)]
            shell = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
            out.append(shapely.Polygon(shell, [hole]))
        elif shape == 2:
            out.append(
                shapely.MultiPolygon(
                    [shapely.box(x, y, x + w, y + h), shapely.box(x + w + 3, y, x + 2 * w, y + h)]
                )
            )
        elif shape == 3:
            out.append(shapely.Polygon([(x, y), (x + w, y + h / 2), (x + w / 3, y + h)]))
        elif shape == 4:
            out.append(
                shapely.Polygon(
                    [(x, y), (x + w, y), (x + w, y + 2), (x + 2, y + 2), (x + 2, y + h), (x, y + h)]
                )
            )
        else:
            twice = [(x, y), (x + w, y), (x + w, y), (x + w, y + h), (x, y + h)]
            out.append(shapely.Polygon(twice))
    return np.array([None, shapely.Polygon(), *out], dtype=object)


def _same_as_geos(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Equal to the bit (NaN for NaN), but where a point lies within a rounding error of
    an edge: GEOS's exact test and our float one may then differ on inside (0) or just
    outside (that rounding error)."""
    off = (ours != theirs) & ~(np.isnan(ours) & np.isnan(theirs))
    assert np.all(np.minimum(ours[off], theirs[off]) == 0), (ours[off], theirs[off])
    assert np.all(np.maximum(ours[off], theirs[off]) < 1e-9), (ours[off], theirs[off])


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_point_distances_are_geos_distances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    polygons = _polygons(rng, int(rng.integers(1, 30)))
    corners, owner = shapely.get_coordinates(polygons, return_index=True)
    own = rng.integers(0, len(corners), 20)  # a polygon's own corners
    points = np.r_[
        rng.integers(-2, 55, (300, 2)).astype(float),  # on corners, edges, in holes
        rng.uniform(-5, 60, (300, 2)),
        corners[own],
    ]
    site = np.r_[rng.integers(0, len(polygons), 600), owner[own]]
    ours = Outlines.of(polygons).distance(site, points[:, 0], points[:, 1])
    theirs = shapely.distance(polygons[site], shapely.points(points))
    _same_as_geos(ours, theirs)
    assert (theirs == 0).any() and (theirs > 0).any()


def test_pairs_are_measured_in_batches_alike(monkeypatch: object) -> None:
    """More edges than one batch holds: the pairs that straddle a batch's end are whole."""
    import matching.outlines as outlines

    rng = np.random.default_rng(7)
    polygons = _polygons(rng, 200)
    points = rng.uniform(-5, 60, (5_000, 2))
    site = rng.integers(0, len(polygons), len(points))
    whole = Outlines.of(polygons).distance(site, points[:, 0], points[:, 1])
    monkeypatch.setattr(outlines, "BATCH", 7)  # type: ignore[attr-defined]
    batched = Outlines.of(polygons).distance(site, points[:, 0], points[:, 1])
    np.testing.assert_array_equal(batched, whole)
    _same_as_geos(whole, shapely.distance(polygons[site], shapely.points(points)))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_sites_projected_with_their_corners_are_the_sites_projected(seed: int) -> None:
    """A build projects sites keeping their corners, and draws their outlines from those:
    the geometries, corners and outlines are those of projecting and reading them apart."""
    rng = np.random.default_rng(seed)
    local = _polygons(rng, int(rng.integers(1, 30)))  # metres, moved to about Yuci
    moved = shapely.transform(local, lambda xy: xy * 10 + [450_000.0, 4_170_000.0])
    stored = gpd.GeoSeries(moved, crs=4547).to_crs(4490).values
    geometries, corners = projected_corners(stored, 4547)
    alone = projected(stored, 4547)
    assert shapely.to_wkb(geometries).tolist() == shapely.to_wkb(alone).tolist()
    xy, owner = shapely.get_coordinates(alone, return_index=True)
    np.testing.assert_array_equal(corners[0], xy)
    np.testing.assert_array_equal(corners[1], owner)
    given_corners, read = Outlines.of(geometries, corners), Outlines.of(alone)
    for field in dataclasses.fields(Outlines):
        np.testing.assert_array_equal(getattr(given_corners, field.name), getattr(read, field.name))


def test_a_build_draws_the_sites_outlines_from_the_corners_it_projected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading the corners again from the geometries made holds the GIL (0.4 s at a
    million parcels): a build from nothing hands over those it projected."""
    given: list[bool] = []
    draw = Outlines.of.__func__  # type: ignore[attr-defined]

    def spied(cls: type[Outlines], polygons: np.ndarray, corners: object = None) -> Outlines:
        given.append(corners is not None)
        return draw(cls, polygons, corners)  # type: ignore[no-any-return]

    monkeypatch.setattr(Outlines, "of", classmethod(spied))
    build_zone(generate_zone(parcels=60))
    assert given == [True, True]  # parcels and factories
