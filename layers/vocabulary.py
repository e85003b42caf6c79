"""The words of the catalog (see :mod:`layers.catalog`): coded values with their labels
(中文, English), pollutants, readiness facts, control indicators and infrastructure kinds."""

from __future__ import annotations

from layers.schema import Label

# Coded values and their labels (中文, English); the fields below hold them as ``labels``.
LAND_USE: dict[str, Label] = {
    "M1": ("一类工业用地", "Class-1 industrial"),
    "M2": ("二类工业用地", "Class-2 industrial"),
    "M3": ("三类工业用地", "Class-3 industrial"),
    "W1": ("一类物流仓储用地", "Class-1 logistics and warehousing"),
    "W2": ("二类物流仓储用地", "Class-2 logistics and warehousing"),
    "A35": ("科研用地", "research and development"),
}
STOCK_CATEGORY: dict[str, Label] = {
    "existing": ("存量可出让", "existing land, for transfer"),
    "new": ("增量可报批", "new land, for approval"),
}
PARCEL_STATUS: dict[str, Label] = {
    "available": ("可出让", "available"),
    "reserved": ("已预留", "reserved"),
    "transferred": ("已出让", "transferred"),
    "withdrawn": ("已撤回", "withdrawn"),
}
FACTORY_STATUS: dict[str, Label] = {
    "idle": ("闲置", "idle"),
    "reserved": ("已预留", "reserved"),
    "leased": ("已出租", "leased"),
    "sold": ("已出售", "sold"),
}
READINESS: dict[str, Label] = {
    "ready": ("净地可出让", "ready"),
    "partly_ready": ("部分就绪", "partly ready"),
    "not_ready": ("未就绪", "not ready"),
}
# 火灾危险性类别 of a building's production or storage (GB 50016), 甲 the most hazardous.
FIRE_CLASS: dict[str, Label] = {
    "甲": ("甲类", "Class A (甲)"),
    "乙": ("乙类", "Class B (乙)"),
    "丙": ("丙类", "Class C (丙)"),
    "丁": ("丁类", "Class D (丁)"),
    "戊": ("戊类", "Class E (戊)"),
}
ENV_APPROVAL: dict[str, Label] = {
    "approved": ("已批复", "approved"),
    "expired": ("已失效", "expired"),
    "none": ("无", "none"),
}
GAS_PRESSURE: dict[str, Label] = {
    "low": ("低压", "low pressure"),
    "medium": ("中压", "medium pressure"),
    "high": ("高压", "high pressure"),
}
ROAD_GRADE: dict[str, Label] = {
    "trunk": ("主干路", "trunk road"),
    "main": ("次干路", "secondary road"),
    "branch": ("支路", "branch road"),
}
# The Chinese labels alone, as matching/ reads them.
LAND_USE_ZH = {value: zh for value, (zh, _en) in LAND_USE.items()}
PARCEL_STATUS_ZH = {value: zh for value, (zh, _en) in PARCEL_STATUS.items()}
FACTORY_STATUS_ZH = {value: zh for value, (zh, _en) in FACTORY_STATUS.items()}

# Pollutants with a total-emission budget (排放总量), t/年.
POLLUTANTS: dict[str, tuple[str, str]] = {
    "so2": ("二氧化硫", "SO₂"),
    "nox": ("氮氧化物", "NOₓ"),
    "pm": ("颗粒物", "particulates"),
    "vocs": ("挥发性有机物", "VOCs"),
    "cod": ("化学需氧量", "COD"),
    "nh3n": ("氨氮", "NH₃-N"),
}

# Readiness facts (净地出让条件): key → (中文, English).
ASSESSMENTS: dict[str, tuple[str, str]] = {
    "as_env": ("区域环评", "regional environmental assessment"),
    "as_egy": ("区域能评", "regional energy assessment"),
    "as_min": ("压覆矿产评估", "overlying-minerals assessment"),
    "as_geo": ("地质灾害评估", "geological-hazard assessment"),
    "as_wat": ("水资源论证", "water-resources assessment"),
    "as_soil": ("水土保持", "soil and water conservation"),
    "as_rel": ("文物勘探", "cultural-relics survey"),
}
LAND_WORKS: dict[str, tuple[str, str]] = {
    "acq": ("土地收储", "land acquired and stored"),
    "clear": ("清表", "site cleared"),
    "level": ("场地平整", "site levelled"),
}
UTILITY_FACTS: dict[str, tuple[str, str]] = {
    "u_road": ("通路", "road"),
    "u_power": ("通电", "power"),
    "u_water": ("通给水", "water supply"),
    "u_drain": ("通排水", "drainage and sewer"),
    "u_tel": ("通信", "telecom"),
    "u_gas": ("通燃气", "gas"),
    "u_heat": ("通热力", "heat"),
}
FACTS = {**ASSESSMENTS, **LAND_WORKS, **UTILITY_FACTS}
FACT_STATUS: dict[str, Label] = {
    "done": ("已完成", "done"),
    "planned": ("计划中", "planned"),
    "missing": ("未完成", "missing"),
    "exempt": ("不涉及", "exempt"),
}

# Standard-land control indicators and planning conditions: key → (中文, English, unit).
INDICATORS: dict[str, tuple[str, str, str]] = {
    "inv": ("固定资产投资强度", "investment intensity", "万元/亩"),
    "tax": ("亩均税收", "tax per mu", "万元/亩"),
    "out": ("亩均产值", "output per mu", "万元/亩"),
    "egy": ("单位能耗", "energy per unit value added", "吨标准煤/万元"),
    "far": ("容积率", "plot ratio", ""),
    "dens": ("建筑密度", "building density", "%"),
    "green": ("绿地率", "green ratio", "%"),
    "height": ("建筑限高", "building height", "m"),
}

INFRA_KINDS: dict[str, Label] = {
    "substation": ("变电站", "substation"),
    "water": ("水厂/供水节点", "water works"),
    "gas": ("燃气门站/调压站", "gas station"),
    "heat": ("热源/换热站", "heat source"),
    "sewage": ("污水处理厂", "sewage plant"),
    "interchange": ("高速出入口", "highway interchange"),
    "rail": ("铁路货运站/专用线", "rail freight station or siding"),
    "airport": ("机场", "airport"),
    "logistics": ("物流园", "logistics park"),
}
