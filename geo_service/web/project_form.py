"""The project form: every field of :class:`matching.request.ProjectRequest`, grouped as a
planner thinks of a project, and the way back from what a browser posts to a request.

The form has no rules of its own: what it posts becomes the request's JSON, and the same
pydantic model as the API's validates it. Each error comes back next to the field it
names, in the page's language, with every value kept as typed.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from geo_service.web.i18n import N_
from layers.vocabulary import LAND_USE, POLLUTANTS
from matching.profiles import PROFILES
from matching.request import ProjectRequest, field_of

Widget = Literal["text", "number", "date", "bool", "choice", "many"]


@dataclass(frozen=True)
class FormField:
    """One input: ``name`` is the dotted path of the request field it fills."""

    name: str
    widget: Widget
    label: str | tuple[str, str]
    """An English message id, or a (zh, en) pair from a label table."""
    unit: str | None = None
    default: object = None
    choices: tuple[tuple[str, str | tuple[str, str]], ...] = ()
    help: str | None = None
    required: bool = False
    only: str | None = None
    """Shown for this site kind only (``land`` or ``factory``)."""
    suggested: object = None
    """What applies when the input is left empty (shown, not filled in: a weight typed
    here counts as the project's own)."""


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    fields: tuple[FormField, ...]
    folded: bool = False


# Labels and help of each request field (English message ids); units and defaults come
# from the model itself.
_LABELS: dict[str, tuple[str, str | None]] = {
    "name": (N_("Project name"), None),
    "investor": (N_("Investor"), N_("The company or group behind the project.")),
    "industry": (
        N_("Industry"),
        N_("Matched to the industries each park hosts, e.g. 光伏/新能源."),
    ),
    "chain": (N_("Industrial-chain link"), N_("产业链环节, e.g. 拉晶 (crystal pulling).")),
    "site_kind": (N_("The project needs"), None),
    "investment_yi": (N_("Total investment"), None),
    "annual_output_yi": (N_("Annual output at full production"), None),
    "annual_tax_yi": (N_("Annual tax at full production"), None),
    "preferred_parks": (N_("Parks that fit the project"), None),
    "area.min_mu": (N_("Smallest site"), N_("1 亩 = 666.67 m².")),
    "area.max_mu": (N_("Largest site"), N_("Leave empty for no upper limit.")),
    "area.prefer": (N_("Prefer"), None),
    "area.footprint_m2": (
        N_("Building footprint needed"),
        N_("Checked against each parcel's building density cap (建筑密度上限)."),
    ),
    "area.min_width_m": (
        N_("Narrowest side the plant needs"),
        N_("Checked against each parcel's width less its setbacks (建筑退线)."),
    ),
    "pollution_class": (
        N_("Pollution class"),
        N_("Industrial land class the project needs: 1 cleanest, 3 dirtiest."),
    ),
    "land_use": (N_("Allowed land uses"), N_("Overrides the pollution class when chosen.")),
    "assemble": (N_("Assemble neighbouring parcels"), None),
    "assembly_gap_m": (N_("Parcels this far apart may be assembled"), None),
    "factory.floor.min_m2": (N_("Least floor area"), None),
    "factory.floor.max_m2": (N_("Most floor area"), None),
    "factory.min_clear_height_m": (N_("Least clear height"), None),
    "factory.min_floor_load_kn": (N_("Least floor load"), None),
    "factory.min_crane_t": (N_("Least crane capacity"), None),
    "factory.fire_class": (N_("Fire-hazard class of the production"), None),
    "factory.max_rent_yuan_m2_month": (N_("Highest rent"), None),
    "factory.undated": (
        N_("Buildings with no available-from date"),
        N_("Ask the owner (scores 0 on availability), or take them as free now."),
    ),
    "energy_tce": (
        N_("Annual energy use"),
        N_("In tonnes of standard coal equivalent (吨标准煤), drawn from the park's budget."),
    ),
    "power_mw": (N_("Electric load (MW)"), N_("Taken at power factor 0.9 when kVA is empty.")),
    "power_kva": (N_("Electric load (kVA)"), None),
    "min_voltage_kv": (N_("Lowest supply voltage"), None),
    "water_m3d": (N_("Water supply"), None),
    "gas_nm3h": (N_("Natural gas"), None),
    "heat_mw": (N_("Heat (steam)"), None),
    "sewage_m3d": (N_("Sewage treated"), None),
    "power_reach_km": (N_("Farthest substation considered"), None),
    "utility_reach_km": (N_("Farthest water, gas, heat or sewage works considered"), None),
    "logistics.max_interchange_km": (N_("Farthest to an expressway interchange"), None),
    "logistics.rail_required": (N_("Rail freight needed"), N_("By default within 5 km.")),
    "logistics.max_rail_km": (N_("Farthest to a rail freight station"), None),
    "logistics.max_airport_km": (N_("Farthest to an airport"), None),
    "logistics.distance": (
        N_("Distances measured"),
        N_("By road: along the road network, or straight line × 1.3 where no road reaches."),
    ),
    "committed.invest_wan_per_mu": (
        N_("Investment intensity"),
        N_(
            "投资强度: fixed investment per 亩 the investor commits to; checked against the "
            "parcel's standard-land minimum."
        ),
    ),
    "committed.output_wan_per_mu": (N_("Output per 亩"), None),
    "committed.tax_wan_per_mu": (N_("Tax per 亩"), N_("亩均税收, a year at full production.")),
    "committed.energy_tce_per_wan": (N_("Energy per output"), None),
    "start_by": (N_("Site ready by"), N_("The site must be ready to build on by this date.")),
    "method": (N_("Ranking method"), None),
}
_CHOICES: dict[str, tuple[tuple[str, str | tuple[str, str]], ...]] = {
    "site_kind": (("land", N_("Land (a parcel)")), ("factory", N_("A factory building to rent"))),
    "area.prefer": (("fit", N_("closest to the smallest size")), ("large", N_("largest"))),
    "assemble": (
        ("auto", N_("only when no single parcel qualifies")),
        ("always", N_("always")),
        ("never", N_("never")),
    ),
    "pollution_class": (("1", N_("Class 1")), ("2", N_("Class 2")), ("3", N_("Class 3"))),
    "factory.fire_class": tuple((c, (c, c)) for c in ("甲", "乙", "丙", "丁", "戊")),
    "land_use": tuple(LAND_USE.items()),
    "method": (("weighted_sum", N_("weighted sum")), ("topsis", N_("TOPSIS"))),
    "factory.undated": (("ask", N_("ask the owner")), ("now", N_("free now"))),
    "logistics.distance": (("road", N_("by road")), ("straight", N_("in a straight line"))),
}
_REQUIRED = ("name", "industry", "area.min_mu", "factory.floor.min_m2")
"""Marked as required; the last two only for their site kind."""
_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "project",
        N_("Project"),
        ("name", "investor", "industry", "chain", "site_kind", "investment_yi",
         "annual_output_yi", "annual_tax_yi", "preferred_parks"),
    ),
    (
        "land",
        N_("Land"),
        ("area.min_mu", "area.max_mu", "area.prefer", "area.footprint_m2", "area.min_width_m",
         "pollution_class", "land_use", "assemble", "assembly_gap_m"),
    ),
    (
        "factory",
        N_("Factory"),
        ("factory.floor.min_m2", "factory.floor.max_m2", "factory.min_clear_height_m",
         "factory.min_floor_load_kn", "factory.min_crane_t", "factory.fire_class",
         "factory.max_rent_yuan_m2_month", "factory.undated"),
    ),
    ("energy", N_("Energy and emissions"), ("energy_tce", "emissions_t")),
    (
        "utilities",
        N_("Power and utilities"),
        ("power_mw", "power_kva", "min_voltage_kv", "water_m3d", "gas_nm3h", "heat_mw",
         "sewage_m3d", "power_reach_km", "utility_reach_km"),
    ),
    (
        "logistics",
        N_("Logistics"),
        ("logistics.max_interchange_km", "logistics.rail_required", "logistics.max_rail_km",
         "logistics.max_airport_km", "logistics.distance"),
    ),
    (
        "committed",
        N_("Standard-land commitments"),
        ("committed.invest_wan_per_mu", "committed.output_wan_per_mu",
         "committed.tax_wan_per_mu", "committed.energy_tce_per_wan"),
    ),
    ("time", N_("Time"), ("start_by",)),
    ("method", N_("Weights and method"), ("method", "weights")),
)  # fmt: skip


def leaves(
    model: type[BaseModel] = ProjectRequest, prefix: str = ""
) -> Iterator[tuple[str, FieldInfo]]:
    """Every field of the request a value can be typed into, by dotted path."""
    for name, info in model.model_fields.items():
        nested = _model_of(info.annotation)
        if nested is not None:
            yield from leaves(nested, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", info


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for option in (annotation, *typing.get_args(annotation)):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def _widget(path: str, annotation: Any) -> Widget:
    if path in _CHOICES:
        return "many" if path == "land_use" else "choice"
    if typing.get_origin(annotation) is tuple:  # a list of values: one box each
        return "many"
    options = set(typing.get_args(annotation)) - {type(None)} or {annotation}
    if bool in options:
        return "bool"
    if float in options or int in options:
        return "number"
    if dt.date in options:
        return "date"
    if any(typing.get_origin(o) is tuple for o in options):
        return "many"
    return "text"


def _field(path: str, info: FieldInfo, parks: Mapping[str, str]) -> FormField:
    label, help_ = _LABELS[path]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    default = None if info.default in (PydanticUndefined, None) else info.default
    only = "land" if path.startswith("area.") or path in ("pollution_class", "land_use",
        "assemble", "assembly_gap_m", "min_voltage_kv") else None  # fmt: skip
    only = "factory" if path.startswith("factory.") else only
    choices = tuple(parks.items()) if path == "preferred_parks" else _CHOICES.get(path, ())
    return FormField(
        name=path,
        widget=_widget(path, info.annotation),
        label=label,
        unit=str(extra["x-unit"]) if "x-unit" in extra else None,
        default=default if not isinstance(default, tuple | dict) else None,
        choices=choices,
        help=help_,
        required=path in _REQUIRED,
        only=only,
    )


def _expanded(path: str, kind: str) -> tuple[FormField, ...]:
    """The fields of a request field that holds one value per key: the pollutants, the
    criteria's weights (those of the site kind, with their default weights)."""
    if path == "emissions_t":
        return tuple(
            FormField(f"emissions_t.{p}", "number", label, "t/年", only=None)
            for p, label in POLLUTANTS.items()
        )
    profile = PROFILES[kind]  # type: ignore[index]  # land or factory
    return tuple(
        FormField(
            f"weights.{c.key}",
            "number",
            _split(c.name),
            help=N_("Scores only when the project asks for it, or when a weight is typed here.")
            if c.optional
            else None,
            only=kind,
            suggested=0 if c.optional else c.weight,
        )
        for c in profile.criteria
    )


def _split(name: str) -> tuple[str, str]:
    """A criterion's "中文 (English)" name as a (zh, en) pair."""
    zh, _, en = name.partition(" (")
    return zh, en.rstrip(")") or zh


def groups(parks: Mapping[str, str]) -> tuple[Group, ...]:
    """The form's groups, for a zone whose parks are ``parks`` (id → name)."""
    infos = dict(leaves())
    out = []
    for key, title, paths in _GROUPS:
        fields: list[FormField] = []
        for path in paths:
            if path in ("emissions_t",):
                fields.extend(_expanded(path, "land"))
            elif path == "weights":
                fields.extend(_expanded(path, "land") + _expanded(path, "factory"))
            else:
                fields.append(_field(path, infos[path], parks))
        out.append(Group(key, title, tuple(fields), folded=key == "method"))
    return tuple(out)


def request_data(form: Mapping[str, Any], fields: tuple[FormField, ...]) -> dict[str, Any]:
    """The request's JSON from a posted form: empty inputs are left out (the model's
    defaults apply), fields of the other site kind too; numbers stay text when they are
    not numbers, so the model names them."""
    kind = str(form.get("site_kind") or "land")
    data: dict[str, Any] = {}
    for f in fields:
        if f.only is not None and f.only != kind:
            continue
        raw = form.getlist(f.name) if f.widget == "many" else form.get(f.name)  # type: ignore[attr-defined]
        value = _value(f, raw)
        if value is not None:
            _put(data, f.name, value)
    return data


def _value(f: FormField, raw: Any) -> Any:
    if f.widget == "bool":
        return True if raw else None
    if f.widget == "many":
        return [str(v) for v in raw if str(v).strip()] or None
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    if f.widget == "number":
        return typed_number(text)
    if f.name == "pollution_class" and text.isdigit():
        return int(text)
    return text


def typed_number(text: str) -> float | str:
    """A number typed in a form (thousands separators allowed), or the text as typed when
    it is none, so the model names the field."""
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return text


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        data = data.setdefault(key, {})
    data[last] = value


def form_values(request: Mapping[str, Any]) -> dict[str, Any]:
    """A request's JSON as the form's values, by dotted path (to fill the form)."""
    out: dict[str, Any] = {}

    def walk(value: Any, prefix: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{prefix}{key}.")
        else:
            out[prefix.rstrip(".")] = value

    walk(dict(request), "")
    return out


def validate(
    data: Mapping[str, Any],
) -> tuple[ProjectRequest | None, dict[str, list[dict[str, Any]]]]:
    """The request, or the errors by field path (``""`` for the request as a whole)."""
    try:
        return ProjectRequest.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, list[dict[str, Any]]] = {}
        for err in exc.errors():
            ctx = err.get("ctx") or {}
            path = field_of(err)
            errors.setdefault(path, []).append(
                {"type": err["type"], "msg": err["msg"], "ctx": {k: str(v) for k, v in ctx.items()}}
            )
        return None, errors


__all__ = [
    "FormField",
    "Group",
    "form_values",
    "groups",
    "leaves",
    "request_data",
    "typed_number",
    "validate",
]
