"""A client nobody here wrote: Debian's GDAL 3.6 (``ogrinfo``, ``ogr2ogr``) reads the running
service through its OGC API – Features driver, and reads the staff GeoPackage download.

The oracle is the store: the collections GDAL lists, the counts, geometry types and SRS it
reports, and every feature it reads (id, geometry, properties) through the ``next`` links
of small pages — for the public (the allow-list only) and for a planner (every field).
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import httpx
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import CRS
from shapely.testing import assert_geometries_equal

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.catalog import LAYERS
from layers.frames import derive
from layers.geojson import plain
from layers.schema import LayerSpec
from layers.store.store import Store
from tests.browser import serve
from tests.people import TESTER

PAGE_SIZE = 7  # pages far below the service's default (settings.default_limit)
TRICKY_NAME = "演示地块「甲」𠀀 'single' \"double\", 逗号"  # CJK Ext. B: 4 bytes in UTF-8
SRS = re.compile(r"^Layer SRS WKT:\n(.+?)\nData axis to CRS axis mapping: ([\d,]+)$", re.M | re.S)
OGR_TYPES = {"str": "String", "int": "Integer", "float": "Real", "bool": "Integer(Boolean)",
             "date": "Date"}  # fmt: skip
# In our GeoPackages: 64-bit integers, and dates as GeoPackage DATE columns (item 14: QGIS
# sorts and filters them as dates, not text).
FILE_TYPES = OGR_TYPES | {"int": "Integer64"}


@pytest.fixture(scope="module")
def zone(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    zone = demo_zone(parcels=60)
    zone["parcels"].loc[0, "name"] = TRICKY_NAME
    return zone


@pytest.fixture
def planner_key(loaded: Store) -> str:
    return auth.create_key(loaded, name="招商部 GDAL", role="planner", actor=TESTER)[1]


@pytest.fixture(params=["public", "planner"])
def key(request: pytest.FixtureRequest) -> str | None:
    """Who GDAL reads as: nobody (``None``), or a planner's key."""
    if request.param == "public":
        return None
    return str(request.getfixturevalue("planner_key"))


@pytest.fixture
def base_url(loaded: Store, settings: Settings) -> Iterator[str]:
    with serve(create_app(settings)) as base:
        yield base


def gdal(
    tool: str, *args: str, key: str | None = None, debug: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run Debian's ``tool``; a key goes in a header (in the environment, not on the command
    line). Fails the test on a non-zero exit or any GDAL error, which ogrinfo may print and
    still exit 0 (a 401 on the items reads as an empty layer)."""
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(f"{tool} is not installed: run scripts/test.sh, which installs gdal-bin")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GDAL_", "CPL_"))}
    env |= {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    env |= {"GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "ON" if debug else "OFF"}
    if key is not None:
        env["GDAL_HTTP_HEADERS"] = f"Authorization: Bearer {key}"
    result = subprocess.run(
        [path, *args], capture_output=True, text=True, encoding="utf-8", env=env, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr, result.stderr
    return result


@dataclass
class LayerSummary:
    """What ``ogrinfo -so`` says about one layer."""

    geometry: str
    count: int
    extent: tuple[float, ...] | None  # minx, miny, maxx, maxy; None: no features
    crs: CRS
    axis_mapping: str
    fields: dict[str, str]


def summary(text: str) -> LayerSummary:
    geometry = re.search(r"^Geometry: (.+)$", text, re.M)
    count = re.search(r"^Feature Count: (\d+)$", text, re.M)
    extent = re.search(r"^Extent: \((.+), (.+)\) - \((.+), (.+)\)$", text, re.M)
    wkt = SRS.search(text)
    assert geometry and count and wkt, text
    fields = dict(re.findall(r"^(\w+): ([\w()]+) \(\d+\.\d+\)$", text[wkt.end() :], re.M))
    return LayerSummary(
        geometry=geometry[1],
        count=int(count[1]),
        extent=tuple(float(v) for v in extent.groups()) if extent else None,
        crs=CRS.from_wkt(wkt[1]),
        axis_mapping=wkt[2],
        fields=fields,
    )


def layer_list(text: str) -> dict[str, str]:
    """Layer name → geometry type, from ``ogrinfo`` without a layer name."""
    found = re.findall(r"^\d+: (\w+)(?: \(title: .*\))? \(([\w ]+)\)$", text, re.M)
    return dict(found)


def ogr_type(geometry_type: str) -> str:
    """GDAL's name of a geometry type: ``MultiPolygon`` → ``Multi Polygon``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", geometry_type)


def only_type(frame: gpd.GeoDataFrame, spec: LayerSpec) -> str:
    types = set(frame.geom_type)
    assert len(types) == 1 and types <= set(spec.geometry_types), types
    return ogr_type(types.pop())


def visible(spec: LayerSpec, key: str | None) -> list[str]:
    return spec.field_names(spec.visible_fields(public=key is None))


def same(expected: Any, actual: Any) -> bool:
    if isinstance(actual, str) and not isinstance(expected, str):
        # GDAL took the field for text: every value on its first page was null (see
        # test_gdal_knows_each_fields_type); the value itself must still be right.
        actual = json.loads(actual)
    if isinstance(expected, float) and actual is not None:
        return bool(actual == pytest.approx(expected, rel=1e-12))
    return bool(expected == actual)


def property_mismatches(
    spec: LayerSpec, frame: gpd.GeoDataFrame, features: list[dict[str, Any]], names: list[str]
) -> list[tuple[int, str, Any, Any]]:
    """Every (id, field, store value, GDAL value) that differs; a missing or extra field
    counts as a difference."""
    expected = derive(frame, spec)
    wrong: list[tuple[int, str, Any, Any]] = []
    for feature in features:
        fid, properties = feature["id"], feature["properties"]
        if sorted(properties) != sorted(names):
            wrong.append((fid, "<fields>", sorted(names), sorted(properties)))
            continue
        for name in names:
            value = plain(expected.at[fid, name])
            if not same(value, properties[name]):
                wrong.append((fid, name, value, properties[name]))
    return wrong


def test_every_collection_is_listed(base_url: str, loaded: Store, key: str | None) -> None:
    listed = layer_list(gdal("ogrinfo", "-ro", f"OAPIF:{base_url}", key=key).stdout)
    expected = {name: only_type(loaded.features.read(spec), spec) for name, spec in LAYERS.items()}
    assert listed == expected


def shown_to(store: Store, spec: LayerSpec, key: str | None) -> list[Any]:
    """What the caller is shown of ``spec``: staff every feature, the public the sites on
    offer (as on the map)."""
    return [] if key else store.features.on_offer(spec)


def test_counts_types_srs_and_fields_agree_with_the_store(
    base_url: str, loaded: Store, key: str | None
) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    for name, spec in LAYERS.items():
        args = ("-ro", "-so", "-oo", f"PAGE_SIZE={PAGE_SIZE}", f"OAPIF:{base_url}", name)
        seen = summary(gdal("ogrinfo", *args, key=key).stdout)
        frame = loaded.features.read(spec, where=shown_to(loaded, spec, key))
        page = httpx.get(f"{base_url}/collections/{name}/items?limit=1", headers=headers).json()
        count = loaded.features.count(spec, where=shown_to(loaded, spec, key))
        assert seen.count == len(frame) == count == page["numberMatched"], name
        assert seen.geometry == only_type(frame, spec), name
        # CRS84: WGS 84 with longitude first in the data, whatever the CRS's own axis order.
        assert seen.crs.equals(CRS("OGC:CRS84"), ignore_axis_order=True), seen.crs
        assert seen.axis_mapping == "2,1"
        assert seen.extent == pytest.approx(loaded.features.extent(spec), abs=1e-6)
        assert list(seen.fields) == visible(spec, key), name


def test_reading_every_feature_through_small_pages(
    base_url: str, loaded: Store, key: str | None
) -> None:
    for name, spec in LAYERS.items():
        frame = loaded.features.read(spec, where=shown_to(loaded, spec, key))
        done = gdal(
            "ogr2ogr", "-preserve_fid", "-f", "GeoJSON", "/vsistdout/", f"OAPIF:{base_url}",
            name, "-oo", f"PAGE_SIZE={PAGE_SIZE}", key=key, debug=True,
        )  # fmt: skip
        # GDAL's first request only guesses the fields; then it reads page after page,
        # following each page's `next` link until a page has none.
        fetched = re.findall(r"HTTP: Fetch\((\S+)\)$", done.stderr, re.M)
        pages = [urlsplit(u) for u in fetched if f"/collections/{name}/items" in u]
        assert all(f"{p.scheme}://{p.netloc}" == base_url for p in pages), fetched
        assert {parse_qs(p.query)["limit"][0] for p in pages} == {str(PAGE_SIZE)}
        offsets = [int(parse_qs(p.query).get("offset", ["0"])[0]) for p in pages[1:]]
        assert offsets == list(range(0, len(frame), PAGE_SIZE)), fetched
        assert len(offsets) > 1 or len(frame) <= PAGE_SIZE

        features = json.loads(done.stdout)["features"]
        assert [f["id"] for f in features] == list(frame.index), name
        read = [shapely.from_geojson(json.dumps(f["geometry"])) for f in features]
        assert_geometries_equal(read, frame.geometry.to_numpy(), tolerance=1e-9)
        assert property_mismatches(spec, frame, features, visible(spec, key)) == [], name
    parcels = loaded.features.read(LAYERS["parcels"])
    assert TRICKY_NAME in set(parcels["name"])  # and it came back unchanged, above


def test_a_bbox_travels_with_the_next_links(base_url: str, loaded: Store) -> None:
    spec = LAYERS["parcels"]
    minx, miny, maxx, maxy = loaded.features.extent(spec) or pytest.fail("no parcels")
    box = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    expected = loaded.features.read(
        spec, bbox=box, where=loaded.features.on_offer(spec)
    )  # the public
    assert (
        PAGE_SIZE
        < len(expected)
        < loaded.features.count(spec, where=loaded.features.on_offer(spec))
    )
    done = gdal(
        "ogr2ogr",
        "-preserve_fid",
        "-f",
        "GeoJSON",
        "/vsistdout/",
        f"OAPIF:{base_url}",
        "parcels",
        "-oo",
        f"PAGE_SIZE={PAGE_SIZE}",
        "-spat",
        *map(str, box),
        debug=True,
    )
    assert re.search(r"HTTP: Fetch\(\S+bbox=\S+offset=7\)", done.stderr), done.stderr
    assert [f["id"] for f in json.loads(done.stdout)["features"]] == list(expected.index)


def test_gdal_knows_each_fields_type(base_url: str, loaded: Store, planner_key: str) -> None:
    """From the collection's ``describedBy`` schema, not guessed from the first page
    (where a field empty on every feature would read as text)."""
    wrong = {}
    for (name, spec), key in itertools.product(LAYERS.items(), (None, planner_key)):
        text = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{base_url}", name, key=key).stdout
        for field, kind in summary(text).fields.items():
            expected = OGR_TYPES[spec.field(field).kind]
            if kind.removesuffix("64") != expected:
                wrong[f"{name}.{field}"] = (expected, kind)
    assert wrong == {}


# -- the staff download: the whole zone as one GeoPackage --------------------------------


def check_zone_file(path: Path, store: Store, *, public: bool = False) -> None:
    """The GeoPackage as Debian's GDAL reads it: every layer, its count, geometry type,
    CGCS2000 (EPSG:4490), the fields (all, or the public allow-list) and every value,
    Chinese text included, as stored."""
    listed = layer_list(gdal("ogrinfo", "-ro", str(path)).stdout)
    assert list(listed) == list(LAYERS)
    for name, spec in LAYERS.items():
        where = store.features.on_offer(spec) if public else []  # the public: sites on offer
        frame = store.features.read(spec, as_stored=True, where=where)
        seen = summary(gdal("ogrinfo", "-ro", "-so", str(path), name).stdout)
        assert seen.count == len(frame), name
        if len(frame):
            assert listed[name] == seen.geometry == only_type(frame, spec), name
        else:
            assert seen.geometry == ogr_type(spec.geometry_types[-1]), name
        assert seen.crs.equals(CRS.from_epsg(4490)), seen.crs  # CGCS2000
        assert seen.axis_mapping == "2,1"  # x is longitude
        names = spec.field_names(spec.visible_fields(public=public))
        assert list(seen.fields) == names, name
        assert seen.fields == {n: FILE_TYPES[spec.field(n).kind] for n in names}, name
        text = gdal("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", str(path), name).stdout
        read = json.loads(text)["features"]
        # A GeoPackage numbers its rows afresh: match them to the store's in order.
        for feature, fid in zip(read, frame.index, strict=True):
            feature["id"] = fid
        assert property_mismatches(spec, frame, read, names) == [], name
        if len(frame):
            geometries = [shapely.from_geojson(json.dumps(f["geometry"])) for f in read]
            assert_geometries_equal(geometries, frame.geometry.to_numpy(), tolerance=1e-9)


def _downloads_left(settings: Settings) -> set[str]:
    folder = settings.tmp_dir or tempfile.gettempdir()
    return set(glob.glob(os.path.join(folder, "geo-service-download-*")))


def test_staff_download_the_whole_zone_as_one_geopackage(
    client: TestClient, loaded: Store, settings: Settings, tmp_path: Path
) -> None:
    anonymous = client.get("/downloads/zone.gpkg")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "authentication_required"
    bad = client.get("/downloads/zone.gpkg", headers={"X-API-Key": "gsk_made-up"})
    assert bad.status_code == 401
    keys = {
        role: auth.create_key(loaded, name=f"{role} 测试", role=role, actor=TESTER)[1]
        for role in ("planner", "land_bureau", "admin")
    }
    audited = len(loaded.audit.rows(limit=100_000))
    before = _downloads_left(settings)
    for role, key in keys.items():
        response = client.get("/downloads/zone.gpkg", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/geopackage+sqlite3"
        assert response.headers["content-disposition"] == 'attachment; filename="zone.gpkg"'
        assert response.headers["cache-control"] == "private, no-store"
        assert int(response.headers["content-length"]) == len(response.content)
        path = tmp_path / role / "zone.gpkg"
        path.parent.mkdir()
        path.write_bytes(response.content)
        check_zone_file(path, loaded)
    assert _downloads_left(settings) <= before  # built in a temporary file, removed once sent
    assert len(loaded.audit.rows(limit=100_000)) == audited  # a download is a read


def test_a_layer_with_no_features_yet_is_in_the_file_too(
    client: TestClient, store: Store, zone: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    for name in ("parks", "parcels"):
        store.features.write(LAYERS[name], zone[name], actor=TESTER)
    key = auth.create_key(store, name="土地局", role="land_bureau", actor=TESTER)[1]
    response = client.get("/downloads/zone.gpkg", headers={"X-API-Key": key})
    assert response.status_code == 200
    path = tmp_path / "zone.gpkg"
    path.write_bytes(response.content)
    check_zone_file(path, store)


def test_the_command_line_exports_the_same_zone(
    loaded: Store, store_url: str, tmp_path: Path
) -> None:
    cli = [sys.executable, "-m", "geo_service", "export-zone"]
    for public in (False, True):
        path = tmp_path / ("public" if public else "staff") / "开发区.gpkg"
        done = subprocess.run(
            [*cli, str(path), "--db", store_url, *(["--public"] if public else [])],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        parcels = LAYERS["parcels"]
        shown = loaded.features.count(
            parcels, where=loaded.features.on_offer(parcels) if public else []
        )
        assert f"地块 {shown}" in done.stdout
        assert [p.name for p in path.parent.iterdir()] == [path.name]  # no .part left over
        check_zone_file(path, loaded, public=public)
    refused = subprocess.run(
        [*cli, str(tmp_path / "zone.geojson"), "--db", store_url],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and ".gpkg" in refused.stderr
