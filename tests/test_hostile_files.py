"""Files that try to make GDAL fetch, read or allocate more than they should are refused
before anything is read, and nothing is contacted."""

from __future__ import annotations

import http.server
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import geopandas as gpd
import pyogrio
import pytest
import shapely

from layers.catalog import LAYERS, PARCELS, ROADS
from layers.demo import generate_zone
from layers.errors import InvalidInput, LayerValidationError
from layers.io import read_layer_file, write_layer_file


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def do_HEAD(self) -> None:
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every request it gets."""
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    # shutdown() waits for the loop's next poll: 0.5 s by default, for every test using it.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    server.shutdown()


@pytest.fixture(scope="module")
def roads(demo_zone: Callable[..., dict[str, gpd.GeoDataFrame]]) -> gpd.GeoDataFrame:
    return demo_zone(parcels=20)["roads"]


def _shapefile_parts(frame: gpd.GeoDataFrame, folder: Path) -> dict[str, bytes]:
    folder.mkdir()
    pyogrio.write_dataframe(frame, folder / "roads.shp", encoding="UTF-8")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_vrt_inside_a_zip_is_never_opened(
    tmp_path: Path, roads: gpd.GeoDataFrame, loopback: tuple[str, list[str]]
) -> None:
    url, hits = loopback
    parts = _shapefile_parts(roads, tmp_path / "shp")
    vrt = (
        f'<OGRVRTDataSource><OGRVRTLayer name="roads"><SrcDataSource>{url}/leak.csv'
        "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"
    ).encode()
    path = _zip(tmp_path / "roads.zip", {**parts, "roads.shp": vrt})
    with pytest.raises(InvalidInput) as caught:
        read_layer_file(path, ROADS)
    assert hits == []
    assert url not in str(caught.value) and str(tmp_path) not in str(caught.value)


def test_geojson_with_a_linked_crs_is_refused(
    tmp_path: Path, roads: gpd.GeoDataFrame, loopback: tuple[str, list[str]]
) -> None:
    url, hits = loopback
    path = tmp_path / "roads.geojson"
    write_layer_file(roads, ROADS, path)
    text = path.read_text(encoding="utf-8").replace(
        '"type": "FeatureCollection",',
        f'"type": "FeatureCollection", "crs": {{"type": "link", "properties": '
        f'{{"href": "{url}/link.prj", "type": "proj4"}}}},',
        1,
    )
    assert url in text
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match="crs"):
        read_layer_file(path, ROADS)
    assert hits == []


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../../evil.txt", "unsafe"),
        ("..\\..\\evil.txt", "unsafe"),
        ("/etc/evil.txt", "unsafe"),
        ("inner.zip", "nested"),
        ("ROADS.DBF", "duplicate"),
    ],
)
def test_unsafe_zip_members_refuse_the_whole_upload(
    tmp_path: Path, roads: gpd.GeoDataFrame, member: str, reason: str
) -> None:
    parts = _shapefile_parts(roads, tmp_path / "shp")
    path = _zip(tmp_path / "roads.zip", {**parts, member: b"x"})
    with pytest.raises(LayerValidationError, match="refused") as caught:
        read_layer_file(path, ROADS)
    assert any(reason in p.message for p in caught.value.problems)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_zip_bomb_is_refused_before_decompression(tmp_path: Path, roads: gpd.GeoDataFrame) -> None:
    parts = _shapefile_parts(roads, tmp_path / "shp")
    path = _zip(tmp_path / "roads.zip", {**parts, "roads.dbf": b"\0" * (256 * 1024**2)})
    assert path.stat().st_size < 2 * 1024**2
    with pytest.raises(LayerValidationError) as caught:
        read_layer_file(path, ROADS)
    assert any("zip bomb" in p.message for p in caught.value.problems)


def test_upper_case_shapefile_members_load(tmp_path: Path, roads: gpd.GeoDataFrame) -> None:
    parts = _shapefile_parts(roads, tmp_path / "shp")
    upper = {
        name.rsplit(".", 1)[0].upper() + "." + name.rsplit(".", 1)[1].upper(): data
        for name, data in parts.items()
    }
    path = _zip(tmp_path / "roads.zip", upper)
    assert len(read_layer_file(path, ROADS)) == len(roads)


def test_damaged_file_gives_a_clear_error(tmp_path: Path, roads: gpd.GeoDataFrame) -> None:
    good = tmp_path / "good.gpkg"
    write_layer_file(roads, ROADS, good)
    bad = tmp_path / "damaged.gpkg"
    bad.write_bytes(good.read_bytes()[:2048])
    with pytest.raises(InvalidInput, match="damaged") as caught:
        read_layer_file(bad, ROADS)
    assert str(tmp_path) not in str(caught.value)


def test_empty_layer_round_trips(tmp_path: Path, roads: gpd.GeoDataFrame) -> None:
    for suffix in (".gpkg", ".geojson", ".zip"):
        path = tmp_path / f"empty{suffix}"
        write_layer_file(roads.iloc[:0], ROADS, path)
        assert len(read_layer_file(path, ROADS)) == 0


def test_shapefile_export_refuses_to_truncate(tmp_path: Path) -> None:
    parcels = generate_zone(parcels=10)["parcels"]
    parcels.loc[3, "note_int"] = "长" * 120  # 360 bytes in UTF-8
    with pytest.raises(LayerValidationError) as caught:
        write_layer_file(parcels, PARCELS, tmp_path / "p.zip")
    assert [(p.row, p.field) for p in caught.value.problems] == [(4, "note_int")]
    assert not (tmp_path / "p.zip").exists()
    write_layer_file(parcels, PARCELS, tmp_path / "p.gpkg")
    assert read_layer_file(tmp_path / "p.gpkg", PARCELS).loc[3, "note_int"] == "长" * 120


def test_geopackage_keeps_polygons_and_multipolygons_apart(tmp_path: Path) -> None:
    parks = generate_zone(parcels=10)["parks"]
    first = parks.geometry.iloc[0]
    parks.loc[0, "geometry"] = shapely.MultiPolygon(
        [first, shapely.affinity.translate(first, 0.2, 0)]
    )
    path = tmp_path / "parks.gpkg"
    write_layer_file(parks, LAYERS["parks"], path)
    types = list(read_layer_file(path, LAYERS["parks"]).geom_type)
    assert types == list(parks.geom_type)
    assert types.count("MultiPolygon") == 1
