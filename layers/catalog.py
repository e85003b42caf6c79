"""The layers of a development zone and their fields (see docs/layers.md).

Field naming: ``_lo``/``_hi`` are the lower/upper bound of a control indicator (a
bound with only ``_lo`` is "≥", only ``_hi`` is "≤", both is a range) and ``_due``
the date it must be met by; ``_st``/``_dt`` are the status and date of a readiness
fact (for ``planned`` the expected date). Units are in the field specs.
"""

from __future__ import annotations

from layers.schema import Audience, Budget, FieldSpec, LayerSpec, Utility
from layers.vocabulary import (
    ENV_APPROVAL,
    FACT_STATUS,
    FACTORY_STATUS,
    FACTS,
    FIRE_CLASS,
    GAS_PRESSURE,
    INDICATORS,
    INFRA_KINDS,
    LAND_USE,
    PARCEL_STATUS,
    POLLUTANTS,
    READINESS,
    ROAD_GRADE,
    STOCK_CATEGORY,
)

INTERNAL = Audience.INTERNAL
POLYGONAL = ("Polygon", "MultiPolygon")


def _fact_fields() -> tuple[FieldSpec, ...]:
    out: list[FieldSpec] = []
    for key, (zh, en) in FACTS.items():
        out.append(FieldSpec(f"{key}_st", "str", f"{zh}状态", f"{en}: status", labels=FACT_STATUS))
        out.append(FieldSpec(f"{key}_dt", "date", f"{zh}日期", f"{en}: date (expected if planned)"))
    return tuple(out)


def _indicator_fields() -> tuple[FieldSpec, ...]:
    out: list[FieldSpec] = []
    for key, (zh, en, unit) in INDICATORS.items():
        out.append(FieldSpec(f"{key}_lo", "float", f"{zh}下限", f"{en}: minimum", unit, minimum=0))
        out.append(FieldSpec(f"{key}_hi", "float", f"{zh}上限", f"{en}: maximum", unit, minimum=0))
        out.append(FieldSpec(f"{key}_due", "date", f"{zh}达标期限", f"{en}: to be met by"))
    return tuple(out)


def _budget_fields(*, carried: bool) -> tuple[FieldSpec, ...]:
    what_zh = "原用途结转" if carried else "区块核定"
    what_en = "carried over from previous use" if carried else "earmarked for the site"
    out = [
        FieldSpec(
            "egy_tce",
            "float",
            f"{what_zh}能耗指标",
            f"energy quota {what_en}",
            "吨标准煤/年",
            INTERNAL,
            minimum=0,
        )
    ]
    for key, (zh, en) in POLLUTANTS.items():
        out.append(
            FieldSpec(
                f"{key}_t",
                "float",
                f"{what_zh}{zh}排放量",
                f"{en} allowance {what_en}",
                "t/年",
                INTERNAL,
                minimum=0,
            )
        )
    return tuple(out)


PARKS = LayerSpec(
    name="parks",
    zh="园区",
    en="Parks",
    geometry_types=POLYGONAL,
    id_field="park_id",
    ledger=True,
    drawn_down=True,
    description="园区边界及季度台账 (能耗指标、环境容量)。",
    fields=(
        FieldSpec("park_id", "str", "园区编号", "park id", required=True),
        FieldSpec("name", "str", "园区名称", "name", required=True),
        FieldSpec("name_en", "str", "英文名称", "English name"),
        FieldSpec("industries", "str", "主导产业", "leading industries (separated by ;)"),
        FieldSpec("desk_tel", "str", "招商服务电话", "service-desk telephone"),
        FieldSpec("ledger_q", "str", "台账季度", "ledger quarter, e.g. 2026Q3", audience=INTERNAL),
        FieldSpec(
            "egy_total",
            "float",
            "能耗指标总量",
            "energy quota, total",
            "吨标准煤/年",
            INTERNAL,
            minimum=0,
        ),
        FieldSpec(
            "egy_alloc",
            "float",
            "能耗指标已分配",
            "energy quota, allocated",
            "吨标准煤/年",
            INTERNAL,
            minimum=0,
        ),
        *(
            spec
            for key, (zh, en) in POLLUTANTS.items()
            for spec in (
                FieldSpec(
                    f"{key}_cap",
                    "float",
                    f"{zh}环境容量",
                    f"{en} capacity",
                    "t/年",
                    INTERNAL,
                    minimum=0,
                ),
                FieldSpec(
                    f"{key}_used", "float", f"{zh}已使用", f"{en} used", "t/年", INTERNAL, minimum=0
                ),
            )
        ),
        FieldSpec("note_int", "str", "内部备注", "internal notes", audience=INTERNAL),
        FieldSpec(
            "egy_left",
            "float",
            "能耗指标剩余",
            "energy quota, remaining",
            "吨标准煤/年",
            INTERNAL,
            derived=True,
        ),
        *(
            FieldSpec(
                f"{key}_left",
                "float",
                f"{zh}剩余容量",
                f"{en} remaining",
                "t/年",
                INTERNAL,
                derived=True,
            )
            for key, (zh, en) in POLLUTANTS.items()
        ),
    ),
)

PARCELS = LayerSpec(
    name="parcels",
    zh="地块",
    en="Parcels",
    geometry_types=POLYGONAL,
    id_field="parcel_id",
    released=True,
    on_offer="available",
    description="可出让土地 (存量可出让 / 增量可报批), 含规划条件、标准地控制指标与净地条件。",
    fields=(
        FieldSpec("parcel_id", "str", "宗地编号", "parcel id", required=True),
        FieldSpec("name", "str", "地块名称", "name"),
        FieldSpec("park_id", "str", "所属园区", "park id", required=True),
        FieldSpec("land_use", "str", "用地性质", "land-use class", required=True, labels=LAND_USE),
        FieldSpec(
            "stock_cat",
            "str",
            "存量/增量",
            "stock category",
            required=True,
            labels=STOCK_CATEGORY,
        ),
        FieldSpec(
            "list_year",
            "int",
            "清单年度",
            "stock-list year",
            required=True,
            minimum=2000,
            maximum=2100,
        ),
        FieldSpec("status", "str", "状态", "status", required=True, labels=PARCEL_STATUS),
        FieldSpec("decl_mu", "float", "申报面积", "declared area", "亩", minimum=0),
        FieldSpec("price_wmu", "float", "挂牌起始价", "listing start price", "万元/亩", minimum=0),
        FieldSpec(
            "floor_wmu",
            "float",
            "出让底价",
            "reserve (floor) price",
            "万元/亩",
            INTERNAL,
            minimum=0,
        ),
        FieldSpec("env_std", "str", "环境标准", "emission standard"),
        *_indicator_fields(),
        FieldSpec(
            "setback_m", "float", "建筑退线", "building setback from the boundary", "m", minimum=0
        ),
        FieldSpec(
            "power_kva",
            "float",
            "红线外可接电力容量",
            "power available at boundary",
            "kVA",
            minimum=0,
        ),
        FieldSpec("power_kv", "float", "接入电压等级", "supply voltage", "kV", minimum=0),
        FieldSpec("water_m3d", "float", "可供水量", "water available", "m³/日", minimum=0),
        FieldSpec("gas_nm3h", "float", "可供燃气量", "gas available", "Nm³/时", minimum=0),
        FieldSpec("heat_mw", "float", "可供热负荷", "heat available", "MW", minimum=0),
        FieldSpec(
            "sewage_m3d", "float", "可排污水量", "sewage capacity available", "m³/日", minimum=0
        ),
        *_budget_fields(carried=False),
        *_fact_fields(),
        FieldSpec(
            "contact", "str", "原权利人联系方式", "former holder's contact", audience=INTERNAL
        ),
        FieldSpec("note_int", "str", "内部备注", "internal notes", audience=INTERNAL),
        FieldSpec("area_m2", "float", "计算面积", "computed area", "m²", derived=True),
        FieldSpec("area_mu", "float", "计算面积", "computed area", "亩", derived=True),
        FieldSpec(
            "area_warn",
            "bool",
            "面积不符",
            "declared area differs from computed",
            derived=True,
            audience=INTERNAL,
        ),
        FieldSpec("readiness", "str", "净地程度", "readiness", derived=True, labels=READINESS),
        FieldSpec("gaps", "str", "欠缺条件", "readiness gaps", derived=True),
    ),
)

FACTORIES = LayerSpec(
    name="factories",
    zh="厂房",
    en="Factories",
    geometry_types=POLYGONAL,
    id_field="factory_id",
    ledger=True,
    on_offer="idle",
    description="闲置厂房与标准化厂房 (建筑轮廓)。",
    fields=(
        FieldSpec("factory_id", "str", "厂房编号", "factory id", required=True),
        FieldSpec("name", "str", "厂房名称", "name", required=True),
        FieldSpec("park_id", "str", "所属园区", "park id", required=True),
        FieldSpec("owner", "str", "产权单位", "owner", required=True),
        FieldSpec("owner_tel", "str", "产权单位联系人", "owner's contact", audience=INTERNAL),
        FieldSpec("floor_m2", "float", "建筑面积", "floor area", "m²", required=True, minimum=0),
        FieldSpec("divisible", "bool", "可分割出租", "divisible: may be leased in part"),
        FieldSpec("unit_m2", "float", "最小分租单元", "smallest lettable unit", "m²", minimum=0),
        FieldSpec("floors", "int", "层数", "floors", minimum=1),
        FieldSpec("height_m", "float", "净高", "clear height", "m", minimum=0),
        FieldSpec("load_kn", "float", "楼面荷载", "floor load", "kN/m²", minimum=0),
        FieldSpec("crane_t", "float", "行车吨位", "crane capacity", "t", minimum=0),
        FieldSpec("power_kva", "float", "供电容量", "power capacity", "kVA", minimum=0),
        FieldSpec("water", "bool", "已通供水", "water connected"),
        FieldSpec("gas", "bool", "已通燃气", "gas connected"),
        *_budget_fields(carried=True),
        FieldSpec("fire_cls", "str", "火灾危险性类别", "fire class", labels=FIRE_CLASS),
        FieldSpec(
            "env_appr",
            "str",
            "原用途环评",
            "previous use: environmental approval",
            labels=ENV_APPROVAL,
        ),
        FieldSpec("rent_ym", "float", "租金", "rent", "元/m²/月", minimum=0),
        FieldSpec("price_w", "float", "售价", "sale price", "万元", minimum=0),
        FieldSpec(
            "rent_floor",
            "float",
            "最低租金",
            "lowest acceptable rent",
            "元/m²/月",
            INTERNAL,
            minimum=0,
        ),
        FieldSpec("avail_from", "date", "可用日期", "available from"),
        FieldSpec("status", "str", "状态", "status", required=True, labels=FACTORY_STATUS),
        FieldSpec("note_int", "str", "内部备注", "internal notes", audience=INTERNAL),
    ),
)

INFRASTRUCTURE = LayerSpec(
    name="infrastructure",
    zh="基础设施",
    en="Infrastructure",
    geometry_types=("Point",),
    id_field="infra_id",
    ledger=True,
    drawn_down=True,
    description="变电站、水气热污水节点、高速出入口、铁路货运、机场、物流园。剩余容量为季度台账。",
    fields=(
        FieldSpec("infra_id", "str", "设施编号", "facility id", required=True),
        FieldSpec("kind", "str", "类型", "kind", required=True, labels=INFRA_KINDS),
        FieldSpec("name", "str", "名称", "name", required=True),
        FieldSpec("name_en", "str", "英文名称", "English name"),
        FieldSpec("voltage_kv", "float", "电压等级", "voltage", "kV", minimum=0),
        FieldSpec(
            "cap_mva", "float", "主变容量", "transformer capacity", "MVA", INTERNAL, minimum=0
        ),
        FieldSpec("spare_mva", "float", "剩余容量", "spare capacity", "MVA", INTERNAL, minimum=0),
        FieldSpec(
            "spare_m3d",
            "float",
            "剩余能力(水/污水)",
            "spare water or sewage capacity",
            "m³/日",
            INTERNAL,
            minimum=0,
        ),
        FieldSpec("gas_press", "str", "压力级制", "gas pressure level", labels=GAS_PRESSURE),
        FieldSpec(
            "spare_nm3h",
            "float",
            "剩余供气能力",
            "spare gas capacity",
            "Nm³/时",
            INTERNAL,
            minimum=0,
        ),
        FieldSpec(
            "spare_mw", "float", "剩余供热能力", "spare heat capacity", "MW", INTERNAL, minimum=0
        ),
        FieldSpec("ledger_q", "str", "台账季度", "ledger quarter", audience=INTERNAL),
    ),
)

ROADS = LayerSpec(
    name="roads",
    zh="道路",
    en="Roads",
    geometry_types=("LineString", "MultiLineString"),
    id_field="road_id",
    description="园区道路中心线 (地图底图与地块合并判断)。",
    fields=(
        FieldSpec("road_id", "str", "道路编号", "road id", required=True),
        FieldSpec("name", "str", "道路名称", "name"),
        FieldSpec("width_m", "float", "红线宽度", "width between boundary lines", "m", minimum=0),
        FieldSpec("grade", "str", "等级", "grade", labels=ROAD_GRADE),
    ),
)

LAYERS: dict[str, LayerSpec] = {
    spec.name: spec for spec in (PARKS, PARCELS, FACTORIES, INFRASTRUCTURE, ROADS)
}

RELEASED = tuple(name for name, spec in LAYERS.items() if spec.released)
"""Layers published in releases (the yearly stock list)."""
LEDGERS = tuple(name for name, spec in LAYERS.items() if spec.ledger)
"""Layers the park service centres update quarterly, row by row."""
ON_OFFER = {name: spec.on_offer for name, spec in LAYERS.items() if spec.on_offer is not None}
"""The layers of sites a planner may reserve, and the status of a site on offer there
(what investors see)."""
DRAWN = tuple(name for name, spec in LAYERS.items() if spec.drawn_down)
"""Layers whose budgets active reservations draw down when read."""
ROUTINE = frozenset({"list_year"})
"""Fields every row of a new year's list changes: a parcel whose only change is one of
these is unchanged for the list's diff, and is taken from the list held in memory when
the zone reads the new one (:mod:`layers.store.release_rows`)."""


ENERGY = Budget(
    key="egy", zh="能耗指标", en="energy quota", unit="tce/年",
    total="egy_total", allocated="egy_alloc", left="egy_left", earmarked="egy_tce",
    site_zh="能耗指标", site_en="energy quota", site_unit="吨标准煤",
    check="energy", need_field="energy_tce",
)  # fmt: skip


def _emission_budget(key: str, zh: str, en: str) -> Budget:
    return Budget(
        key=key, zh=f"{zh}排放容量", en=f"{en} capacity", unit="t/年",
        total=f"{key}_cap", allocated=f"{key}_used", left=f"{key}_left", earmarked=f"{key}_t",
        site_zh=f"{zh}排放总量", site_en=f"{en} allowance", site_unit="t/年",
        check=key, need_field=None,
    )  # fmt: skip


BUDGETS = (ENERGY, *(_emission_budget(key, zh, en) for key, (zh, en) in POLLUTANTS.items()))
"""Every budget of a park (and of a site), energy first."""


POWER = Utility(
    "power", "substation", "电力", "u_power", "power_kva", "spare_mva", "power_kva", "kVA"
)
UTILITIES = (
    POWER,
    Utility("water", "water", "供水", "u_water", "water_m3d", "spare_m3d", "water_m3d", "m³/日"),
    Utility("gas", "gas", "燃气", "u_gas", "gas_nm3h", "spare_nm3h", "gas_nm3h", "Nm³/时"),
    Utility("heat", "heat", "供热", "u_heat", "heat_mw", "spare_mw", "heat_mw", "MW"),
    Utility(
        "sewage", "sewage", "污水处理", "u_drain", "sewage_m3d", "spare_m3d", "sewage_m3d", "m³/日"
    ),
)
"""Every utility network with nodes in the infrastructure layer; power first: it has its
own constraint (voltage, MVA), the others share one rule."""
