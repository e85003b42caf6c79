"""R1–R11 through the land bureau's import, on both stores: every bad stock list is
refused with a report naming the problem, the published data hashes the same afterwards,
a disguised VRT never returns its secret, and a loopback server sees no request."""

from __future__ import annotations

import csv
import json
import math
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from layers.catalog import PARCELS
from layers.io import write_layer_file
from layers.stocklist import import_list
from layers.store.audit import Actor
from layers.store.rows import data_hash
from layers.store.store import Store
from tests.test_hostile_files import _zip, loopback  # noqa: F401 - loopback: a fixture

BUREAU = Actor("国土局 李四", "land_bureau")
SECRET = "SECRET-R1-6b2f"  # noqa: S105 - a marker, not a password
Builder = Callable[[gpd.GeoDataFrame, Path, str], Path]


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    return demo_zone(parcels=40)


def _list(parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return parcels.assign(list_year=2027)


def _shapefile(parcels: gpd.GeoDataFrame, folder: Path, **kwargs: object) -> dict[str, bytes]:
    folder.mkdir(exist_ok=True)
    pyogrio.write_dataframe(_list(parcels), folder / "parcels.shp", **kwargs)  # type: ignore[arg-type]
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _vrt(secret: Path) -> bytes:
    return (
        f'<OGRVRTDataSource><OGRVRTLayer name="parcels"><SrcDataSource>{secret}'
        "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"
    ).encode()


def _gpkg(parcels: gpd.GeoDataFrame, tmp: Path, name: str = "list.gpkg") -> Path:
    path = tmp / name
    write_layer_file(parcels, PARCELS, path)
    return path


def r1_vrt_as_geojson(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    (tmp / "list.geojson").write_bytes(_vrt(tmp / "secret.csv"))
    return tmp / "list.geojson"


def r1_vrt_as_csv(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    (tmp / "list.csv").write_bytes(_vrt(tmp / "secret.csv"))
    return tmp / "list.csv"


def r1_vrt_in_zip(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    parts = _shapefile(p, tmp / "shp")
    return _zip(tmp / "list.zip", {**parts, "parcels.shp": _vrt(tmp / "secret.csv")})


def r2_url_in_a_field(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    bad = _list(p)
    bad.loc[0, "name"] = f"{url}/r2"
    bad.loc[1, "name"] = f"/vsicurl/{url}/r2"
    return _gpkg(bad, tmp)


def r2_linked_crs(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    path = tmp / "list.geojson"
    write_layer_file(_list(p), PARCELS, path)
    text = path.read_text(encoding="utf-8").replace(
        '"type": "FeatureCollection",',
        f'"type": "FeatureCollection", "crs": {{"type": "link", "properties": '
        f'{{"href": "{url}/crs.prj", "type": "proj4"}}}},',
        1,
    )
    path.write_text(text, encoding="utf-8")
    return path


def r3_zip_slip(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    return _zip(tmp / "list.zip", {**_shapefile(p, tmp / "shp"), "../../evil.txt": b"x"})


def r3_symlink(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    path = _zip(tmp / "list.zip", _shapefile(p, tmp / "shp"))
    with zipfile.ZipFile(path, "a") as archive:
        link = zipfile.ZipInfo("readme.txt")
        link.external_attr = 0o120777 << 16  # a symbolic link
        archive.writestr(link, "/etc/passwd")
    return path


def r3_duplicate(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    return _zip(tmp / "list.zip", {**_shapefile(p, tmp / "shp"), "PARCELS.DBF": b"x"})


def r4_bomb(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    parts = _shapefile(p, tmp / "shp")
    return _zip(tmp / "list.zip", {**parts, "parcels.dbf": b"\0" * (256 * 1024**2)})


def r4_nested(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    return _zip(tmp / "list.zip", {**_shapefile(p, tmp / "shp"), "inner.zip": b"PK\3\4"})


def r5_missing_shx(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    parts = _shapefile(p, tmp / "shp")
    return _zip(tmp / "list.zip", {k: v for k, v in parts.items() if not k.endswith(".shx")})


def r5_missing_prj(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    parts = _shapefile(p, tmp / "shp")
    return _zip(tmp / "list.zip", {k: v for k, v in parts.items() if not k.endswith(".prj")})


def r5_two_shapefiles(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    parts = _shapefile(p, tmp / "shp")
    again = {k.replace("parcels", "copy"): v for k, v in parts.items()}
    return _zip(tmp / "list.zip", {**parts, **again})


def r6_gbk_without_cpg(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    parts = _shapefile(p, tmp / "shp", encoding="GBK")
    return _zip(tmp / "list.zip", {k: v for k, v in parts.items() if not k.endswith(".cpg")})


def r7_bow_tie(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    bad = _list(p)
    x0, y0, x1, y1 = bad.geometry.iloc[2].bounds
    bad.loc[2, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    return _gpkg(bad, tmp)


def r7_nan_and_z(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    bad = _list(p)
    bad.loc[3, "geometry"] = shapely.force_3d(bad.geometry.iloc[3], 12.0)
    path = tmp / "list.geojson"
    write_layer_file(bad, PARCELS, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][4]["geometry"]["coordinates"][0][1][0] = math.nan
    path.write_text(json.dumps(data, ensure_ascii=False, allow_nan=True), encoding="utf-8")
    return path


def r7_wrong_type(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    bad = _list(p)
    bad.loc[5, "geometry"] = bad.geometry.iloc[5].centroid
    return _gpkg(bad, tmp)


def _raw_gpkg(frame: gpd.GeoDataFrame, tmp: Path) -> Path:
    """Written by GDAL as it is (our writer would refuse such a frame)."""
    pyogrio.write_dataframe(frame, tmp / "list.gpkg", layer="parcels")
    return tmp / "list.gpkg"


def r8_degrees_declared_as_gauss_kruger(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    return _raw_gpkg(_list(p).set_crs(4526, allow_override=True), tmp)


def r8_swapped_axes(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    bad = _list(p)
    bad["geometry"] = shapely.transform(bad.geometry.values, lambda xy: xy[:, ::-1])
    return _raw_gpkg(bad, tmp)


def r8_wrong_zone(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    return _raw_gpkg(_list(p).to_crs(4526).set_crs(4527, allow_override=True), tmp)


def r9_duplicates_and_overlaps(p: gpd.GeoDataFrame, tmp: Path, url: str) -> Path:
    bad = _list(p)
    bad.loc[7, "parcel_id"] = bad.loc[6, "parcel_id"]
    bad.loc[9, "geometry"] = bad.geometry.iloc[8].centroid.buffer(0.0002)
    bad.loc[9, "park_id"] = bad.loc[8, "park_id"]
    return _gpkg(bad, tmp)


CORPUS: dict[str, tuple[Builder, str]] = {
    "R1 VRT as .geojson": (r1_vrt_as_geojson, "not GeoJSON"),
    "R1 VRT as .csv": (r1_vrt_as_csv, "csv"),
    "R1 VRT in a zip": (r1_vrt_in_zip, "shp"),
    "R2 URL in a field": (r2_url_in_a_field, "URL"),
    "R2 linked crs": (r2_linked_crs, "crs"),
    "R3 zip slip": (r3_zip_slip, "unsafe"),
    "R3 symlink": (r3_symlink, "link"),
    "R3 duplicate member": (r3_duplicate, "duplicate"),
    "R4 zip bomb": (r4_bomb, "zip bomb"),
    "R4 nested zip": (r4_nested, "nested"),
    "R5 missing .shx": (r5_missing_shx, ".shx"),
    "R5 missing .prj": (r5_missing_prj, "CRS"),
    "R5 two .shp": (r5_two_shapefiles, ".shp"),
    "R6 GBK without .cpg": (r6_gbk_without_cpg, "GBK"),
    "R7 bow-tie": (r7_bow_tie, "Self-intersection"),
    "R7 NaN and Z": (r7_nan_and_z, "Z"),
    "R7 wrong geometry type": (r7_wrong_type, "Point"),
    "R8 degrees declared as Gauss-Krüger": (r8_degrees_declared_as_gauss_kruger, "4526"),
    "R8 swapped axes": (r8_swapped_axes, "outside"),
    "R8 wrong zone": (r8_wrong_zone, "4527"),
    "R9 duplicate ids and overlaps": (r9_duplicates_and_overlaps, "overlaps"),
}


@pytest.mark.parametrize("case", list(CORPUS))
def test_a_hostile_list_is_refused_and_changes_nothing(
    case: str,
    loaded: Store,
    zone: dict[str, gpd.GeoDataFrame],
    tmp_path: Path,
    loopback: tuple[str, list[str]],  # noqa: F811
) -> None:
    url, hits = loopback
    (tmp_path / "secret.csv").write_text(f"id,secret\n1,{SECRET}\n", encoding="utf-8")
    build, expected = CORPUS[case]
    path = build(zone["parcels"], tmp_path, url)
    before = data_hash(loaded.features.read(PARCELS), PARCELS), len(loaded.releases.all())

    result = import_list(loaded, path, year=2027, actor=BUREAU)

    assert result.release is None and not result.report.accepted
    report = json.dumps(result.report.as_dict(), ensure_ascii=False)
    assert expected.lower() in report.lower(), report[:2000]
    assert all(p.file == path.name for p in result.report.problems)
    assert SECRET not in report and str(tmp_path) not in report
    assert hits == []
    assert (data_hash(loaded.features.read(PARCELS), PARCELS), len(loaded.releases.all())) == before
    assert not (tmp_path.parent.parent / "evil.txt").exists()


def test_r10_declared_area_differences_are_flagged_per_parcel(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    listed = _list(zone["parcels"])
    listed.loc[4, "decl_mu"] = float(listed.loc[4, "decl_mu"] or 50) * 3
    result = import_list(loaded, _gpkg(listed, tmp_path), year=2027, actor=BUREAU)
    assert result.report.accepted
    flagged = [w for w in result.report.warnings if w.feature_id == listed.loc[4, "parcel_id"]]
    assert len(flagged) == 1 and flagged[0].field == "decl_mu" and flagged[0].row == 5


def test_r11_formulas_in_a_published_list_are_neutralised_in_csv_exports(
    loaded: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    listed = _list(zone["parcels"])
    listed.loc[0, "name"] = "=cmd|' /C calc'!A0"
    listed.loc[1, "name"] = "@SUM(1+1)"
    staged = import_list(loaded, _gpkg(listed, tmp_path), year=2027, actor=BUREAU).release
    assert staged is not None
    loaded.releases.publish(staged.id, actor=BUREAU)
    out = tmp_path / "export.csv"
    write_layer_file(loaded.features.read(PARCELS), PARCELS, out)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        names = {row["parcel_id"]: row["name"] for row in csv.DictReader(handle)}
    assert names[listed.loc[0, "parcel_id"]] == "'=cmd|' /C calc'!A0"
    assert names[listed.loc[1, "parcel_id"]] == "'@SUM(1+1)"
