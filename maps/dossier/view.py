"""A match result's dictionary as a dossier shows it: labelled, grouped, and every
number rounded to its unit's precision (:mod:`layers.units`). The PDF and the workbook
both read these rows, so they say the same thing."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from layers.units import amount, rounded, shown
from layers.vocabulary import POLLUTANTS
from matching.connections import CONNECTION_LABELS
from matching.request import ProjectRequest

UTILITY_ZH = {key: zh for key, (zh, _en) in CONNECTION_LABELS.items()}
CHECK_GROUPS = (
    ("硬约束 (hard constraints)", ""),
    ("标准地指标 vs 承诺 (standard-land indicators vs commitments)", "std_"),
    ("总量指标 (budgets: energy and emissions)", "budget_"),
)
"""The checks of a site, grouped by key prefix ("" takes the rest)."""
METHOD_ZH = {
    "weighted_sum": "加权求和 (weighted sum)",
    "topsis": "TOPSIS 逼近理想解 (TOPSIS)",
}
METHOD_TEXT = (
    "先以硬约束筛除不合格选址 (状态、用地性质、面积、电力与管网、总量指标、交通距离、"
    "标准地指标); 合格选址的各评分项按候选范围 min–max 归一化到 [0, 1] (1 为最好, 缺值计 0), "
    "再按权重合成得分。名次区间: 每个权重分别上下浮动 20% 时该选址的最好与最差名次。"
    " (Hard constraints exclude sites; each criterion is min–max normalised over the "
    "candidates and combined with the weights. The rank range is the best and worst rank "
    "when each weight moves by ±20 %.)"
)
REQUEST_ZH = {
    "name": "项目名称",
    "industry": "产业方向",
    "chain": "产业链环节",
    "site_kind": "选址类型",
    "investment_yi": "总投资",
    "annual_output_yi": "达产年产值",
    "annual_tax_yi": "达产年税收",
    "committed": "承诺指标",
    "invest_wan_per_mu": "亩均固定资产投资",
    "tax_wan_per_mu": "亩均税收",
    "output_wan_per_mu": "亩均产值",
    "energy_tce_per_wan": "单位产值能耗",
    "area": "用地",
    "min_mu": "最小面积",
    "max_mu": "最大面积",
    "prefer": "面积偏好",
    "factory": "厂房",
    "floor": "建筑面积",
    "min_m2": "最小面积",
    "max_m2": "最大面积",
    "min_clear_height_m": "最低净高",
    "min_floor_load_kn": "最低楼面荷载",
    "min_crane_t": "最低行车吨位",
    "fire_class": "火灾危险性类别",
    "max_rent_yuan_m2_month": "最高租金",
    "power_kva": "用电负荷",
    "power_mw": "用电负荷",
    "min_voltage_kv": "最低电压等级",
    "energy_tce": "年综合能耗",
    "emissions_t": "年排放量",
    "water_m3d": "用水量",
    "gas_nm3h": "用气量",
    "heat_mw": "用热 (蒸汽)",
    "sewage_m3d": "污水排放量",
    "logistics": "交通",
    "max_interchange_km": "距高速出入口上限",
    "rail_required": "需要铁路货运",
    "max_rail_km": "距铁路货运站上限",
    "max_airport_km": "距机场上限",
    "pollution_class": "工业用地类别",
    "land_use": "允许用地性质",
    "preferred_parks": "意向园区",
    "start_by": "最晚开工日期",
    "power_reach_km": "变电站搜索半径",
    "utility_reach_km": "管网搜索半径",
    "assemble": "拼合相邻地块",
    "assembly_gap_m": "可拼合间距",
    "weights": "权重",
    "method": "评分方法",
    **{key: zh for key, (zh, _en) in POLLUTANTS.items()},
}
VALUE_ZH = {"land": "土地 (land)", "factory": "厂房 (factory)"}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``AreaRange | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return next(filter(None, map(_model_of, typing.get_args(annotation))), None)
    return None


def _unit(path: tuple[str, ...]) -> str:
    """A request field's unit, from the model's ``x-unit`` (``""`` where it has none)."""
    model: type[BaseModel] | None = ProjectRequest
    unit = ""
    for part in path:
        spec = model.model_fields.get(part) if model is not None else None
        if spec is None:
            break
        extra = spec.json_schema_extra
        unit = str(extra.get("x-unit", "")) if isinstance(extra, dict) else ""
        model = _model_of(spec.annotation)
    return unit


def request_rows(request: dict[str, Any]) -> list[tuple[str, str, Any, str]]:
    """(field, 中文名, value, unit) of every field a request states, nested ones as
    ``area.min_mu``; numbers rounded to the unit's precision; empty fields left out."""
    return list(_flatten(request, ()))


def _flatten(data: dict[str, Any], path: tuple[str, ...]) -> Iterator[tuple[str, str, Any, str]]:
    for key, value in data.items():
        here = (*path, key)
        if value is None or value == [] or value == {}:
            continue
        if isinstance(value, dict):
            yield from _flatten(value, here)
            continue
        label = " · ".join(REQUEST_ZH.get(p, p) for p in here)
        unit = _unit(here)
        if isinstance(value, bool):
            value = "是" if value else "否"
        elif isinstance(value, float):
            value = rounded(float(value), unit)
        elif isinstance(value, list):
            value = "、".join(map(str, value))
        elif isinstance(value, str):
            value = VALUE_ZH.get(value, value)
        yield ".".join(here), label, value, unit


def criteria_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each criterion with its weight (rounded), whether it scores and why, and its scale."""
    return [
        {
            "key": c["key"],
            "name": c["name"],
            "unit": c["unit"],
            "weight": round(float(c.get("weight", result["weights"].get(c["key"], 0.0))), 3),
            "in_play": bool(c.get("in_play", True)),
            "why": str(c.get("why", ""))
            + (
                "; 各候选相同, 不区分名次 (the same for every candidate)"
                if c.get("constant")
                else ""
            ),
            "rule": str(c.get("rule", "")),
        }
        for c in result["criteria"]
    ]


def check_groups(site: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """A site's checks by group (hard constraints, standard-land indicators, budgets),
    each with its margin shown at its unit's precision; empty groups left out."""
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for title, prefix in CHECK_GROUPS:
        rows = [
            {
                **check,
                "margin_shown": "—"
                if check["margin"] is None
                else amount(check["margin"], check["unit"], with_unit=True),
                # A check met with a margin says no more than its margin does.
                "note": "" if check["ok"] and check["margin"] is not None else check["detail"],
            }
            for check in site["checks"]
            if _group_of(check["key"]) == prefix
        ]
        if rows:
            groups.append((title, rows))
    return groups


def _group_of(key: str) -> str:
    return next((p for _t, p in CHECK_GROUPS if p and key.startswith(p)), "")


def connection_rows(site: dict[str, Any]) -> list[dict[str, Any]]:
    """A site's connection plan: utility, source, distance in km, headroom after the
    project, whether the boundary connection needs work, and the note."""
    return [
        {
            "utility": UTILITY_ZH.get(c["utility"], c["utility"]),
            "source": c["source"] or "—",
            "distance": shown(None if c["distance_m"] is None else c["distance_m"] / 1000, "km"),
            "spare_after": shown(c["spare_after"], c["unit"]),
            "upgrade": "需增容/新建" if c["upgrade_needed"] else "",
            "note": c["note"],
        }
        for c in site["connections"]
    ]


def criterion_values(site: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    """A site's value on each criterion (at its unit's precision) and its contribution."""
    return [
        {
            "name": c["name"],
            "value": shown(site["criteria"].get(c["key"]), c["unit"]),
            "contribution": shown(site["contributions"].get(c["key"]), ""),
        }
        for c in result["criteria"]
    ]


def ids_text(ids: list[str], *, most: int = 4) -> str:
    """The first ``most`` ids of a site and how many there are in all.

    Examples
    --------
    >>> ids_text(["A", "B", "C"], most=2)
    'A、B 等 3 宗'
    """
    more = f" 等 {len(ids)} 宗" if len(ids) > most else ""
    return "、".join(ids[:most]) + more


def near_miss_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The near misses as the pages and the dossier list them: each with every failure,
    its remedy and kind, and how much it lacks in all ("—" for a match saved before near misses were
    ordered by shortfall: its one failure is its ``failed`` and ``remedy``)."""
    rows = []
    for miss in result["near_misses"]:
        failures = miss.get("failures") or [
            {**miss["failed"], "remedy": miss["remedy"], "remedy_label": "", "lacks": ""}
        ]
        shortfall = miss.get("shortfall")
        lacks = "—" if shortfall is None else f"{amount(100.0 * shortfall, '%')} %"
        rows.append({**miss, "failures": failures, "lacks": lacks})
    return rows
