"""The connection plan of a site (水、电、气、路 配套方案): for each utility network, where
it would connect, how far, the headroom left after the project and whether the boundary
connection needs more; then its road access and the nearest highway interchange (and rail
freight station and airport when the request asks for them), by road unless the request
measures in a straight line."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from layers.catalog import UTILITIES
from layers.schema import Utility
from matching.roadnet import DETOUR
from matching.situation import Situation

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

ON_ROAD_M = 30.0
"""A site this close to a road's centre line fronts it (half the widest road)."""
NO_DEMAND = "项目未提需求 (no demand stated)"
"""The note of a network the request asks nothing of."""


@dataclass(frozen=True)
class Connection:
    """How a site would connect to one utility (水、电、气、路 配套方案)."""

    utility: str
    source: str | None
    source_id: str | None
    distance_m: float | None
    spare_after: float | None
    unit: str
    upgrade_needed: bool
    note: str


@dataclass(frozen=True)
class Link:
    """What the plan needs of one network for one request, prepared once per match."""

    name: str
    kind: str
    unit: str
    need: float | None
    spare: FloatArray
    qualifies: BoolArray
    reach_km: float
    capacity: FloatArray


def links(s: Situation, networks: tuple[Utility, ...]) -> list[Link]:
    """The request's need of each network and the nodes that can meet it."""
    request, zone = s.request, s.zone
    kinds = zone.node_column("kind")
    out = []
    for network in networks:
        need = getattr(request, network.need_field)
        spare = zone.node_floats(network.spare_column)
        power = network.name == "power"
        if power:
            mva = request.power_mva
            need = None if mva is None else mva * 1000.0
            spare = spare * 1000.0  # MVA → kVA, the unit of site capacities
        qualifies = (kinds == network.node_kind) & (spare >= (need or 0.0))  # unknown: never
        if power and request.min_voltage_kv:
            voltage = np.nan_to_num(zone.node_floats("voltage_kv"))
            qualifies &= voltage >= request.min_voltage_kv
        reach_km = request.power_reach_km if power else request.utility_reach_km
        capacity = s.sites.floats(network.site_column)
        out.append(
            Link(
                network.name,
                network.node_kind,
                network.unit,
                need,
                spare,
                qualifies,
                reach_km,
                capacity,
            )
        )
    return out


def connection_plan(
    s: Situation, members: tuple[int, ...], prepared: list[Link], *, has_access: bool
) -> tuple[Connection, ...]:
    """The plan for the site made of ``members`` (rows of the situation's sites).

    Looks only at the pairs of the site's own parcels, so it costs little per site."""
    out = [_network(s, members, link) for link in prepared]
    road = _road(s, members, has_access=has_access)
    return tuple(out + ([road] if road is not None else []) + _transport(s, members))


def _network(s: Situation, members: tuple[int, ...], link: Link) -> Connection:
    pairs, reach_m = s.sites.distances.pairs[link.kind], link.reach_km * 1000
    found: tuple[float, int] | None = None
    for member in members:
        nodes, dists = pairs.of_site(member)
        usable = np.flatnonzero((dists <= reach_m) & link.qualifies[nodes])
        if len(usable) and (found is None or dists[usable[0]] < found[0]):
            found = (float(dists[usable[0]]), int(nodes[usable[0]]))
    if found is None:
        # With no demand there is nothing to build: say so, as when a source is in reach.
        note = (
            NO_DEMAND
            if link.need is None
            else f"{link.reach_km:g} km 内无有余量的接入点, 需新建或扩容 "
            f"(no source with headroom within {link.reach_km:g} km)"
        )
        return Connection(link.name, None, None, None, None, link.unit, link.need is not None, note)
    distance, node = found
    short = False
    if link.need is None:
        note = NO_DEMAND
    else:
        # The boundary capacity matters only against a demand; the best member's counts.
        capacity = link.capacity[list(members)]
        known = capacity[~np.isnan(capacity)]
        have = float(known.max()) if len(known) else math.nan
        short = not have >= link.need
        if not short:
            note = "红线处容量满足 (boundary capacity suffices)"
        elif math.isnan(have):
            note = "红线处容量未知, 需核实 (boundary capacity unknown)"
        else:
            note = (
                f"红线处可接 {have:,.0f} {link.unit}, 需增容接入 "
                "(boundary connection needs upgrading)"
            )
    return Connection(
        link.name,
        str(s.zone.node_column("name")[node]),
        str(s.zone.node_column("infra_id")[node]),
        distance,
        float(link.spare[node] - (link.need or 0.0)),
        link.unit,
        short,
        note,
    )


def _road(s: Situation, members: tuple[int, ...], *, has_access: bool) -> Connection | None:
    road, road_dist = s.zone.network.nearest_road(s.sites.metric[np.array(members)])
    k = int(np.argmin(road_dist))
    if road[k] < 0:
        return None
    if has_access:
        note, needs_road = "现有厂房, 已有出入口 (existing building with access)", False
    elif road_dist[k] <= ON_ROAD_M:
        note, needs_road = "临路 (fronts the road)", False
    else:
        note, needs_road = "需修建连接道路 (needs an access road)", True
    return Connection(
        "road",
        str(s.zone.road_column("name")[road[k]]),
        str(s.zone.road_column("road_id")[road[k]]),
        float(road_dist[k]),
        None,
        "m",
        needs_road,
        note,
    )


TRANSPORT = (
    ("interchange", "highway", "高速出入口", "interchange"),
    ("rail", "rail", "铁路货运站", "rail freight station"),
    ("airport", "airport", "机场", "airport"),
)
"""Per transport kind: its row in the plan (``utility``) and its names."""
CONNECTION_LABELS: dict[str, tuple[str, str]] = {
    **{u.name: (u.zh, u.name) for u in UTILITIES},
    "road": ("道路", "road"),
    **{row: (zh, en) for _kind, row, zh, en in TRANSPORT},
    "highway": ("高速出入口", "highway interchange"),
}
"""(中文, English) of each row a connection plan may list, by its ``utility`` key."""


def _transport(s: Situation, members: tuple[int, ...]) -> list[Connection]:
    """The nearest interchange, and the nearest rail freight station and airport when the
    request asks for them: by road (with minutes) or in a straight line, as it measures."""
    asked = s.request.logistics
    wanted = {
        "interchange": True,
        "rail": asked.rail_required or asked.max_rail_km is not None,
        "airport": asked.max_airport_km is not None,
    }
    out = []
    for kind, utility, zh, en in TRANSPORT:
        found = _nearest(s, members, kind) if wanted[kind] else None
        if found is None:
            continue
        row, node, metres = found
        out.append(
            Connection(
                utility,
                str(s.zone.node_column("name")[node]),
                str(s.zone.node_column("infra_id")[node]),
                metres,
                None,
                "m",
                False,
                _how_far(s, kind, row, zh, en),
            )
        )
    return out


def _nearest(s: Situation, members: tuple[int, ...], kind: str) -> tuple[int, int, float] | None:
    """The member nearest a ``kind``, that one, and the metres, as the request measures."""
    rows = np.array(members)
    metres, nearest = s.sites.distances.to(kind, s.request.logistics.distance)
    row = int(rows[int(np.argmin(metres[rows]))])
    return None if nearest[row] < 0 else (row, int(nearest[row]), float(metres[row]))


def _how_far(s: Situation, kind: str, row: int, zh: str, en: str) -> str:
    km = s.sites.distances.to(kind, s.request.logistics.distance)[0][row] / 1000.0
    if s.request.logistics.distance == "straight":
        return f"最近{zh}, 直线距离 {km:.1f} km (nearest {en}, straight line)"
    road = s.sites.distances.road[kind]
    minutes = f"{road.minutes[row]:.0f}"
    if road.estimated[row]:
        return (
            f"最近{zh}, 估算道路距离 {km:.1f} km, 约 {minutes} 分钟 (nearest {en}: "
            f"no road reaches it, straight line × {DETOUR:g} = {km:.1f} km, about {minutes} min)"
        )
    return (
        f"最近{zh}, 道路距离 {km:.1f} km, 约 {minutes} 分钟 "
        f"(nearest {en}: {km:.1f} km by road, about {minutes} min)"
    )
