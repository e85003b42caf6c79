"""CSV and XLSX layers: every layer round-trips, every problem is named with its row, and
hostile files (VRT in disguise, zip bombs, formulas) are refused or made inert."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from openpyxl.utils import get_column_letter
from pandas.testing import assert_frame_equal
from shapely.testing import assert_geometries_equal

from layers.archives import MAX_ZIP_MEMBERS
from layers.catalog import INFRASTRUCTURE, LAYERS, PARCELS, PARKS, ROADS
from layers.demo import generate_zone
from layers.errors import InvalidInput, LayerValidationError
from layers.frames import GEOMETRY
from layers.io import file_format, read_layer_file, write_layer_file
from layers.schema import LayerSpec
from layers.sheet_export import EXCEL_CELL_CHARS, write_table_file
from layers.sheets import read_table_file

SUFFIXES = [".csv", ".xlsx"]


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone(parcels=40)


def _edit(path: Path, edits: dict[tuple[int, str], str | None]) -> None:
    """Set cells of an exported table in place: (data row from 1, column name) → text."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        for (row, column), value in edits.items():
            rows[row][rows[0].index(column)] = value or ""
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows(rows)
        return
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    header = [c.value for c in sheet[1]]
    for (row, column), value in edits.items():
        sheet.cell(row=row + 1, column=header.index(column) + 1, value=value)
    workbook.save(path)


def _rezip(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    """A copy of a zip with members replaced or added."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename not in replace:
                new.writestr(info.filename, old.read(info))
        for name, data in replace.items():
            new.writestr(name, data)
    return target


# -- round trips ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("layer", list(LAYERS))
def test_every_layer_round_trips(
    zone: dict[str, gpd.GeoDataFrame], layer: str, suffix: str, tmp_path: Path
) -> None:
    spec = LAYERS[layer]
    path = tmp_path / f"{layer}{suffix}"
    assert write_table_file(zone[layer], spec, path) == len(zone[layer])
    assert_geodataframe_equal(read_table_file(path, spec), zone[layer], check_crs=True)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_layer_io_dispatches_to_tables(
    zone: dict[str, gpd.GeoDataFrame], suffix: str, tmp_path: Path
) -> None:
    path = tmp_path / f"PARCELS{suffix.upper()}"
    assert file_format(path) in ("CSV", "XLSX")
    write_layer_file(zone["parcels"], PARCELS, path)
    assert_geodataframe_equal(read_layer_file(path, PARCELS), zone["parcels"], check_crs=True)
    with pytest.raises(InvalidInput, match=r"\.csv, \.xlsx"):
        read_layer_file(tmp_path / "parcels.ods", PARCELS)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_empty_layer_round_trips(
    zone: dict[str, gpd.GeoDataFrame], suffix: str, tmp_path: Path
) -> None:
    path = tmp_path / f"empty{suffix}"
    assert write_table_file(zone["roads"].iloc[:0], ROADS, path) == 0
    assert len(read_table_file(path, ROADS)) == 0


@pytest.mark.parametrize("title", ["parcels", "地块"])
def test_xlsx_sheet_named_like_the_layer_is_read(
    zone: dict[str, gpd.GeoDataFrame], title: str, tmp_path: Path
) -> None:
    path = tmp_path / "stock.xlsx"
    write_table_file(zone["parcels"], PARCELS, path)
    workbook = openpyxl.load_workbook(path)
    workbook.worksheets[0].title = title
    workbook.create_sheet("填表说明", 0)["A1"] = "说明: 每行一宗地块"
    workbook.save(path)
    assert_geodataframe_equal(read_table_file(path, PARCELS), zone["parcels"], check_crs=True)


def test_csv_is_utf8_with_bom_and_reads_without_it(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    path = tmp_path / "parks.csv"
    write_table_file(zone["parks"], PARKS, path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    path.write_bytes(data[3:])
    assert_geodataframe_equal(read_table_file(path, PARKS), zone["parks"], check_crs=True)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_public_export_has_only_public_fields(
    zone: dict[str, gpd.GeoDataFrame], suffix: str, tmp_path: Path
) -> None:
    path = tmp_path / f"public{suffix}"
    write_table_file(zone["parcels"], PARCELS, path, public=True)
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle))
    else:
        header = [c.value for c in openpyxl.load_workbook(path).worksheets[0][1]]
    assert header == [*(f.name for f in PARCELS.fields if f.public), "wkt"]
    assert "floor_wmu" not in header and "contact" not in header
    assert len(read_table_file(path, PARCELS)) == len(zone["parcels"])


def test_point_layer_from_lon_lat_or_projected_x_y(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    infra = zone["infrastructure"]
    attributes = infra.drop(columns=GEOMETRY)
    lon_lat = attributes.assign(lon=infra.geometry.x, lat=infra.geometry.y)
    lon_lat.to_csv(tmp_path / "ll.csv", index=False)
    assert_geodataframe_equal(
        read_table_file(tmp_path / "ll.csv", INFRASTRUCTURE), infra, check_crs=True
    )

    gk = infra.geometry.to_crs(4526)  # CGCS2000 GK zone 38, eastings with the zone prefix
    attributes.assign(x=gk.x, y=gk.y).to_csv(tmp_path / "xy.csv", index=False)
    back = read_table_file(tmp_path / "xy.csv", INFRASTRUCTURE, crs="EPSG:4526")
    assert_geometries_equal(back.geometry.values, infra.geometry.values, tolerance=1e-9)
    assert_frame_equal(pd.DataFrame(back.drop(columns=GEOMETRY)), pd.DataFrame(attributes))

    with pytest.raises(LayerValidationError) as caught:
        read_table_file(tmp_path / "xy.csv", INFRASTRUCTURE)
    assert "--crs" in str(caught.value)
    lon_lat.to_csv(tmp_path / "parcels.csv", index=False)
    with pytest.raises(LayerValidationError, match="point layers"):
        read_table_file(tmp_path / "parcels.csv", ROADS)


# -- problems, each with its row ------------------------------------------------------


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_bad_wkt_in_several_rows_is_all_reported(
    zone: dict[str, gpd.GeoDataFrame], suffix: str, tmp_path: Path
) -> None:
    parcels = zone["parcels"]
    path = tmp_path / f"stock{suffix}"
    write_table_file(parcels, PARCELS, path)
    _edit(
        path,
        {
            (2, "wkt"): "POLYGON ((112.7 37.6, 112.8 37.6",
            (5, "wkt"): "not a geometry",
            (10, "wkt"): "POLYGON ((112.7 37.6, x 37.7, 112.7 37.6))",
            (7, "land_use"): "X9",
        },
    )
    with pytest.raises(LayerValidationError) as caught:
        read_table_file(path, PARCELS)
    problems = caught.value.problems
    ids = list(parcels[PARCELS.id_field])
    # Rows count from the first data row: row 2 is the second parcel.
    assert [(p.row, p.feature_id) for p in problems if p.field == "wkt"] == [
        (2, ids[1]),
        (5, ids[4]),
        (10, ids[9]),
    ]
    assert (7, ids[6], "land_use") in {(p.row, p.feature_id, p.field) for p in problems}
    assert not [p for p in problems if p.field == GEOMETRY and p.row in (2, 5, 10)]
    assert all(p.file == path.name for p in problems)
    assert [p.row for p in problems] == sorted(p.row or 0 for p in problems)


@pytest.mark.parametrize("layer", [PARCELS, INFRASTRUCTURE])
def test_table_without_geometry_columns_says_what_it_expected(
    layer: LayerSpec, tmp_path: Path
) -> None:
    path = tmp_path / "stock.csv"
    path.write_text(f"{layer.id_field},name,geometry\nA1,甲,\n", encoding="utf-8")
    with pytest.raises(LayerValidationError) as caught:
        read_table_file(path, layer)
    text = str(caught.value)
    assert "stock.csv" in text and "wkt" in text and layer.id_field in text
    assert ("lon and lat" in text) == (layer is INFRASTRUCTURE)


def test_row_with_more_values_than_the_header_is_named(tmp_path: Path) -> None:
    path = tmp_path / "roads.csv"
    path.write_text(
        'road_id,wkt\nR1,"LINESTRING (112.75 37.66, 112.76 37.66)"\nR2,LINESTRING (1 2,3 4)\n',
        encoding="utf-8",
    )
    with pytest.raises(LayerValidationError) as caught:
        read_table_file(path, ROADS)
    assert [p.row for p in caught.value.problems] == [2]


# -- encodings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "names"),
    [
        ("GBK", ["工业园区一", "汇通产业园", "晋中光伏园", "信息技术园"]),
        ("GB18030", ["晋中开发区·汇通产业园（测试）「𠀀」", "榆次", "太谷", "祁县"]),
    ],
)
def test_chinese_csv_needs_its_encoding_declared(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path, encoding: str, names: list[str]
) -> None:
    parks = zone["parks"].copy()
    parks["name"] = pd.Series(names[: len(parks)], dtype=object)
    utf8 = tmp_path / "utf8.csv"
    write_table_file(parks, PARKS, utf8)
    path = tmp_path / "parks.csv"
    path.write_bytes(utf8.read_text(encoding="utf-8-sig").encode(encoding))
    with pytest.raises(InvalidInput, match="--encoding GBK"):
        read_table_file(path, PARKS)
    loaded = read_table_file(path, PARKS, encoding=encoding)
    assert [n.encode(encoding) for n in loaded["name"]] == [n.encode(encoding) for n in names]
    assert all(n.encode(encoding) in path.read_bytes() for n in loaded["name"])
    assert_geodataframe_equal(loaded, parks, check_crs=True)


# -- hostile files --------------------------------------------------------------------


def test_ogr_vrt_disguised_as_csv_never_reads_its_target(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text('WKT,name\n"POINT (112.7 37.6)",TOP-SECRET-4411\n', encoding="utf-8")
    vrt = (
        f'<OGRVRTDataSource><OGRVRTLayer name="roads"><SrcDataSource>{secret}</SrcDataSource>'
        '<GeometryField encoding="WKT" field="WKT"/></OGRVRTLayer></OGRVRTDataSource>'
    )
    path = tmp_path / "roads.csv"
    for content in (vrt, "\ufeff \n" + vrt):
        path.write_text(content, encoding="utf-8")
        for read in (read_table_file, read_layer_file):
            with pytest.raises(InvalidInput, match="not CSV") as caught:
                read(path, ROADS)
            assert "TOP-SECRET" not in str(caught.value) and str(tmp_path) not in str(caught.value)
    # Below a header it is only a bad WKT.
    path.write_text(f"road_id,wkt\nR1,{vrt.replace(',', ' ')}\n", encoding="utf-8")
    with pytest.raises(LayerValidationError) as refused:
        read_table_file(path, ROADS)
    assert "TOP-SECRET" not in str(refused.value)
    assert [p.field for p in refused.value.problems] == ["wkt"]


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"xl/media/image1.bin": b"\0" * (64 * 1024**2)}, "zip bomb"),
        ({f"xl/media/m{i}.xml": b"<x/>" for i in range(MAX_ZIP_MEMBERS)}, "too many members"),
        ({"../../evil.xml": b"<x/>"}, "unsafe"),
    ],
)
def test_hostile_xlsx_is_refused_before_decompression(
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    extra: dict[str, bytes],
    reason: str,
) -> None:
    good = tmp_path / "good.xlsx"
    write_table_file(zone["roads"], ROADS, good)
    path = _rezip(good, tmp_path / "roads.xlsx", extra)
    assert path.stat().st_size < 2 * 1024**2

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl opened a zip that should have been refused")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(LayerValidationError, match="zip refused") as caught:
        read_table_file(path, ROADS)
    assert any(reason in p.message for p in caught.value.problems)


def test_xlsx_declaring_a_huge_member_is_refused(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    path = tmp_path / "roads.xlsx"
    write_table_file(zone["roads"], ROADS, path)
    data = bytearray(path.read_bytes())
    # The central directory's uncompressed size of the sheet: 3 GiB, a lie nobody checks
    # until the member is inflated.
    entry = data.index(b"PK\x01\x02")
    while data[entry + 46 : entry + 46 + 24] != b"xl/worksheets/sheet1.xml":
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 24 : entry + 28] = (3 * 1024**3).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(LayerValidationError) as caught:
        read_table_file(path, ROADS)
    assert any("too large uncompressed" in p.message for p in caught.value.problems)


def test_files_that_are_not_xlsx_are_refused(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    csv_file = tmp_path / "roads.csv"
    write_table_file(zone["roads"], ROADS, csv_file)
    (tmp_path / "roads.xlsx").write_bytes(csv_file.read_bytes())
    with pytest.raises(InvalidInput, match="not XLSX"):
        read_table_file(tmp_path / "roads.xlsx", ROADS)
    (tmp_path / "old.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    with pytest.raises(InvalidInput, match=r"legacy \.xls"):
        read_table_file(tmp_path / "old.xlsx", ROADS)
    xlsx = tmp_path / "real.xlsx"
    write_table_file(zone["roads"], ROADS, xlsx)
    (tmp_path / "roads.csv").write_bytes(xlsx.read_bytes())
    with pytest.raises(InvalidInput, match="not CSV"):
        read_table_file(tmp_path / "roads.csv", ROADS)
    (tmp_path / "damaged.xlsx").write_bytes(xlsx.read_bytes()[:-200])
    with pytest.raises(InvalidInput) as caught:
        read_table_file(tmp_path / "damaged.xlsx", ROADS)
    assert str(tmp_path) not in str(caught.value)


def _sheet_with(path: Path, target: Path, cells: dict[str, str], prologue: str = "") -> Path:
    """A copy of an exported workbook with cells of the sheet replaced by raw XML."""
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    for ref, cell in cells.items():
        xml, count = re.subn(rf'<c r="{ref}"(?=[ />])[^>]*?(/>|>.*?</c>)', cell, xml, count=1)
        assert count == 1, ref
    if prologue:
        xml = prologue + xml[xml.index("<worksheet") :]
    return _rezip(path, target, {"xl/worksheets/sheet1.xml": xml.encode("utf-8")})


def test_xlsx_formula_is_read_as_its_saved_value_and_never_evaluated(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    infra = zone["infrastructure"]
    exported = tmp_path / "exported.xlsx"
    write_table_file(infra, INFRASTRUCTURE, exported)
    names = INFRASTRUCTURE.field_names()

    def ref(field: str, row: int) -> str:
        return f"{get_column_letter(names.index(field) + 1)}{row + 1}"

    path = _sheet_with(
        exported,
        tmp_path / "infra.xlsx",
        {
            ref("name", 1): f'<c r="{ref("name", 1)}" t="str"><f>CONCATENATE("ev","il")</f>'
            "<v>变电站（已保存的值）</v></c>",
            ref("voltage_kv", 1): f'<c r="{ref("voltage_kv", 1)}"><f>1000*1000</f><v>110</v></c>',
            ref("name_en", 2): f'<c r="{ref("name_en", 2)}" t="str">'
            '<f>WEBSERVICE("http://127.0.0.1:9/leak")</f></c>',
        },
    )
    loaded = read_table_file(path, INFRASTRUCTURE)
    assert loaded.loc[0, "name"] == "变电站（已保存的值）"
    assert loaded.loc[0, "voltage_kv"] == 110.0
    assert loaded.loc[1, "name_en"] is None


def test_xlsx_with_entity_expansion_is_refused(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    exported = tmp_path / "exported.xlsx"
    write_table_file(zone["roads"], ROADS, exported)
    # Each entity is ten of the one before: e9 would be 10⁹ times "lol".
    entities = '<!ENTITY e0 "lol">' + "".join(
        f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10)
    )
    prologue = f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'
    path = _sheet_with(
        exported, tmp_path / "lol.xlsx", {"B2": '<c r="B2" t="str"><v>&e9;</v></c>'}, prologue
    )
    with pytest.raises(InvalidInput, match="damaged"):
        read_table_file(path, ROADS)


# -- safe export ----------------------------------------------------------------------

DANGEROUS = ['=HYPERLINK("http://127.0.0.1:9/x","点击")', "+86 351 1234", "-2+3", "@SUM(A1)"]
DANGEROUS += ["\t=1+1", "\r=1+1"]


def _cells(path: Path) -> list[list[object]]:
    """An exported table as its file holds it: text as str, numbers as numbers."""
    if path.suffix == ".csv":
        # QUOTE_NONNUMERIC reads unquoted fields as numbers: text is quoted, numbers not.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.reader(handle, quoting=csv.QUOTE_NONNUMERIC))
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    return [list(r) for r in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_exported_formulas_are_neutralised_and_numbers_stay_numbers(
    zone: dict[str, gpd.GeoDataFrame], suffix: str, tmp_path: Path
) -> None:
    roads = zone["roads"].copy()
    roads.loc[: len(DANGEROUS) - 1, "name"] = DANGEROUS
    parks = zone["parks"].copy()
    parks.loc[0, "egy_alloc"] = parks.loc[0, "egy_total"] + 100.0  # egy_left is −100
    path, park_path = tmp_path / f"roads{suffix}", tmp_path / f"parks{suffix}"
    write_table_file(roads, ROADS, path)
    write_table_file(parks, PARKS, park_path)

    road_rows, park_rows = _cells(path), _cells(park_path)
    names = [row[road_rows[0].index("name")] for row in road_rows[1:]]
    widths = [row[road_rows[0].index("width_m")] for row in road_rows[1:]]
    # XML, so XLSX, keeps a carriage return as a line feed.
    expected = ["'" + (d.replace("\r", "\n") if suffix == ".xlsx" else d) for d in DANGEROUS]
    assert names[: len(DANGEROUS)] == expected
    assert all(isinstance(n, str) and n[:1] not in "=+-@\t\r" for n in names)
    assert widths == list(roads["width_m"])
    assert all(isinstance(w, int | float) and not isinstance(w, bool) for w in widths)
    assert park_rows[1][park_rows[0].index("egy_left")] == -100.0

    # Read back, the values are the originals again, trimmed as all text is (R36): the
    # quote was ours (XLSX being XML, a carriage return has become a line feed, so that
    # value keeps it).
    back = list(read_table_file(path, ROADS)["name"][: len(DANGEROUS)])
    if suffix == ".csv":
        assert back == [d.strip() for d in DANGEROUS]
    else:
        assert back[:-1] == [d.strip() for d in DANGEROUS[:-1]] and back[-1] == "'\n=1+1"


def test_text_longer_than_an_excel_cell_is_refused_in_xlsx_only(
    zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    parks = zone["parks"].copy()
    parks.loc[1, GEOMETRY] = shapely.segmentize(parks.geometry.iloc[1], 0.00002)
    assert len(shapely.to_wkt(parks.geometry.iloc[1], rounding_precision=-1)) > EXCEL_CELL_CHARS
    with pytest.raises(LayerValidationError) as caught:
        write_table_file(parks, PARKS, tmp_path / "parks.xlsx")
    assert [(p.row, p.feature_id, p.field) for p in caught.value.problems] == [
        (2, parks.loc[1, "park_id"], "wkt")
    ]
    assert not (tmp_path / "parks.xlsx").exists()
    write_table_file(parks, PARKS, tmp_path / "parks.csv")
    assert_geodataframe_equal(read_table_file(tmp_path / "parks.csv", PARKS), parks)
