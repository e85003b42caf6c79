"""Where the demo zone lies and what it is made of: the place, its CRS, the names and
the ranges its layers are drawn from (see :mod:`layers.demo`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]
Columns = dict[str, Any]

METRIC_EPSG = 4547  # CGCS2000 3-degree GK zone 38, eastings without the zone prefix
SYNTHETIC = "合成演示数据 (synthetic demo data)"
LEDGER_Q = "2026Q3"
ORIGIN = (112.745, 37.655)  # south-west corner of the road grid (lon, lat), east of Yuci
AIRPORT = (112.628, 37.746)  # 太原武宿国际机场 at its real position
NONE = np.array(None, dtype=object)  # a missing value for np.where on object columns

# A block is cut into k parcels (nx × ny): many 20–150 亩, a few of 300 亩 and more.
K_OPTIONS = np.array([1, 2, 3, 4, 6, 8])
K_WEIGHTS = [0.10, 0.14, 0.15, 0.22, 0.20, 0.19]
ROAD_WIDTH = {"trunk": 40.0, "main": 30.0, "branch": 20.0}
NS_NAMES = ("迎宾大道", "汇通路", "锦纶路", "开发区大道", "科创路", "兴业路", "振兴路", "新建路")
EW_NAMES = ("龙湖大街", "蕴华街", "安宁街", "文华街", "紫金街", "顺城街", "大学街", "长宁街")
# (short name, English, leading industries); parks beyond the fifth repeat a theme.
PARK_THEMES = (
    ("新能源汽车产业园", "New-Energy Vehicle Park", "新能源汽车;装备制造"),
    ("装备制造产业园", "Equipment Manufacturing Park", "装备制造;新能源汽车"),
    ("光伏新能源产业园", "Photovoltaic and New Energy Park", "光伏/新能源;装备制造"),
    ("信息技术产业园", "Information Technology Park", "信息技术;生物医药"),
    ("生物医药产业园", "Bio-medicine Park", "生物医药;信息技术"),
)
TIGHT_ENERGY_PARK, TIGHT_EMISSION_PARK = 2, 1  # PV is power-hungry; machining emits VOCs
PLACES = {"修文": "Xiuwen", "东阳": "Dongyang", "张庆": "Zhangqing", "长凝": "Changning",
          "北田": "Beitian", "什贴": "Shitie", "庄子": "Zhuangzi",
          "乌金山": "Wujinshan"}  # fmt: skip
SURNAMES = list("王李张刘陈杨赵黄周吴郭梁")
OWNERS = ("晋中国投集团（演示）", "山西转型综改示范区建设投资公司（演示）",
          "晋中机械工业集团（演示）")  # fmt: skip
# Typical listing price of each land-use class, 万元/亩.
LAND_PRICE = {"M1": 28, "M2": 24, "M3": 20, "W1": 19, "W2": 17, "A35": 34}
# Land-use mix per park theme (same order as PARK_THEMES).
THEME_LAND_USE = (
    {"M1": 0.45, "M2": 0.45, "W1": 0.05, "A35": 0.05},  # new-energy vehicles
    {"M2": 0.60, "M3": 0.25, "M1": 0.10, "W2": 0.05},  # equipment manufacturing
    {"M2": 0.70, "M1": 0.15, "M3": 0.10, "W1": 0.05},  # photovoltaics
    {"M1": 0.70, "A35": 0.25, "W1": 0.05},  # information technology
    {"M1": 0.50, "M2": 0.30, "A35": 0.20},  # bio-medicine
)
STANDARD_OWNER = "晋中开发区标准化厂房运营公司（演示）"
ENV_STANDARDS = {"GB 16297-1996 二级": 0.5, "GB 16297-1996 二级；GB 8978-1996 三级": 0.35,
                 "GB 16297-1996 一级": 0.15}  # fmt: skip
# Largest emission allowance (t/年) of one site; a park's capacity is 10–40 times that.
EMISSION_MAX = {"so2": 20, "nox": 40, "pm": 15, "vocs": 20, "cod": 30, "nh3n": 3}
UTILITY_NODES = {  # network: Chinese and English name patterns, spare-capacity range
    "water": ("开发区第{}水厂（演示）", "Water works {} (demo)", 5_000, 40_000),
    "gas": ("开发区第{}燃气站（演示）", "Gas station {} (demo)", 2_000, 20_000),
    "heat": ("开发区第{}热源厂（演示）", "Heat plant {} (demo)", 20, 150),
    "sewage": ("开发区第{}污水厂（演示）", "Sewage plant {} (demo)", 5_000, 30_000),
}  # fmt: skip
"""The nodes of every utility network but power (substations: :data:`SUBSTATIONS`)."""
# Substations: kV, count (base + one per so many parcels), transformer MVA, spare share.
SUBSTATIONS = (
    (220, (1, 20_000), [360, 480], 0.2, 0.35),
    (110, (3, 5_000), [100, 126, 150], 0.15, 0.6),
    (35, (4, 2_500), [20, 40], 0.15, 0.6),
)
# Transport links just outside the zone: position as a share of its width/height + metres.
LINKS = (
    (0.7, 0, 0, -1200, "interchange", "太旧高速榆次东出入口", "Taijiu Expressway Yuci East exit"),
    (0, -1500, 0.3, 0, "interchange", "二广高速晋中开发区出入口", "Erguang Expressway zone exit"),
    (1, 1200, 0.2, 0, "interchange", "太旧高速修文出入口", "Taijiu Expressway Xiuwen exit"),
    (0.2, 0, 1, 1000, "rail", "榆次北货运站", "Yuci North freight station"),
    (0.3, 0, 1, 300, "rail", "晋中开发区铁路专用线", "Jinzhong development zone rail siding"),
    (0.7, 0, 0, -600, "logistics", "晋中开发区公路港物流园", "Jinzhong road-port logistics park"),
    (0.2, 600, 1, 1000, "logistics", "榆次北铁路物流园", "Yuci North rail logistics park"),
)  # fmt: skip
