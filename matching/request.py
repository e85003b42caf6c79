"""What an incoming project needs (项目需求), as planners describe it.

Loaded from JSON (see ``examples/requests/``). Every quantity states its unit in its
name. Invalid requests raise :class:`layers.errors.InvalidInput` naming each field.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from layers.errors import InvalidInput
from layers.vocabulary import LAND_USE, POLLUTANTS
from matching.scoring import Method

SiteKind = Literal["land", "factory"]
"""What a project asks for: land (parcels) or an existing factory building."""
FIRE_CLASSES = ("甲", "乙", "丙", "丁", "戊")  # most to least hazardous

# Land-use classes a project may sit on, by its pollution class (工业用地 一类/二类/三类):
# a cleaner project may use a class meant for dirtier ones, never the reverse.
POLLUTION_CLASS_LAND_USE: dict[int, tuple[str, ...]] = {
    1: ("M1", "M2", "M3"),
    2: ("M2", "M3"),
    3: ("M3",),
}


def _unit(unit: str) -> dict[str, JsonValue]:
    """A field's unit in the JSON schema (``/docs``): an ``x-`` key, as OpenAPI 3.0 allows."""
    return {"x-unit": unit}


POWER_FACTOR = 0.9
"""Used to turn a load in MW into apparent power in MVA when only MW is given."""


def _wrong(field: str, kind: str, message: str) -> PydanticCustomError:
    """An error of the request as a whole that names the field to fix (``ctx.field``, a
    dotted path), so a form can show it there."""
    # The message is a template: braces in it would be taken for placeholders.
    return PydanticCustomError(kind, message.replace("{", "(").replace("}", ")"), {"field": field})


class _Model(BaseModel):
    # NaN and Infinity parse as JSON numbers; a request may hold neither.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class AreaRange(_Model):
    """Land area wanted, in 亩; ``max_mu`` None means no upper limit."""

    min_mu: float = Field(
        gt=0, description="smallest site wanted, 亩", json_schema_extra=_unit("亩")
    )
    max_mu: float | None = Field(
        default=None, gt=0, description="largest site wanted, 亩", json_schema_extra=_unit("亩")
    )
    prefer: Literal["fit", "large"] = Field(
        default="fit", description="fit: closest to min_mu scores best; large: largest best"
    )
    footprint_m2: float | None = Field(
        default=None,
        gt=0,
        description="building footprint the project needs, m² (checked against the "
        "parcel's density cap)",
        json_schema_extra=_unit("m²"),
    )
    min_width_m: float | None = Field(
        default=None,
        gt=0,
        description="narrowest side the plant needs, m (checked against the parcel's "
        "width less setbacks)",
        json_schema_extra=_unit("m"),
    )

    @model_validator(mode="after")
    def _ordered(self) -> AreaRange:
        if self.max_mu is not None and self.max_mu < self.min_mu:
            raise ValueError(f"max_mu {self.max_mu} < min_mu {self.min_mu}")
        return self


class FloorRange(_Model):
    """Floor area wanted in a factory building, in m²."""

    min_m2: float = Field(gt=0, description="least floor area, m²", json_schema_extra=_unit("m²"))
    max_m2: float | None = Field(
        default=None, gt=0, description="most floor area, m²", json_schema_extra=_unit("m²")
    )

    @model_validator(mode="after")
    def _ordered(self) -> FloorRange:
        if self.max_m2 is not None and self.max_m2 < self.min_m2:
            raise ValueError(f"max_m2 {self.max_m2} < min_m2 {self.min_m2}")
        return self


class Logistics(_Model):
    max_interchange_km: float | None = Field(
        default=None,
        gt=0,
        description="farthest to an expressway interchange, km",
        json_schema_extra=_unit("km"),
    )
    rail_required: bool = Field(
        default=False, description="a rail freight station needed, by default within 5 km"
    )
    max_rail_km: float | None = Field(
        default=None,
        gt=0,
        description="farthest to a rail freight station, km",
        json_schema_extra=_unit("km"),
    )
    max_airport_km: float | None = Field(
        default=None, gt=0, description="farthest to an airport, km", json_schema_extra=_unit("km")
    )
    distance: Literal["road", "straight"] = Field(
        default="road",
        description="road: along the road network (straight line × 1.3 where it does not "
        "reach); straight: in a straight line. For the limits above and the distance scores",
    )


class Committed(_Model):
    """Indicators the investor commits to at full production (达产), checked against the
    parcel's standard-land bounds. Per-亩 figures not given are derived per site from
    the totals on the request and the site's area."""

    invest_wan_per_mu: float | None = Field(
        default=None,
        ge=0,
        description="fixed investment, 万元/亩",
        json_schema_extra=_unit("万元/亩"),
    )
    tax_wan_per_mu: float | None = Field(
        default=None, ge=0, description="tax a year, 万元/亩", json_schema_extra=_unit("万元/亩")
    )
    output_wan_per_mu: float | None = Field(
        default=None, ge=0, description="output a year, 万元/亩", json_schema_extra=_unit("万元/亩")
    )
    energy_tce_per_wan: float | None = Field(
        default=None,
        ge=0,
        description="energy per output, tce/万元",
        json_schema_extra=_unit("tce/万元"),
    )


class FactoryNeeds(_Model):
    floor: FloorRange = Field(description="floor area wanted, m²")
    min_clear_height_m: float | None = Field(
        default=None, ge=0, description="least clear height, m", json_schema_extra=_unit("m")
    )
    min_floor_load_kn: float | None = Field(
        default=None, ge=0, description="least floor load, kN/m²", json_schema_extra=_unit("kN/m²")
    )
    min_crane_t: float | None = Field(
        default=None, ge=0, description="least crane capacity, t", json_schema_extra=_unit("t")
    )
    fire_class: Literal["甲", "乙", "丙", "丁", "戊"] | None = Field(
        default=None, description="the project's fire-hazard class; the building must allow it"
    )
    max_rent_yuan_m2_month: float | None = Field(
        default=None,
        gt=0,
        description="highest rent, 元/m²/月 (yuan per m² a month)",
        json_schema_extra=_unit("元/m²/月"),
    )
    undated: Literal["ask", "now"] = Field(
        default="ask",
        description="a building with no available-from date: ask (scores 0 on "
        "availability) or now (taken as free now)",
    )


class ProjectRequest(_Model):
    """An incoming project and what it needs from a site."""

    name: str = Field(min_length=1, description="the project's name")
    industry: str = Field(min_length=1, description="e.g. 光伏/新能源; matched to park industries")
    chain: str | None = Field(default=None, description="产业链环节, e.g. 拉晶")
    investor: str | None = Field(
        default=None, max_length=200, description="the company or group behind the project"
    )
    site_kind: SiteKind = Field(
        default="land",
        description="land: a parcel (needs area); factory: a building to rent (needs factory)",
    )
    investment_yi: float | None = Field(
        default=None, ge=0, description="total, 亿元", json_schema_extra=_unit("亿元")
    )
    annual_output_yi: float | None = Field(
        default=None,
        ge=0,
        description="亿元/年 at full production",
        json_schema_extra=_unit("亿元/年"),
    )
    annual_tax_yi: float | None = Field(
        default=None,
        ge=0,
        description="亿元/年 at full production",
        json_schema_extra=_unit("亿元/年"),
    )
    committed: Committed = Field(
        default=Committed(), description="indicators committed to at full production (达产)"
    )
    area: AreaRange | None = Field(default=None, description="land wanted, 亩 (land requests)")
    factory: FactoryNeeds | None = Field(
        default=None, description="the building wanted (factory requests)"
    )
    power_kva: float | None = Field(
        default=None,
        ge=0,
        description="electric load, kVA (or give power_mw)",
        json_schema_extra=_unit("kVA"),
    )
    power_mw: float | None = Field(
        default=None,
        ge=0,
        description=f"electric load, MW (taken at power factor {POWER_FACTOR} "
        "when power_kva is not given)",
        json_schema_extra=_unit("MW"),
    )
    min_voltage_kv: float | None = Field(
        default=None,
        ge=0,
        description="lowest supply voltage, kV (land requests)",
        json_schema_extra=_unit("kV"),
    )
    energy_tce: float | None = Field(
        default=None,
        ge=0,
        description="annual energy use, tce/年",
        json_schema_extra=_unit("tce/年"),
    )
    emissions_t: dict[str, float] = Field(
        default_factory=dict,
        description=f"t/年 per pollutant ({', '.join(POLLUTANTS)})",
        json_schema_extra=_unit("t/年"),
    )
    water_m3d: float | None = Field(
        default=None, ge=0, description="water supply, m³/d", json_schema_extra=_unit("m³/d")
    )
    gas_nm3h: float | None = Field(
        default=None, ge=0, description="natural gas, Nm³/h", json_schema_extra=_unit("Nm³/h")
    )
    heat_mw: float | None = Field(
        default=None, ge=0, description="heat (steam), MW", json_schema_extra=_unit("MW")
    )
    sewage_m3d: float | None = Field(
        default=None, ge=0, description="sewage treated, m³/d", json_schema_extra=_unit("m³/d")
    )
    logistics: Logistics = Field(default=Logistics(), description="distances to transport, km")
    pollution_class: Literal[1, 2, 3] | None = Field(
        default=None, description="工业用地 class the project needs: 1 cleanest, 3 dirtiest"
    )
    land_use: tuple[str, ...] | None = Field(
        default=None, description="allowed land-use classes; overrides pollution_class"
    )
    preferred_parks: tuple[str, ...] = Field(
        default=(), description="park ids that fit the project (scored as its industry is)"
    )
    start_by: dt.date | None = Field(default=None, description="site must be ready by then")
    power_reach_km: float = Field(
        default=5.0,
        gt=0,
        le=10,
        description="farthest substation considered, km",
        json_schema_extra=_unit("km"),
    )
    utility_reach_km: float = Field(
        default=5.0,
        gt=0,
        le=10,
        description="farthest water, gas, heat or sewage works considered, km",
        json_schema_extra=_unit("km"),
    )
    assemble: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="assemble parcel groups: auto = only when no single parcel qualifies",
    )
    assembly_gap_m: float = Field(
        default=45.0,
        ge=0,
        le=100,
        description="parcels this far apart (a road between them) may be assembled together, m",
        json_schema_extra=_unit("m"),
    )
    weights: dict[str, float] = Field(
        default_factory=dict, description="relative weight per criterion (0 to 1e6, no unit)"
    )
    method: Method = Field(default="weighted_sum", description="how criteria are combined")

    @model_validator(mode="after")
    def _consistent(self) -> ProjectRequest:
        if self.site_kind == "land" and self.area is None:
            raise _wrong("area.min_mu", "land_needs_area", "a land request needs area (min_mu …)")
        if self.site_kind == "factory" and self.factory is None:
            raise _wrong(
                "factory.floor.min_m2",
                "factory_needs_floor",
                "a factory request needs factory (floor …)",
            )
        unknown = sorted(set(self.emissions_t) - set(POLLUTANTS))
        if unknown:
            raise _wrong(
                "emissions_t",
                "unknown_key",
                f"unknown pollutants {unknown}; known: {sorted(POLLUTANTS)}",
            )
        for pollutant, value in self.emissions_t.items():
            if value < 0:
                raise _wrong(f"emissions_t.{pollutant}", "negative", "emissions must be ≥ 0")
        if self.land_use is not None:
            bad = sorted(set(self.land_use) - set(LAND_USE))
            if bad:
                raise _wrong(
                    "land_use",
                    "unknown_key",
                    f"unknown land-use classes {bad}; known: {list(LAND_USE)}",
                )
        for key, weight in self.weights.items():
            if not 0 <= weight <= 1e6:
                raise _wrong(f"weights.{key}", "weight_range", "weights must be between 0 and 1e6")
        if self.site_kind == "factory" and self.min_voltage_kv is not None:
            raise _wrong(
                "min_voltage_kv",
                "land_only",
                "min_voltage_kv applies to land requests; a factory's supply is "
                "checked as power_kva or power_mw",
            )
        return self

    @property
    def power_mva(self) -> float | None:
        """Apparent power needed, in MVA."""
        if self.power_kva is not None:
            return self.power_kva / 1000.0
        if self.power_mw is not None:
            return self.power_mw / POWER_FACTOR
        return None

    @property
    def allowed_land_use(self) -> tuple[str, ...] | None:
        if self.land_use is not None:
            return self.land_use
        if self.pollution_class is not None:
            return POLLUTION_CLASS_LAND_USE[self.pollution_class]
        return None


def parse_request(data: object, *, source: str = "request") -> ProjectRequest:
    """Validate a request, naming every wrong field in one :class:`InvalidInput`."""
    try:
        return ProjectRequest.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": field_of(err) or "(request)", "message": err["msg"]} for err in exc.errors()
        ]
        listed = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise InvalidInput(
            f"{source}: 项目需求无效 (invalid request): {listed}", details={"problems": problems}
        ) from None


def field_of(error: ErrorDetails) -> str:
    """The dotted path of the field an error is about: the one it names (see
    :func:`_wrong`), else where the validator found it."""
    named = (error.get("ctx") or {}).get("field")
    return str(named) if named else ".".join(str(p) for p in error["loc"])


def load_request(path: Path) -> ProjectRequest:
    """Read a request from a JSON file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path.name}: 无法读取 JSON (cannot read JSON): {exc}") from None
    return parse_request(data, source=path.name)
