"""Layers, layer versions and credentials.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 13:01:30.072651
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import layers.store.types

LAYER_TABLES = ("factories", "infrastructure", "parcels", "parks", "roads")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("key_prefix", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('planner', 'land_bureau', 'admin')", name=op.f("ck_credentials_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_credentials_key_hash")),
        comment="API keys: only a SHA-256 hash of each key is kept.",
    )
    op.create_table(
        "factories",
        sa.Column("fid", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("factory_id", sa.Text(), nullable=False, comment="厂房编号 factory id"),
        sa.Column("name", sa.Text(), nullable=False, comment="厂房名称 name"),
        sa.Column("park_id", sa.Text(), nullable=False, comment="所属园区 park id"),
        sa.Column("owner", sa.Text(), nullable=False, comment="产权单位 owner"),
        sa.Column("owner_tel", sa.Text(), nullable=True, comment="产权单位联系人 owner's contact"),
        sa.Column("floor_m2", sa.Float(), nullable=False, comment="建筑面积 floor area"),
        sa.Column("floors", sa.Integer(), nullable=True, comment="层数 floors"),
        sa.Column("height_m", sa.Float(), nullable=True, comment="净高 clear height"),
        sa.Column("load_kn", sa.Float(), nullable=True, comment="楼面荷载 floor load"),
        sa.Column("crane_t", sa.Float(), nullable=True, comment="行车吨位 crane capacity"),
        sa.Column("power_kva", sa.Float(), nullable=True, comment="供电容量 power capacity"),
        sa.Column("water", sa.Boolean(), nullable=True, comment="已通供水 water connected"),
        sa.Column("gas", sa.Boolean(), nullable=True, comment="已通燃气 gas connected"),
        sa.Column(
            "egy_tce",
            sa.Float(),
            nullable=True,
            comment="原用途结转能耗指标 energy quota carried over from previous use",
        ),
        sa.Column(
            "so2_t",
            sa.Float(),
            nullable=True,
            comment="原用途结转二氧化硫排放量 SO₂ allowance carried over from previous use",
        ),
        sa.Column(
            "nox_t",
            sa.Float(),
            nullable=True,
            comment="原用途结转氮氧化物排放量 NOₓ allowance carried over from previous use",
        ),
        sa.Column(
            "pm_t",
            sa.Float(),
            nullable=True,
            comment="原用途结转颗粒物排放量 particulates allowance carried over from previous use",
        ),
        sa.Column(
            "vocs_t",
            sa.Float(),
            nullable=True,
            comment="原用途结转挥发性有机物排放量 VOCs allowance carried over from previous use",
        ),
        sa.Column(
            "cod_t",
            sa.Float(),
            nullable=True,
            comment="原用途结转化学需氧量排放量 COD allowance carried over from previous use",
        ),
        sa.Column(
            "nh3n_t",
            sa.Float(),
            nullable=True,
            comment="原用途结转氨氮排放量 NH₃-N allowance carried over from previous use",
        ),
        sa.Column("fire_cls", sa.Text(), nullable=True, comment="火灾危险性类别 fire class"),
        sa.Column(
            "env_appr",
            sa.Text(),
            nullable=True,
            comment="原用途环评 previous use: environmental approval",
        ),
        sa.Column("rent_ym", sa.Float(), nullable=True, comment="租金 rent"),
        sa.Column("price_w", sa.Float(), nullable=True, comment="售价 sale price"),
        sa.Column(
            "rent_floor", sa.Float(), nullable=True, comment="最低租金 lowest acceptable rent"
        ),
        sa.Column("avail_from", sa.Date(), nullable=True, comment="可用日期 available from"),
        sa.Column("status", sa.Text(), nullable=False, comment="状态 status"),
        sa.Column("note_int", sa.Text(), nullable=True, comment="内部备注 internal notes"),
        sa.Column("geom", layers.store.types.Geometry4490(), nullable=False),
        sa.Column("minx", sa.Float(), nullable=False),
        sa.Column("miny", sa.Float(), nullable=False),
        sa.Column("maxx", sa.Float(), nullable=False),
        sa.Column("maxy", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("fid", name=op.f("pk_factories")),
        sa.UniqueConstraint("factory_id", name=op.f("uq_factories_factory_id")),
        comment="厂房 Factories",
    )
    op.create_index(
        op.f("ix_factories_minx_maxx_miny_maxy"),
        "factories",
        ["minx", "maxx", "miny", "maxy"],
        unique=False,
    )

    op.create_table(
        "infrastructure",
        sa.Column("fid", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("infra_id", sa.Text(), nullable=False, comment="设施编号 facility id"),
        sa.Column("kind", sa.Text(), nullable=False, comment="类型 kind"),
        sa.Column("name", sa.Text(), nullable=False, comment="名称 name"),
        sa.Column("name_en", sa.Text(), nullable=True, comment="英文名称 English name"),
        sa.Column("voltage_kv", sa.Float(), nullable=True, comment="电压等级 voltage"),
        sa.Column("cap_mva", sa.Float(), nullable=True, comment="主变容量 transformer capacity"),
        sa.Column("spare_mva", sa.Float(), nullable=True, comment="剩余容量 spare capacity"),
        sa.Column(
            "spare_m3d",
            sa.Float(),
            nullable=True,
            comment="剩余能力(水/污水) spare water or sewage capacity",
        ),
        sa.Column("gas_press", sa.Text(), nullable=True, comment="压力级制 gas pressure level"),
        sa.Column(
            "spare_nm3h", sa.Float(), nullable=True, comment="剩余供气能力 spare gas capacity"
        ),
        sa.Column(
            "spare_mw", sa.Float(), nullable=True, comment="剩余供热能力 spare heat capacity"
        ),
        sa.Column("ledger_q", sa.Text(), nullable=True, comment="台账季度 ledger quarter"),
        sa.Column("geom", layers.store.types.Geometry4490(), nullable=False),
        sa.Column("minx", sa.Float(), nullable=False),
        sa.Column("miny", sa.Float(), nullable=False),
        sa.Column("maxx", sa.Float(), nullable=False),
        sa.Column("maxy", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("fid", name=op.f("pk_infrastructure")),
        sa.UniqueConstraint("infra_id", name=op.f("uq_infrastructure_infra_id")),
        comment="基础设施 Infrastructure",
    )
    op.create_index(
        op.f("ix_infrastructure_minx_maxx_miny_maxy"),
        "infrastructure",
        ["minx", "maxx", "miny", "maxy"],
        unique=False,
    )

    op.create_table(
        "layer_versions",
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("layer", name=op.f("pk_layer_versions")),
        comment="Bumped on every change of a layer; caches keyed by it (e.g. distance tables).",
    )
    op.create_table(
        "parcels",
        sa.Column("fid", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("parcel_id", sa.Text(), nullable=False, comment="宗地编号 parcel id"),
        sa.Column("name", sa.Text(), nullable=True, comment="地块名称 name"),
        sa.Column("park_id", sa.Text(), nullable=False, comment="所属园区 park id"),
        sa.Column("land_use", sa.Text(), nullable=False, comment="用地性质 land-use class"),
        sa.Column("stock_cat", sa.Text(), nullable=False, comment="存量/增量 stock category"),
        sa.Column("list_year", sa.Integer(), nullable=False, comment="清单年度 stock-list year"),
        sa.Column("status", sa.Text(), nullable=False, comment="状态 status"),
        sa.Column("decl_mu", sa.Float(), nullable=True, comment="申报面积 declared area"),
        sa.Column("price_wmu", sa.Float(), nullable=True, comment="挂牌起始价 listing start price"),
        sa.Column("floor_wmu", sa.Float(), nullable=True, comment="出让底价 reserve (floor) price"),
        sa.Column("env_std", sa.Text(), nullable=True, comment="环境标准 emission standard"),
        sa.Column(
            "inv_lo",
            sa.Float(),
            nullable=True,
            comment="固定资产投资强度下限 investment intensity: minimum",
        ),
        sa.Column(
            "inv_hi",
            sa.Float(),
            nullable=True,
            comment="固定资产投资强度上限 investment intensity: maximum",
        ),
        sa.Column(
            "inv_due",
            sa.Date(),
            nullable=True,
            comment="固定资产投资强度达标期限 investment intensity: to be met by",
        ),
        sa.Column("tax_lo", sa.Float(), nullable=True, comment="亩均税收下限 tax per mu: minimum"),
        sa.Column("tax_hi", sa.Float(), nullable=True, comment="亩均税收上限 tax per mu: maximum"),
        sa.Column(
            "tax_due", sa.Date(), nullable=True, comment="亩均税收达标期限 tax per mu: to be met by"
        ),
        sa.Column(
            "out_lo", sa.Float(), nullable=True, comment="亩均产值下限 output per mu: minimum"
        ),
        sa.Column(
            "out_hi", sa.Float(), nullable=True, comment="亩均产值上限 output per mu: maximum"
        ),
        sa.Column(
            "out_due",
            sa.Date(),
            nullable=True,
            comment="亩均产值达标期限 output per mu: to be met by",
        ),
        sa.Column(
            "egy_lo",
            sa.Float(),
            nullable=True,
            comment="单位能耗下限 energy per unit value added: minimum",
        ),
        sa.Column(
            "egy_hi",
            sa.Float(),
            nullable=True,
            comment="单位能耗上限 energy per unit value added: maximum",
        ),
        sa.Column(
            "egy_due",
            sa.Date(),
            nullable=True,
            comment="单位能耗达标期限 energy per unit value added: to be met by",
        ),
        sa.Column("far_lo", sa.Float(), nullable=True, comment="容积率下限 plot ratio: minimum"),
        sa.Column("far_hi", sa.Float(), nullable=True, comment="容积率上限 plot ratio: maximum"),
        sa.Column(
            "far_due", sa.Date(), nullable=True, comment="容积率达标期限 plot ratio: to be met by"
        ),
        sa.Column(
            "dens_lo", sa.Float(), nullable=True, comment="建筑密度下限 building density: minimum"
        ),
        sa.Column(
            "dens_hi", sa.Float(), nullable=True, comment="建筑密度上限 building density: maximum"
        ),
        sa.Column(
            "dens_due",
            sa.Date(),
            nullable=True,
            comment="建筑密度达标期限 building density: to be met by",
        ),
        sa.Column("green_lo", sa.Float(), nullable=True, comment="绿地率下限 green ratio: minimum"),
        sa.Column("green_hi", sa.Float(), nullable=True, comment="绿地率上限 green ratio: maximum"),
        sa.Column(
            "green_due",
            sa.Date(),
            nullable=True,
            comment="绿地率达标期限 green ratio: to be met by",
        ),
        sa.Column(
            "height_lo", sa.Float(), nullable=True, comment="建筑限高下限 building height: minimum"
        ),
        sa.Column(
            "height_hi", sa.Float(), nullable=True, comment="建筑限高上限 building height: maximum"
        ),
        sa.Column(
            "height_due",
            sa.Date(),
            nullable=True,
            comment="建筑限高达标期限 building height: to be met by",
        ),
        sa.Column(
            "power_kva",
            sa.Float(),
            nullable=True,
            comment="红线外可接电力容量 power available at boundary",
        ),
        sa.Column("power_kv", sa.Float(), nullable=True, comment="接入电压等级 supply voltage"),
        sa.Column("water_m3d", sa.Float(), nullable=True, comment="可供水量 water available"),
        sa.Column("gas_nm3h", sa.Float(), nullable=True, comment="可供燃气量 gas available"),
        sa.Column("heat_mw", sa.Float(), nullable=True, comment="可供热负荷 heat available"),
        sa.Column(
            "sewage_m3d", sa.Float(), nullable=True, comment="可排污水量 sewage capacity available"
        ),
        sa.Column(
            "egy_tce",
            sa.Float(),
            nullable=True,
            comment="区块核定能耗指标 energy quota earmarked for the site",
        ),
        sa.Column(
            "so2_t",
            sa.Float(),
            nullable=True,
            comment="区块核定二氧化硫排放量 SO₂ allowance earmarked for the site",
        ),
        sa.Column(
            "nox_t",
            sa.Float(),
            nullable=True,
            comment="区块核定氮氧化物排放量 NOₓ allowance earmarked for the site",
        ),
        sa.Column(
            "pm_t",
            sa.Float(),
            nullable=True,
            comment="区块核定颗粒物排放量 particulates allowance earmarked for the site",
        ),
        sa.Column(
            "vocs_t",
            sa.Float(),
            nullable=True,
            comment="区块核定挥发性有机物排放量 VOCs allowance earmarked for the site",
        ),
        sa.Column(
            "cod_t",
            sa.Float(),
            nullable=True,
            comment="区块核定化学需氧量排放量 COD allowance earmarked for the site",
        ),
        sa.Column(
            "nh3n_t",
            sa.Float(),
            nullable=True,
            comment="区块核定氨氮排放量 NH₃-N allowance earmarked for the site",
        ),
        sa.Column(
            "as_env_st",
            sa.Text(),
            nullable=True,
            comment="区域环评状态 regional environmental assessment: status",
        ),
        sa.Column(
            "as_env_dt",
            sa.Date(),
            nullable=True,
            comment="区域环评日期 regional environmental assessment: date (expected if planned)",
        ),
        sa.Column(
            "as_egy_st",
            sa.Text(),
            nullable=True,
            comment="区域能评状态 regional energy assessment: status",
        ),
        sa.Column(
            "as_egy_dt",
            sa.Date(),
            nullable=True,
            comment="区域能评日期 regional energy assessment: date (expected if planned)",
        ),
        sa.Column(
            "as_min_st",
            sa.Text(),
            nullable=True,
            comment="压覆矿产评估状态 overlying-minerals assessment: status",
        ),
        sa.Column(
            "as_min_dt",
            sa.Date(),
            nullable=True,
            comment="压覆矿产评估日期 overlying-minerals assessment: date (expected if planned)",
        ),
        sa.Column(
            "as_geo_st",
            sa.Text(),
            nullable=True,
            comment="地质灾害评估状态 geological-hazard assessment: status",
        ),
        sa.Column(
            "as_geo_dt",
            sa.Date(),
            nullable=True,
            comment="地质灾害评估日期 geological-hazard assessment: date (expected if planned)",
        ),
        sa.Column(
            "as_wat_st",
            sa.Text(),
            nullable=True,
            comment="水资源论证状态 water-resources assessment: status",
        ),
        sa.Column(
            "as_wat_dt",
            sa.Date(),
            nullable=True,
            comment="水资源论证日期 water-resources assessment: date (expected if planned)",
        ),
        sa.Column(
            "as_soil_st",
            sa.Text(),
            nullable=True,
            comment="水土保持状态 soil and water conservation: status",
        ),
        sa.Column(
            "as_soil_dt",
            sa.Date(),
            nullable=True,
            comment="水土保持日期 soil and water conservation: date (expected if planned)",
        ),
        sa.Column(
            "as_rel_st",
            sa.Text(),
            nullable=True,
            comment="文物勘探状态 cultural-relics survey: status",
        ),
        sa.Column(
            "as_rel_dt",
            sa.Date(),
            nullable=True,
            comment="文物勘探日期 cultural-relics survey: date (expected if planned)",
        ),
        sa.Column(
            "acq_st",
            sa.Text(),
            nullable=True,
            comment="土地收储状态 land acquired and stored: status",
        ),
        sa.Column(
            "acq_dt",
            sa.Date(),
            nullable=True,
            comment="土地收储日期 land acquired and stored: date (expected if planned)",
        ),
        sa.Column("clear_st", sa.Text(), nullable=True, comment="清表状态 site cleared: status"),
        sa.Column(
            "clear_dt",
            sa.Date(),
            nullable=True,
            comment="清表日期 site cleared: date (expected if planned)",
        ),
        sa.Column(
            "level_st", sa.Text(), nullable=True, comment="场地平整状态 site levelled: status"
        ),
        sa.Column(
            "level_dt",
            sa.Date(),
            nullable=True,
            comment="场地平整日期 site levelled: date (expected if planned)",
        ),
        sa.Column("u_road_st", sa.Text(), nullable=True, comment="通路状态 road: status"),
        sa.Column(
            "u_road_dt",
            sa.Date(),
            nullable=True,
            comment="通路日期 road: date (expected if planned)",
        ),
        sa.Column("u_power_st", sa.Text(), nullable=True, comment="通电状态 power: status"),
        sa.Column(
            "u_power_dt",
            sa.Date(),
            nullable=True,
            comment="通电日期 power: date (expected if planned)",
        ),
        sa.Column(
            "u_water_st", sa.Text(), nullable=True, comment="通给水状态 water supply: status"
        ),
        sa.Column(
            "u_water_dt",
            sa.Date(),
            nullable=True,
            comment="通给水日期 water supply: date (expected if planned)",
        ),
        sa.Column(
            "u_drain_st", sa.Text(), nullable=True, comment="通排水状态 drainage and sewer: status"
        ),
        sa.Column(
            "u_drain_dt",
            sa.Date(),
            nullable=True,
            comment="通排水日期 drainage and sewer: date (expected if planned)",
        ),
        sa.Column("u_tel_st", sa.Text(), nullable=True, comment="通信状态 telecom: status"),
        sa.Column(
            "u_tel_dt",
            sa.Date(),
            nullable=True,
            comment="通信日期 telecom: date (expected if planned)",
        ),
        sa.Column("u_gas_st", sa.Text(), nullable=True, comment="通燃气状态 gas: status"),
        sa.Column(
            "u_gas_dt",
            sa.Date(),
            nullable=True,
            comment="通燃气日期 gas: date (expected if planned)",
        ),
        sa.Column("u_heat_st", sa.Text(), nullable=True, comment="通热力状态 heat: status"),
        sa.Column(
            "u_heat_dt",
            sa.Date(),
            nullable=True,
            comment="通热力日期 heat: date (expected if planned)",
        ),
        sa.Column(
            "contact", sa.Text(), nullable=True, comment="原权利人联系方式 former holder's contact"
        ),
        sa.Column("note_int", sa.Text(), nullable=True, comment="内部备注 internal notes"),
        sa.Column("geom", layers.store.types.Geometry4490(), nullable=False),
        sa.Column("minx", sa.Float(), nullable=False),
        sa.Column("miny", sa.Float(), nullable=False),
        sa.Column("maxx", sa.Float(), nullable=False),
        sa.Column("maxy", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("fid", name=op.f("pk_parcels")),
        sa.UniqueConstraint("parcel_id", name=op.f("uq_parcels_parcel_id")),
        comment="地块 Parcels",
    )
    op.create_index(
        op.f("ix_parcels_minx_maxx_miny_maxy"),
        "parcels",
        ["minx", "maxx", "miny", "maxy"],
        unique=False,
    )

    op.create_table(
        "parks",
        sa.Column("fid", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("park_id", sa.Text(), nullable=False, comment="园区编号 park id"),
        sa.Column("name", sa.Text(), nullable=False, comment="园区名称 name"),
        sa.Column("name_en", sa.Text(), nullable=True, comment="英文名称 English name"),
        sa.Column(
            "industries",
            sa.Text(),
            nullable=True,
            comment="主导产业 leading industries (separated by ;)",
        ),
        sa.Column(
            "desk_tel", sa.Text(), nullable=True, comment="招商服务电话 service-desk telephone"
        ),
        sa.Column(
            "ledger_q", sa.Text(), nullable=True, comment="台账季度 ledger quarter, e.g. 2026Q3"
        ),
        sa.Column(
            "egy_total", sa.Float(), nullable=True, comment="能耗指标总量 energy quota, total"
        ),
        sa.Column(
            "egy_alloc", sa.Float(), nullable=True, comment="能耗指标已分配 energy quota, allocated"
        ),
        sa.Column("so2_cap", sa.Float(), nullable=True, comment="二氧化硫环境容量 SO₂ capacity"),
        sa.Column("so2_used", sa.Float(), nullable=True, comment="二氧化硫已使用 SO₂ used"),
        sa.Column("nox_cap", sa.Float(), nullable=True, comment="氮氧化物环境容量 NOₓ capacity"),
        sa.Column("nox_used", sa.Float(), nullable=True, comment="氮氧化物已使用 NOₓ used"),
        sa.Column(
            "pm_cap", sa.Float(), nullable=True, comment="颗粒物环境容量 particulates capacity"
        ),
        sa.Column("pm_used", sa.Float(), nullable=True, comment="颗粒物已使用 particulates used"),
        sa.Column(
            "vocs_cap", sa.Float(), nullable=True, comment="挥发性有机物环境容量 VOCs capacity"
        ),
        sa.Column("vocs_used", sa.Float(), nullable=True, comment="挥发性有机物已使用 VOCs used"),
        sa.Column("cod_cap", sa.Float(), nullable=True, comment="化学需氧量环境容量 COD capacity"),
        sa.Column("cod_used", sa.Float(), nullable=True, comment="化学需氧量已使用 COD used"),
        sa.Column("nh3n_cap", sa.Float(), nullable=True, comment="氨氮环境容量 NH₃-N capacity"),
        sa.Column("nh3n_used", sa.Float(), nullable=True, comment="氨氮已使用 NH₃-N used"),
        sa.Column("note_int", sa.Text(), nullable=True, comment="内部备注 internal notes"),
        sa.Column("geom", layers.store.types.Geometry4490(), nullable=False),
        sa.Column("minx", sa.Float(), nullable=False),
        sa.Column("miny", sa.Float(), nullable=False),
        sa.Column("maxx", sa.Float(), nullable=False),
        sa.Column("maxy", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("fid", name=op.f("pk_parks")),
        sa.UniqueConstraint("park_id", name=op.f("uq_parks_park_id")),
        comment="园区 Parks",
    )
    op.create_index(
        op.f("ix_parks_minx_maxx_miny_maxy"),
        "parks",
        ["minx", "maxx", "miny", "maxy"],
        unique=False,
    )

    op.create_table(
        "roads",
        sa.Column("fid", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("road_id", sa.Text(), nullable=False, comment="道路编号 road id"),
        sa.Column("name", sa.Text(), nullable=True, comment="道路名称 name"),
        sa.Column(
            "width_m", sa.Float(), nullable=True, comment="红线宽度 width between boundary lines"
        ),
        sa.Column("grade", sa.Text(), nullable=True, comment="等级 grade"),
        sa.Column("geom", layers.store.types.Geometry4490(), nullable=False),
        sa.Column("minx", sa.Float(), nullable=False),
        sa.Column("miny", sa.Float(), nullable=False),
        sa.Column("maxx", sa.Float(), nullable=False),
        sa.Column("maxy", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("fid", name=op.f("pk_roads")),
        sa.UniqueConstraint("road_id", name=op.f("uq_roads_road_id")),
        comment="道路 Roads",
    )
    op.create_index(
        op.f("ix_roads_minx_maxx_miny_maxy"),
        "roads",
        ["minx", "maxx", "miny", "maxy"],
        unique=False,
    )

    if op.get_bind().dialect.name == "postgresql":
        for table in LAYER_TABLES:
            op.create_index(f"ix_{table}_geom", table, ["geom"], postgresql_using="gist")
            # A typed column refuses a wrong SRID but accepts invalid geometry.
            op.create_check_constraint("geom_valid", table, "ST_IsValid(geom)")


def downgrade() -> None:
    op.drop_index(op.f("ix_roads_minx_maxx_miny_maxy"), table_name="roads")

    op.drop_table("roads")
    op.drop_index(op.f("ix_parks_minx_maxx_miny_maxy"), table_name="parks")

    op.drop_table("parks")
    op.drop_index(op.f("ix_parcels_minx_maxx_miny_maxy"), table_name="parcels")

    op.drop_table("parcels")
    op.drop_table("layer_versions")
    op.drop_index(op.f("ix_infrastructure_minx_maxx_miny_maxy"), table_name="infrastructure")

    op.drop_table("infrastructure")
    op.drop_index(op.f("ix_factories_minx_maxx_miny_maxy"), table_name="factories")

    op.drop_table("factories")
    op.drop_table("credentials")
