"""What the API takes and answers, as the OpenAPI document shows it: examples of bodies
and the models of the main routes' answers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

PROJECT_EXAMPLES: dict[str, Example] = {
    "land": {
        "summary": "用地项目 (a project that needs land)",
        "value": {"name": "小项目", "industry": "装备制造", "area": {"min_mu": 20, "max_mu": 200}},
    },
    "factory": {
        "summary": "租赁厂房 (a project that rents a factory)",
        "value": {
            "name": "清洁机器人扩产",
            "industry": "装备制造",
            "site_kind": "factory",
            "factory": {"floor": {"min_m2": 4000, "max_m2": 12000}},
        },
    },
}
"""Project requests for the API docs; ``examples/requests`` has complete ones."""


Number = Annotated[int | float, WithJsonSchema({"type": "number"})]
"""A number answered as it was stored: ``1`` stays ``1``, not ``1.0``."""


class _Answer(BaseModel):
    # An answer is what the route built, shown as is: a key the model does not declare
    # is an error in the tests, not a key silently dropped for clients.
    model_config = ConfigDict(extra="forbid")


class Link(_Answer):
    href: str
    rel: str = Field(description="self, items, diff or enclosure")
    type: str | None = Field(default=None, exclude_if=lambda v: v is None)


class StockRelease(_Answer):
    """One version of the stock list: staged, published (in force or superseded) or
    discarded."""

    id: int
    year: int
    status: str = Field(description="staged, published or discarded")
    base_id: int | None = Field(description="the release in force when it was staged")
    source_name: str = Field(description="the uploaded file's name, as a label")
    source_sha256: str
    features: int = Field(description="how many parcels it lists")
    data_sha256: str
    staged_by: str
    staged_at: str = Field(description="ISO 8601")
    decided_by: str | None
    decided_at: str | None = Field(description="when it was published or discarded, ISO 8601")
    links: list[Link]


class StockReleaseDetail(StockRelease):
    report: dict[str, Any] = Field(description="the validation report of the import")


class StockReleases(_Answer):
    current: int | None = Field(description="the id of the release in force")
    releases: list[StockRelease]


class StockListImport(_Answer):
    release: StockRelease
    report: dict[str, Any] = Field(description="the validation report")
    diff: dict[str, Any] = Field(description="added, removed and changed parcels")


class ReservationRecord(_Answer):
    """A site held for a signed project, and what it draws from the budgets."""

    id: int
    layer: str = Field(description="parcels or factories")
    site_id: str
    park_id: str
    project: str
    energy_tce: float = Field(description="annual energy use, tce/年")
    emissions: dict[str, Number] = Field(description="t/年 per pollutant")
    power_mva: float = Field(description="MVA")
    substation_id: str | None
    status: str = Field(description="active or released")
    reserved_by: str
    reserved_at: str = Field(description="ISO 8601")
    released_by: str | None
    released_at: str | None = Field(description="ISO 8601")
    expires_on: str | None = Field(
        description="the last day it holds (ISO 8601 date, Asia/Shanghai); none: until released"
    )
    match_id: str | None = Field(description="the saved match it was chosen from")
    release_reason: str | None = Field(description="why it was released (expiry says so)")


class LedgerRow(_Answer):
    """A ledger row as stored, with the version an edit is made from."""

    layer: str
    id: str
    version: int
    values: dict[str, Any] = Field(description="the row's fields (see docs/layers.md)")


class LedgerHistoryEntry(_Answer):
    """One edit of a ledger row."""

    id: int
    layer: str
    feature_id: str
    quarter: str
    version: int = Field(description="the row's version the edit made")
    before: dict[str, Any]
    after: dict[str, Any]
    changed_by: str
    changed_at: dt.datetime


class LedgerUpload(_Answer):
    updated: int = Field(description="how many rows the file changed")
    quarter: str


class RankingCounts(_Answer):
    sites: int = Field(description="sites considered")
    feasible: int = Field(description="sites that pass every constraint")
    assembled_groups: int = Field(description="groups of parcels assembled into one site")


class Ranking(_Answer):
    """Sites ranked for a project; geometry as GeoJSON in EPSG:4490."""

    request: dict[str, Any] = Field(description="the project request, defaults filled in")
    layer: str = Field(description="parcels or factories")
    method: str = Field(description="weighted_sum or topsis")
    weights: dict[str, Number] = Field(description="the weight of each criterion")
    criteria: list[dict[str, Any]] = Field(description="each criterion: key, name, unit, …")
    as_of: str = Field(description="ISO 8601")
    data_versions: dict[str, int] = Field(description="the version of each layer used")
    counts: RankingCounts
    sites: list[dict[str, Any]] = Field(
        description="the feasible sites, best first: rank, ids, score, checks, geometry, …"
    )
    near_misses: list[dict[str, Any]] = Field(
        description="the sites that lack least, relative to the requirements: each failure "
        "with its remedy, the remedy's kind and the shortfall"
    )
    excluded_counts: dict[str, int] = Field(description="sites excluded, by reason")
    excluded: list[dict[str, Any]] = Field(
        description="excluded sites with their reasons, each with its margin and unit"
    )


class DataVersions(_Answer):
    layers: dict[str, int] = Field(description="the version of each layer the match used")
    release: int | None = Field(description="the stock list release in force")


class SavedMatchInfo(_Answer):
    """A saved match as listed: who ran which project when, on which data."""

    id: str
    permalink: str = Field(description="reopens it as it was saved")
    created_at: str = Field(description="ISO 8601, UTC")
    actor: str = Field(description="who ran it")
    role: str
    project: str = Field(description="the project's name")
    investor: str | None
    layer: str = Field(description="parcels (a land request) or factories")
    versions: DataVersions
    rerun_of: str | None = Field(description="the saved match this one ran again")


class SavedMatches(_Answer):
    matches: list[SavedMatchInfo] = Field(description="newest first")
    total: int = Field(description="how many match the search")
    limit: int
    offset: int


class SavedMatchAnswer(SavedMatchInfo):
    """A saved match with its request and its result, byte for byte as it was answered."""

    request: dict[str, Any] = Field(description="the project request")
    top: int = Field(description="how many sites were ranked")
    excluded_limit: int | None = Field(description="how many excluded sites were listed")
    result: Ranking


class ChangeReason(_Answer):
    kind: str = Field(description="reservation, list, ledger, method or excluded")
    text: str


class SiteChangeAnswer(_Answer):
    site: str = Field(description="the site's ids, joined by + for an assembled group")
    name: str
    old_rank: int | None
    new_rank: int | None
    reasons: list[ChangeReason]


class MatchComparison(_Answer):
    """What changed from the saved match to the new run, and why where it can be told."""

    gained: list[SiteChangeAnswer]
    lost: list[SiteChangeAnswer]
    moved: list[SiteChangeAnswer]
    unchanged: int = Field(description="sites ranked the same")
    facts: list[ChangeReason] = Field(description="every change in the data in between")


class RerunAnswer(SavedMatchAnswer):
    """The new saved match (``rerun_of`` the old) and how it compares with the old."""

    comparison: MatchComparison


def _named(value: str) -> Any:
    """A JSON string that must be ``value`` (``enum``: OpenAPI 3.0 has no ``const``)."""
    return WithJsonSchema({"type": "string", "enum": [value]})


class Feature(BaseModel):
    """A GeoJSON feature (RFC 7946): a site or object with the fields the caller may see."""

    model_config = ConfigDict(extra="allow")  # GeoJSON allows foreign members

    type: Annotated[str, _named("Feature")]
    id: str | int = Field(description="the feature's id in its layer")
    geometry: dict[str, Any] | None = Field(
        description="GeoJSON geometry in the CRS asked for (crs=), CRS84 by default"
    )
    properties: dict[str, Any] | None = Field(
        description="the layer's fields (see /collections/{collectionId}/schema)"
    )
    links: list[Link] | None = Field(default=None, description="one feature: self, collection")


class FeatureCollection(BaseModel):
    """A page of a layer's features, with links to the next and previous pages."""

    model_config = ConfigDict(extra="allow")

    type: Annotated[str, _named("FeatureCollection")]
    features: list[Feature]
    links: list[Link] | None = Field(default=None, description="self, alternate, next, prev")
    # OGC API - Features names these members in camelCase.
    number_matched: int | None = Field(
        default=None, alias="numberMatched", description="features matching the query"
    )
    number_returned: int = Field(alias="numberReturned", description="features on this page")
    time_stamp: str | None = Field(
        default=None, alias="timeStamp", description="when the page was made, ISO 8601"
    )


GEOJSON_ANSWERS = (Feature, FeatureCollection)
"""Answers given as GeoJSON bytes built by the route, declared in the document by name
(a ``response_model`` would validate and serialise them again)."""


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}
