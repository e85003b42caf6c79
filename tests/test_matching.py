"""The matching engine against independent oracles and the properties planners rely on."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymcdm.methods import TOPSIS
from pymcdm.normalizations import minmax_normalization

from benchmarks.naive import feasible_parcels
from layers.catalog import BUDGETS, FACTORIES, INFRASTRUCTURE, PARCELS, PARKS, UTILITIES
from layers.errors import InvalidInput
from layers.store.store import Store
from layers.vocabulary import INFRA_KINDS, POLLUTANTS, UTILITY_FACTS
from matching.distances import REACH_M
from matching.engine import match
from matching.request import ProjectRequest, load_request, parse_request
from matching.results import MatchResult
from matching.scoring import score
from matching.zone import Zone, build_zone
from tests.people import TESTER

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "requests"


@pytest.fixture(scope="module")
def frames(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone()


@pytest.fixture(scope="module")
def zone(frames: dict[str, gpd.GeoDataFrame]) -> Zone:
    return build_zone(frames)


def _example(name: str, zone: Zone, **kwargs: int) -> MatchResult:
    return match(load_request(EXAMPLES / name), zone, **kwargs)


# -- the example projects ----------------------------------------------------------------------
def test_the_catalogs_budgets_and_utilities_name_real_fields() -> None:
    """Matching, the store and the demo read these tables: each name in them is a field of
    the layer (or a request field) it says, with the unit it says."""
    assert [b.key for b in BUDGETS[1:]] == list(POLLUTANTS)
    request_fields = ProjectRequest.model_fields
    for b in BUDGETS:
        assert {b.total, b.allocated, b.left} <= set(PARKS.field_names())
        assert PARKS.field(b.allocated).unit == PARKS.field(b.total).unit
        for site in (PARCELS, FACTORIES):
            assert site.field(b.earmarked).unit == PARKS.field(b.total).unit
        assert b.need_field is None or b.need_field in request_fields
    for u in UTILITIES:
        assert u.node_kind in INFRA_KINDS and u.fact in UTILITY_FACTS
        assert PARCELS.field(u.site_column).unit == u.unit
        assert u.spare_column in INFRASTRUCTURE.field_names()
        assert u.need_field in request_fields


def test_crystal_pulling_gets_ready_parcels_with_power(zone: Zone) -> None:
    result = _example("daheng_crystal_pulling.json", zone)
    assert result.sites, "大恒 phase 1 should find sites"
    for site in result.sites:
        assert all(c.ok for c in site.checks)
        assert 180 <= site.size <= 260
        power = next(c for c in site.connections if c.utility == "power")
        assert power.source and "kV" in power.source and power.spare_after >= 0
    parcels = zone.parcels.frame.set_index("parcel_id")
    singles = [s for s in result.sites if s.kind == "parcel"]
    assert all(parcels.loc[s.ids[0], "land_use"] in ("M2", "M3") for s in singles)
    assert [s.rank for s in result.sites] == list(range(1, len(result.sites) + 1))
    assert all(a.score >= b.score for a, b in zip(result.sites, result.sites[1:], strict=False))


def test_jinko_like_base_is_offered_assembled_contiguous_sites(zone: Zone) -> None:
    result = _example("jinko_like_base.json", zone)
    groups = [s for s in result.sites if s.kind == "group"]
    assert groups, "no single parcel has 2,400 亩: the engine must assemble"
    metric = dict(zip(zone.parcels.ids, zone.parcels.metric[:], strict=True))
    for group in groups:
        assert 2400 <= group.size <= 3200
        assert len(group.ids) >= 2
        # Contiguous: closing the road gaps between members leaves one piece.
        merged = shapely.union_all([metric[i].buffer(23) for i in group.ids])
        assert merged.geom_type == "Polygon", group.ids
        assert any("相邻地块" in c.detail for c in group.checks)


def test_robot_maker_gets_idle_factories(zone: Zone) -> None:
    result = _example("cleaning_robot_factory.json", zone)
    assert result.layer == "factories" and result.sites
    factories = zone.factories.frame.set_index("factory_id")
    for site in result.sites:
        row = factories.loc[site.ids[0]]
        assert row["status"] == "idle"
        assert 4000 <= row["floor_m2"] <= 12000 and row["height_m"] >= 7
        assert row["rent_ym"] <= 22


def test_near_misses_fail_exactly_one_constraint_and_say_what_it_takes(zone: Zone) -> None:
    result = _example("hydraulic_cylinder_expansion.json", zone)
    assert result.near_misses
    ids = zone.parcels.ids.tolist()
    for miss in result.near_misses:
        i = ids.index(miss.ids[0])
        failing = [c.key for c in result._constraints if not c.ok[i]]
        assert failing == [miss.failed.key]
        assert miss.remedy and miss.failed.detail


def test_energy_quota_shortfall_names_the_amount(
    zone: Zone, frames: dict[str, gpd.GeoDataFrame]
) -> None:
    parks = frames["parks"].set_index("park_id")
    tight = parks["egy_total"] - parks["egy_alloc"]
    park = str(tight.idxmin())
    request = parse_request(
        {"name": "耗能项目", "industry": "光伏", "energy_tce": 50_000, "area": {"min_mu": 10}}
    )
    result = match(request, zone, near_misses=1_000)  # the park-wide shortfalls are the largest
    text = " ".join(
        m.failed.detail + m.remedy
        for m in result.near_misses
        if m.park_id == park and m.failed.key == "budget_energy"
    )
    assert f"{tight[park]:,.0f}" in text and "50,000" in text


def test_every_excluded_site_has_a_reason(zone: Zone) -> None:
    result = _example("hydraulic_cylinder_expansion.json", zone)
    excluded = result.excluded()
    assert len(excluded) + result.n_feasible == result.n_sites
    assert all(entry["reasons"] for entry in excluded)
    counted = sum(result.excluded_counts.values())
    assert counted == sum(len(entry["reasons"]) for entry in excluded)


def test_result_json_is_complete_and_reproducible(zone: Zone) -> None:
    result = _example("daheng_crystal_pulling.json", zone)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["data_versions"] == dict(zone.versions)
    again = match(parse_request(data["request"]), zone)
    assert [s.ids for s in again.sites] == [s.ids for s in result.sites]
    site = data["sites"][0]
    assert set(site["contributions"]) == {c["key"] for c in data["criteria"]}
    assert sum(site["contributions"].values()) == pytest.approx(site["score"])
    assert site["rank_range"][0] <= site["rank"] <= site["rank_range"][1]


def test_topsis_is_offered_and_differs_only_in_scores(zone: Zone) -> None:
    request = load_request(EXAMPLES / "hydraulic_cylinder_expansion.json")
    topsis = match(request.model_copy(update={"method": "topsis"}), zone)
    plain = match(request, zone)
    assert topsis.method == "topsis"
    assert {s.ids for s in topsis.sites} & {s.ids for s in plain.sites}
    assert all(0 <= s.score <= 1 for s in topsis.sites)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        # Wrong as a whole, but the field to fill or fix is named.
        ({"name": "x", "industry": "y"}, "area.min_mu"),
        ({"name": "x", "industry": "y", "area": {"min_mu": -5}}, "area.min_mu"),
        (
            {"name": "x", "industry": "y", "area": {"min_mu": 5}, "emissions_t": {"co2": 1}},
            "emissions_t",
        ),
        (
            {"name": "x", "industry": "y", "area": {"min_mu": 5}, "weights": {"rail": -1}},
            "weights.rail",
        ),
        ({"name": "x", "industry": "y", "area": {"min_mu": 5}, "colour": "red"}, "colour"),
    ],
)
def test_invalid_requests_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_request(data)
    assert field in [p["field"] for p in caught.value.details["problems"]]


def test_unknown_weight_is_refused(zone: Zone) -> None:
    request = parse_request(
        {"name": "x", "industry": "y", "area": {"min_mu": 5}, "weights": {"beauty": 1.0}}
    )
    with pytest.raises(InvalidInput, match="beauty"):
        match(request, zone)


# -- oracles ------------------------------------------------------------------------------------
def _on_scale(matrix: np.ndarray, benefit: np.ndarray) -> np.ndarray:
    """The published example's matrix put on [0, 1] scales by hand (min–max)."""
    lo, hi = matrix.min(axis=0), matrix.max(axis=0)
    return np.where(benefit, matrix - lo, hi - matrix) / (hi - lo)


def test_topsis_matches_pymcdm_published_vector() -> None:
    matrix = np.array([[4, 4], [1, 5], [3, 2], [4, 2]], dtype=float)
    ours = score(_on_scale(matrix, np.array([True, False])), np.array([0.5, 0.5]), "topsis")
    np.testing.assert_allclose(ours, [0.6126, 0.0, 0.7829, 1.0], atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 40), cols=st.integers(2, 8))
def test_topsis_matches_pymcdm_on_the_scales(seed: int, rows: int, cols: int) -> None:
    """Our TOPSIS takes the scales' ends (1 and 0) as ideal and anti-ideal. pymcdm takes
    each column's max and min: with an all-1 and an all-0 row added, those are the same."""
    rng = np.random.default_rng(seed)
    scaled = rng.uniform(0, 1, (rows, cols))
    scaled[:, rng.integers(cols)] = rng.uniform(0, 1)  # a criterion the same for all
    weights = rng.uniform(0.1, 1, cols)
    weights /= weights.sum()
    augmented = np.vstack([scaled, np.ones(cols), np.zeros(cols)])
    oracle = TOPSIS(normalization_function=minmax_normalization)(
        augmented, weights, np.ones(cols), validation=False
    )
    np.testing.assert_allclose(score(scaled, weights, "topsis"), oracle[:rows], atol=1e-12)


land_requests = st.fixed_dictionaries(
    {
        "name": st.just("随机项目"),
        "industry": st.sampled_from(["光伏/新能源", "装备制造", "信息技术"]),
    },
    optional={
        "area": st.tuples(st.floats(10, 400), st.one_of(st.none(), st.floats(0, 400))).map(
            lambda t: {"min_mu": t[0], "max_mu": None if t[1] is None else t[0] + t[1]}
        ),
        "pollution_class": st.sampled_from([1, 2, 3]),
        "power_mw": st.floats(0.5, 150),
        "min_voltage_kv": st.sampled_from([10, 35, 110, 220]),
        "energy_tce": st.floats(0, 80_000),
        "emissions_t": st.dictionaries(
            st.sampled_from(sorted(POLLUTANTS)), st.floats(0, 60), max_size=3
        ),
        "water_m3d": st.floats(0, 8000),
        "gas_nm3h": st.floats(0, 15_000),
        "heat_mw": st.floats(0, 150),
        "sewage_m3d": st.floats(0, 15_000),
        "logistics": st.fixed_dictionaries(
            {"distance": st.just("straight")},  # as the naive oracle measures
            optional={
                "max_interchange_km": st.floats(0.5, 8),
                "rail_required": st.booleans(),
                "max_airport_km": st.floats(10, 25),
            },
        ),
        "start_by": st.dates(dt.date(2026, 1, 1), dt.date(2030, 12, 31)).map(str),
        "investment_yi": st.floats(0.5, 80),
        "annual_tax_yi": st.floats(0.01, 5),
        "committed": st.fixed_dictionaries({}, optional={"energy_tce_per_wan": st.floats(0.1, 1)}),
        "power_reach_km": st.floats(0.5, 10),
        "utility_reach_km": st.floats(0.5, 10),
    },
).map(lambda d: {**d, "area": d.get("area", {"min_mu": 10})})


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=land_requests)
def test_feasible_sites_are_exactly_those_the_naive_oracle_finds(
    data: dict[str, object], zone: Zone, frames: dict[str, gpd.GeoDataFrame]
) -> None:
    request = parse_request(data)
    naive = feasible_parcels(request, frames, zone.metric_epsg)
    result = match(request, zone, top_n=5)
    assert result.feasible_ids() == set(naive[naive].index)
    assert all(0.0 <= s.score <= 1.0 for s in result.sites)
    assert all(m.shortfall > 0 and m.failures for m in result.near_misses)
    excluded = result.excluded()
    assert all(entry["reasons"] for entry in excluded)
    assert len(excluded) + result.n_feasible == result.n_sites
    assert all(s.rank_range[0] <= s.rank <= s.rank_range[1] for s in result.sites)
    assert all(f.key != "status" for m in result.near_misses for f in m.failures)


def test_requests_with_nan_or_infinity_are_refused() -> None:
    for bad in (
        {"weights": {"price": float("nan")}},
        {"area": {"min_mu": float("inf")}},
        {"emissions_t": {"so2": float("nan")}},
    ):
        with pytest.raises(InvalidInput):
            parse_request({"name": "x", "industry": "y", "area": {"min_mu": 5}, **bad})


def test_factory_power_in_mw_is_checked(zone: Zone) -> None:
    base = json.loads((EXAMPLES / "cleaning_robot_factory.json").read_text(encoding="utf-8"))
    base.pop("power_kva")
    huge = match(parse_request({**base, "power_mw": 45}), zone)
    assert huge.n_feasible == 0
    assert "factory_power" in {c.key for c in huge._constraints}
    with pytest.raises(InvalidInput, match="min_voltage_kv"):
        parse_request({**base, "min_voltage_kv": 110})


def test_ties_keep_order_and_ranks_agree_with_their_range() -> None:
    from matching.scoring import ranks_of, stability, top

    scores = np.array([0.2, 0.9, 0.9, 0.9, 0.1])
    assert top(scores, 2).tolist() == [1, 2]
    assert ranks_of(scores, np.array([1, 2, 3])).tolist() == [1, 2, 3]
    norm = np.array([[0.2], [0.9], [0.9], [0.9], [0.1]])
    low, high = stability(norm, np.array([1.0]), "weighted_sum", top(scores, 3))
    assert low.tolist() == [1, 2, 3] and high.tolist() == [1, 2, 3]


@pytest.mark.parametrize("method", ["weighted_sum", "topsis"])
def test_rank_stability_is_the_best_and_worst_rank_under_each_moved_weight(method: str) -> None:
    """The ranges come from one matrix product per sum: they equal ranking the sites
    again with :func:`score` under each weight moved ±20 % (the definition)."""
    from matching.scoring import STABILITY_STEP, ranks_of, score, stability, top

    rng = np.random.default_rng(7)
    norm = rng.random((2_000, 6)) ** 3  # skewed, as scaled criteria are
    weights = np.array([0.3, 0.25, 0.2, 0.1, 0.1, 0.05])
    best = top(score(norm, weights, method), 25)
    low = high = ranks_of(score(norm, weights, method), best)
    for j in range(len(weights)):
        for factor in (1 - STABILITY_STEP, 1 + STABILITY_STEP):
            moved = weights.copy()
            moved[j] *= factor
            ranks = ranks_of(score(norm, moved / moved.sum(), method), best)
            low, high = np.minimum(low, ranks), np.maximum(high, ranks)
    found = stability(norm, weights, method, best)
    assert found[0].tolist() == low.tolist() and found[1].tolist() == high.tolist()
    assert (high > low).any()  # the weights do move some ranks


TIGHTER = [
    (
        "area.min_mu",
        lambda r: r.model_copy(
            update={"area": r.area.model_copy(update={"min_mu": r.area.min_mu * 1.5})}
        ),
    ),
    ("energy_tce", lambda r: r.model_copy(update={"energy_tce": (r.energy_tce or 0) + 5000})),
    ("power_mw", lambda r: r.model_copy(update={"power_mw": (r.power_mw or 0) + 20})),
    ("power_reach_km", lambda r: r.model_copy(update={"power_reach_km": r.power_reach_km / 2})),
    ("pollution_class", lambda r: r.model_copy(update={"pollution_class": 3})),
    ("start_by", lambda r: r.model_copy(update={"start_by": dt.date(2026, 1, 1)})),
    (
        "max_interchange_km",
        lambda r: r.model_copy(
            update={
                "logistics": r.logistics.model_copy(
                    update={"max_interchange_km": _at_most(r.logistics.max_interchange_km, 1.5)}
                )
            }
        ),
    ),
]


def _at_most(km: float | None, bound: float) -> float:
    """``bound``, or ``km`` when the request asks for less already (1.5 km would loosen
    a request for 0.5)."""
    return bound if km is None else min(km, bound)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=land_requests, which=st.sampled_from(range(len(TIGHTER))))
def test_tightening_a_constraint_never_adds_a_site(
    data: dict[str, object], which: int, zone: Zone
) -> None:
    request = parse_request(data)
    name, tighten = TIGHTER[which]
    looser = match(request, zone, top_n=3).feasible_ids()
    tighter = match(tighten(request), zone, top_n=3).feasible_ids()
    assert tighter <= looser, name


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 1000))
def test_result_does_not_depend_on_input_row_order(
    seed: int, frames: dict[str, gpd.GeoDataFrame], zone: Zone
) -> None:
    rng = np.random.default_rng(seed)
    shuffled = {name: frame.iloc[rng.permutation(len(frame))] for name, frame in frames.items()}
    other = build_zone(shuffled)
    for name in (
        "daheng_crystal_pulling.json",
        "cleaning_robot_factory.json",
        "hydraulic_cylinder_expansion.json",
    ):
        a, b = _example(name, zone), _example(name, other)
        assert [(s.ids, round(s.score, 12)) for s in a.sites] == [
            (s.ids, round(s.score, 12)) for s in b.sites
        ]
        assert a.feasible_ids() == b.feasible_ids()


def test_precomputed_distances_match_postgis(
    postgis_store: Store, frames: dict[str, gpd.GeoDataFrame], zone: Zone
) -> None:
    store = postgis_store
    store.features.write(PARCELS, frames["parcels"], replace=True, actor=TESTER)
    store.features.write(INFRASTRUCTURE, frames["infrastructure"], replace=True, actor=TESTER)
    epsg = zone.metric_epsg
    with store.engine.connect() as conn:
        nearest = pd.read_sql(
            sa.text("""
            SELECT p.parcel_id, i.kind,
                   MIN(ST_Distance(ST_Transform(p.geom, :epsg), ST_Transform(i.geom, :epsg))) AS d
            FROM parcels_in_force p CROSS JOIN infrastructure i
            WHERE i.kind IN ('interchange', 'rail', 'airport', 'logistics')
            GROUP BY p.parcel_id, i.kind"""),
            conn,
            params={"epsg": epsg},
        )
        pairs = pd.read_sql(
            sa.text("""
            SELECT p.parcel_id, i.infra_id, i.kind,
                   ST_Distance(ST_Transform(p.geom, :epsg), ST_Transform(i.geom, :epsg)) AS d
            FROM parcels_in_force p JOIN infrastructure i
              ON i.kind IN ('substation', 'water', 'gas', 'heat', 'sewage')
             AND ST_DWithin(ST_Transform(p.geom, :epsg), ST_Transform(i.geom, :epsg), :reach)"""),
            conn,
            params={"reach": REACH_M, "epsg": epsg},
        )
    store.features.write(PARCELS, frames["parcels"].iloc[:0], replace=True, actor=TESTER)
    store.features.write(
        INFRASTRUCTURE, frames["infrastructure"].iloc[:0], replace=True, actor=TESTER
    )
    ids = list(zone.parcels.ids)
    for kind, group in nearest.groupby("kind"):
        ours = zone.parcels.distances.straight(str(kind))[0][
            [ids.index(p) for p in group["parcel_id"]]
        ]
        np.testing.assert_allclose(ours, group["d"], atol=0.01)
    infra_ids = zone.infrastructure["infra_id"].to_numpy()
    ours_pairs = {
        (ids[s], infra_ids[n]): d
        for kind in ("substation", "water", "gas", "heat", "sewage")
        for s, n, d in zip(
            *(getattr(zone.parcels.distances.pairs[kind], a) for a in ("site", "node", "dist_m")),
            strict=True,
        )
    }
    theirs = {
        (p, i): d for p, i, d in zip(pairs["parcel_id"], pairs["infra_id"], pairs["d"], strict=True)
    }
    assert ours_pairs.keys() == theirs.keys()
    assert max(abs(ours_pairs[k] - theirs[k]) for k in theirs) < 0.01


def test_request_files_are_valid() -> None:
    for path in EXAMPLES.glob("*.json"):
        assert isinstance(load_request(path), ProjectRequest)


def test_assembly_gap_is_the_planners_to_set(zone: Zone) -> None:
    request = load_request(EXAMPLES / "jinko_like_base.json")
    wide = match(request, zone)
    touching = match(request.model_copy(update={"assembly_gap_m": 0.0}), zone)
    assert [s for s in wide.sites if s.kind == "group"]
    # With no road crossings allowed, groups can only grow inside one block.
    metric = dict(zip(zone.parcels.ids, zone.parcels.metric[:], strict=True))
    for group in (s for s in touching.sites if s.kind == "group"):
        assert shapely.union_all([metric[i] for i in group.ids]).geom_type == "Polygon"


def test_groups_only_when_no_single_parcel_qualifies_unless_asked(zone: Zone) -> None:
    daheng = load_request(EXAMPLES / "daheng_crystal_pulling.json")
    auto = match(daheng, zone)
    assert auto.n_feasible > 0 and auto.n_groups == 0
    always = match(daheng.model_copy(update={"assemble": "always"}), zone)
    assert always.n_groups > 0 and {s.kind for s in always.sites} == {"parcel", "group"}
    jinko = load_request(EXAMPLES / "jinko_like_base.json")
    never = match(jinko.model_copy(update={"assemble": "never"}), zone)
    # No parcel has even half of 2,400 亩: none is "one step" away, but with nothing
    # feasible the closest parcels on offer are shown, largest first (least short).
    assert never.sites == () and len(never.near_misses) == 5
    shortfalls = [m.shortfall for m in never.near_misses]
    assert shortfalls == sorted(shortfalls)
    assert all(m.failed.key == "area" and m.remedy_kind == "assemble" for m in never.near_misses)
