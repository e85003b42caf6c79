"""Read and write layer files: GeoPackage, GeoJSON and zipped Shapefile.

Reading always ends in :func:`layers.frames.conform`, so a file is either loaded whole
in canonical form or refused with every problem named. The format is chosen by the
file's extension and the driver GDAL actually opened is checked against it, so a file
that is something else in disguise is refused. Exports carry the derived fields
(areas, readiness) for convenience; reading ignores them and recomputes.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pyogrio

from layers.errors import InvalidInput, LayerValidationError, Problem
from layers.frames import GEOMETRY, conform, derive
from layers.schema import LayerSpec

DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".zip": "ESRI Shapefile"}
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf")
# What each format's bytes must start with. Checked before GDAL opens anything, because
# GDAL picks its driver from the content: an OGR VRT named .geojson would otherwise be
# opened as VRT and could read local files or URLs.
_MAGIC = {"GPKG": (b"SQLite format 3\x00",), "GeoJSON": (b"{",), "ESRI Shapefile": (b"PK\x03\x04",)}
# dBASE header: 32 bytes, then 32 per field, up to the 0x0D terminator.
_DBF_HEADER = 32


def file_format(path: Path) -> str:
    """The GDAL driver for a file name, or :class:`InvalidInput` naming the accepted ones."""
    driver = DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise InvalidInput(
            f"{path.name}: 不支持的文件格式 (unsupported format); accepted: "
            ".gpkg, .geojson/.json, .zip (zipped Shapefile)"
        )
    return driver


def read_layer_file(
    path: Path,
    spec: LayerSpec,
    *,
    crs: str | int | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read, validate and transform a layer file to the canonical frame in EPSG:4490.

    Parameters
    ----------
    crs
        CRS to assume when the file has none (e.g. a Shapefile without ``.prj``).
    encoding
        Attribute encoding of a Shapefile without ``.cpg`` (often ``GBK``).
    """
    driver = file_format(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: 文件不存在 (file not found)")
    source = path.name
    _check_magic(path, driver)
    if driver == "ESRI Shapefile":
        dataset, detected = _shapefile_in_zip(path, declared_encoding=encoding)
        encoding = encoding or detected
        layer = None
    else:
        dataset, layer = str(path), _pick_layer(path, spec)
    info = pyogrio.read_info(dataset, layer=layer, encoding=encoding)
    if info["driver"] != driver:
        raise InvalidInput(
            f"{source}: 文件内容是 {info['driver']} 而不是 {driver} "
            f"(the file is really {info['driver']}, not {driver})"
        )
    frame = pyogrio.read_dataframe(dataset, layer=layer, encoding=encoding)
    if frame.geometry.name != GEOMETRY:
        frame = frame.rename_geometry(GEOMETRY)
    return conform(frame, spec, source=source, declared_crs=crs)


def _check_magic(path: Path, driver: str) -> None:
    with path.open("rb") as handle:
        head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(_MAGIC[driver]):
        raise InvalidInput(
            f"{path.name}: 文件内容不是 {driver} (the file's content is not {driver}; "
            "check the file and its extension)"
        )


def _pick_layer(path: Path, spec: LayerSpec) -> str | None:
    names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    if spec.name in names or len(names) <= 1:
        return spec.name if spec.name in names else None
    raise InvalidInput(
        f"{path.name}: 含多个图层 {names}, 没有名为 {spec.name!r} 的图层 "
        f"(several layers and none named {spec.name!r})"
    )


def _shapefile_in_zip(path: Path, *, declared_encoding: str | None) -> tuple[str, str | None]:
    """The ``/vsizip/`` path of the one Shapefile in a zip, after checking its members,
    and the attribute encoding when the zip itself settles it (``.cpg`` or plain UTF-8).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"{path.name}: 不是有效的 zip 文件 (not a valid zip file)") from exc
    problems: list[Problem] = []
    stems: dict[str, set[str]] = {}
    for member in members:
        name = PurePosixPath(member.filename)
        if name.is_absolute() or ".." in name.parts:
            problems.append(Problem(f"非法路径 {member.filename!r} (unsafe path)", file=path.name))
            continue
        stems.setdefault(str(name.with_suffix("")), set()).add(name.suffix.lower())
    shapefiles = [stem for stem, parts in stems.items() if ".shp" in parts]
    if len(shapefiles) != 1:
        problems.append(
            Problem(
                f"zip 中应恰好有一个 .shp, 实际 {len(shapefiles)} 个 {sorted(shapefiles)} "
                "(exactly one .shp expected)",
                file=path.name,
            )
        )
    else:
        present = stems[shapefiles[0]]
        problems += [
            Problem(f"缺少 {shapefiles[0]}{part} (missing {part})", file=path.name)
            for part in _SHAPEFILE_PARTS
            if part not in present
        ]
    if problems:
        raise LayerValidationError(f"{path.name}: Shapefile 压缩包不完整 (incomplete)", problems)
    stem = shapefiles[0]
    dataset = f"/vsizip/{path.resolve()}/{stem}.shp"
    if declared_encoding is not None:
        return dataset, declared_encoding
    return dataset, _dbf_encoding(path, stem, stems[stem])


def _dbf_encoding(path: Path, stem: str, parts: set[str]) -> str | None:
    """``None`` when a ``.cpg`` declares the encoding (GDAL reads it), ``"UTF-8"`` when the
    attributes decode as UTF-8; otherwise refuse rather than guess (GBK read as Latin-1
    would silently become mojibake).
    """
    if ".cpg" in parts:
        return None
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.lower() == f"{stem}.dbf".lower())
        dbf = archive.read(name)
    header_size = int.from_bytes(dbf[8:10], "little") if len(dbf) >= _DBF_HEADER else 0
    try:
        dbf[header_size:].decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{path.name}: 缺少 .cpg, 属性不是 UTF-8 编码, 请声明编码, 例如 --encoding GBK "
            "(no .cpg and the attributes are not UTF-8: declare the encoding, e.g. GBK)"
        ) from None
    return "UTF-8"


def write_layer_file(
    frame: gpd.GeoDataFrame, spec: LayerSpec, path: Path, *, public: bool = False
) -> int:
    """Write a canonical frame (with derived fields added) to ``path``; returns the count.

    ``public=True`` writes only the fields on the public allow-list.
    """
    driver = file_format(path)
    fields = spec.visible_fields(public=public)
    out = derive(frame, spec)[[*spec.field_names(fields), GEOMETRY]].reset_index(drop=True)
    for f in fields:
        if f.kind == "date":
            # Dates are written as ISO 8601 text (YYYY-MM-DD) in every format.
            out[f.name] = out[f.name].map(lambda d: None if d is None else d.isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    if driver != "ESRI Shapefile":
        path.unlink(missing_ok=True)
        pyogrio.write_dataframe(out, path, layer=spec.name, driver=driver)
        return len(out)
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / f"{spec.name}.shp"
        pyogrio.write_dataframe(out, shp, driver=driver, encoding="UTF-8")
        tmp_zip = path.with_name(path.name + ".part")
        with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(tmp).iterdir()):
                archive.write(part, arcname=part.name)
        tmp_zip.replace(path)
    return len(out)


__all__ = ["DRIVERS", "file_format", "read_layer_file", "write_layer_file"]
