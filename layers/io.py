"""Read and write layer files: GeoPackage, GeoJSON, zipped Shapefile, CSV and XLSX.

Reading always ends in :func:`layers.frames.conform`, so a file is either loaded whole
in canonical form or refused with every problem named. The format is chosen by the
file's extension. GeoPackage, GeoJSON and Shapefile are read by GDAL, and the driver
GDAL actually opened is checked against the extension, so a file that is something
else in disguise is refused. CSV and XLSX (the land bureau's stock lists) never reach
GDAL: :mod:`layers.sheets` reads and writes them in Python. Exports carry the derived
fields (areas, readiness) for convenience; reading ignores them and recomputes.

What GDAL must never see is refused before it opens the file: a GeoJSON ``crs`` that
names a link (:mod:`layers.geojson_crs`), SQL in a GeoPackage
(:mod:`layers.geopackage_sql`), an unsafe zip (:mod:`layers.shapefile`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely

from layers.errors import InvalidInput, Problem
from layers.frames import GEOMETRY, Check, conform, derive
from layers.geojson_crs import refuse_crs_members
from layers.geopackage_sql import refuse_sql_in_geopackage
from layers.schema import FieldSpec, LayerSpec
from layers.shapefile import refuse_truncation, shapefile_in_zip, write_zipped_shapefile
from layers.sheet_export import write_table_file
from layers.sheets import read_table_file
from layers.values import field_type

DRIVERS = {
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".zip": "ESRI Shapefile",
    ".csv": "CSV",
    ".xlsx": "XLSX",
}
# Formats read and written by layers.sheets, in Python: never opened by GDAL.
_TABLES = frozenset({"CSV", "XLSX"})
# What each format's bytes must start with. Checked before GDAL opens anything, because
# GDAL picks its driver from the content: an OGR VRT named .geojson would otherwise be
# opened as VRT and could read local files or URLs.
_MAGIC = {"GPKG": (b"SQLite format 3\x00",), "GeoJSON": (b"{",), "ESRI Shapefile": (b"PK\x03\x04",)}


def file_format(path: Path) -> str:
    """The format of a file name (GDAL's driver name), or :class:`InvalidInput` naming the
    accepted ones. ``CSV`` and ``XLSX`` are read without GDAL, by :mod:`layers.sheets`."""
    driver = DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise InvalidInput(
            f"{path.name}: 不支持的文件格式 (unsupported format); accepted: "
            ".gpkg, .geojson/.json, .zip (zipped Shapefile), .csv, .xlsx"
        )
    return driver


def read_layer_file(
    path: Path,
    spec: LayerSpec,
    *,
    crs: str | int | None = None,
    encoding: str | None = None,
    checks: Sequence[Check] = (),
    repairs: list[Problem] | None = None,
) -> gpd.GeoDataFrame:
    """Read, validate and transform a layer file to the canonical frame in EPSG:4490.

    Parameters
    ----------
    crs
        CRS to assume when the file has none (e.g. a Shapefile without ``.prj``, or the
        coordinates of a CSV or XLSX, see :func:`layers.sheets.read_table_file`).
    encoding
        Attribute encoding of a Shapefile without ``.cpg``, or of a CSV that is not
        UTF-8 (often ``GBK``).
    checks
        More checks of the caller's, run by :func:`layers.frames.conform` so that their
        problems join the file's own.
    repairs
        A list to repair invalid geometry explicitly into (see
        :func:`layers.frames.conform`); ``None``, the default, refuses it.
    """
    driver = file_format(path)
    if driver in _TABLES:
        return read_table_file(
            path, spec, crs=crs, encoding=encoding, checks=checks, repairs=repairs
        )
    dataset, encoding = _checked_dataset(path, driver, encoding)
    frame, layer = _read_gdal(path, spec, dataset, driver=driver, encoding=encoding)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidInput(
            f"{path.name}: 图层 {layer or spec.name!r} 没有几何 (the layer has no geometry column)"
        )
    if frame.geometry.name != GEOMETRY:
        frame = frame.rename_geometry(GEOMETRY)
    return conform(frame, spec, source=path.name, declared_crs=crs, checks=checks, repairs=repairs)


def _checked_dataset(path: Path, driver: str, encoding: str | None) -> tuple[str, str | None]:
    """What GDAL is to open for ``path`` and the attribute encoding, once the file is
    found safe for GDAL to open."""
    if not path.is_file():
        raise InvalidInput(f"{path}: 文件不存在 (file not found)")
    if "OGR_VRT" in pyogrio.list_drivers():
        raise InvalidInput(
            "GDAL 的 VRT 驱动未关闭, 拒绝读取 (GDAL's VRT driver is enabled; "
            "import layers before pyogrio)"
        )
    _check_magic(path, driver)
    if driver == "GeoJSON":
        refuse_crs_members(path)
    if driver == "GPKG":
        refuse_sql_in_geopackage(path)
    if driver == "ESRI Shapefile":
        dataset, detected = shapefile_in_zip(path, declared_encoding=encoding)
        return dataset, encoding or detected
    return str(path), encoding


def _read_gdal(
    path: Path, spec: LayerSpec, dataset: str, *, driver: str, encoding: str | None
) -> tuple[Any, str | None]:
    """The layer GDAL reads from ``dataset`` (a frame, or a plain table when it has no
    geometry) and the name of the layer it read, if it had to pick one."""
    source = path.name
    try:
        layer = _pick_layer(path, spec) if driver != "ESRI Shapefile" else None
        info = pyogrio.read_info(dataset, layer=layer, encoding=encoding)
        if info["driver"] != driver:
            raise InvalidInput(
                f"{source}: 文件内容是 {info['driver']} 而不是 {driver} "
                f"(the file is really {info['driver']}, not {driver})"
            )
        frame = pyogrio.read_dataframe(dataset, layer=layer, encoding=encoding)
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
    ) as exc:
        # GDAL's message names server paths; say what is wrong without them.
        raise InvalidInput(
            f"{source}: 文件无法读取, 可能已损坏 (the file cannot be read; "
            f"is it damaged?) [{type(exc).__name__}]"
        ) from None
    return frame, layer


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


def write_layer_file(
    frame: gpd.GeoDataFrame, spec: LayerSpec, path: Path, *, public: bool = False
) -> int:
    """Write a canonical frame (with derived fields added) to ``path``; returns the count.

    ``public=True`` writes only the fields on the public allow-list. CSV and XLSX are
    written by :func:`layers.sheet_export.write_table_file` (geometry as WKT, text that a
    spreadsheet would run as a formula neutralised).
    """
    driver = file_format(path)
    if driver in _TABLES:
        return write_table_file(frame, spec, path, public=public)
    fields = spec.visible_fields(public=public)
    out = _file_frame(frame, spec, fields)
    path.parent.mkdir(parents=True, exist_ok=True)
    if driver != "ESRI Shapefile":
        path.unlink(missing_ok=True)
        _write_gdal_layer(out, spec, path, driver=driver)
        return len(out)
    refuse_truncation(out, fields, path.name)
    write_zipped_shapefile(out, spec.name, path)
    return len(out)


def write_zone_file(
    frames: Mapping[str, gpd.GeoDataFrame],
    specs: Mapping[str, LayerSpec],
    path: Path,
    *,
    public: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Write several layers into one GeoPackage, one table per layer, each as
    :func:`write_layer_file` would write it alone; returns the count of each layer.

    The file is written beside ``path`` and moved into place when complete, so a
    failure leaves no half-written zone behind. ``progress`` is called with each layer's
    name and count once it is written.

    Examples
    --------
    >>> import tempfile
    >>> from layers.catalog import LAYERS
    >>> from layers.demo import generate_zone
    >>> zone = generate_zone(parcels=20)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     counts = write_zone_file(zone, LAYERS, Path(tmp) / "zone.gpkg")
    >>> counts["parcels"], counts["parks"]
    (20, 4)
    """
    if file_format(path) != "GPKG":
        raise InvalidInput(
            f"{path.name}: 整个开发区只能导出为 .gpkg (a whole zone is written to .gpkg only)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.stem}.part{path.suffix}")  # GDAL wants .gpkg
    part.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    try:
        for name, frame in frames.items():
            spec = specs[name]
            out = _file_frame(frame, spec, spec.visible_fields(public=public))
            _write_gdal_layer(out, spec, part, driver="GPKG")
            counts[name] = len(out)
            if progress is not None:
                progress(name, len(out))
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return counts


def _file_frame(
    frame: gpd.GeoDataFrame, spec: LayerSpec, fields: tuple[FieldSpec, ...]
) -> gpd.GeoDataFrame:
    """The frame as files hold it: derived fields added, only ``fields``, dates as text
    (ISO 8601, YYYY-MM-DD; a GeoPackage gets them as dates, see :func:`_write_gdal_layer`)."""
    out = derive(frame, spec)[[*spec.field_names(fields), GEOMETRY]].reset_index(drop=True)
    for f in fields:
        if _is_day(f):
            out[f.name] = out[f.name].map(lambda d: None if d is None else d.isoformat())
    return out


def _is_day(f: FieldSpec) -> bool:
    """Whether a field holds calendar days: ISO 8601 text (YYYY-MM-DD) in a file, as in
    JSON, and a DATE column in a GeoPackage."""
    return field_type(f).json_format == "date"


def _write_gdal_layer(out: gpd.GeoDataFrame, spec: LayerSpec, path: Path, *, driver: str) -> None:
    """Add ``out`` as the table ``spec.name`` to ``path`` (created if missing)."""
    options: dict[str, Any] = {}
    if not len(out):
        # No geometry to infer the type from: declare the widest the layer holds
        # (MultiPolygon for polygons) rather than leave it "Unknown".
        options["geometry_type"] = spec.geometry_types[-1]
    if driver == "GPKG" and not path.exists():
        # Our GDAL writes GeoPackage 1.4 by default, which GDAL 3.6 (Debian 12) and the
        # QGIS built on it open with a warning; 1.2 holds all we write and opens everywhere.
        options["dataset_options"] = {"VERSION": "1.2"}
    dates = [f.name for f in spec.fields if _is_day(f) and f.name in out.columns]
    if driver == "GPKG" and dates:
        _write_gpkg_with_dates(out, spec, path, dates, **options)
        return
    # Keep each feature's own type: GDAL would otherwise promote all to Multi*.
    pyogrio.write_dataframe(
        out, path, layer=spec.name, driver=driver, promote_to_multi=False, **options
    )


def _write_gpkg_with_dates(
    out: gpd.GeoDataFrame,
    spec: LayerSpec,
    path: Path,
    dates: list[str],
    *,
    geometry_type: str | None = None,
    dataset_options: dict[str, str] | None = None,
) -> None:
    """As :func:`pyogrio.write_dataframe`, but with ``dates`` as GeoPackage DATE columns:
    pandas cannot hold the ``datetime64[D]`` arrays from which pyogrio makes an OGR Date
    field (it writes text or DateTime), so the columns go to :func:`pyogrio.raw.write`.
    QGIS and GDAL then read them as dates, not strings, and sort and filter them so."""
    names = [c for c in out.columns if c != GEOMETRY]
    data: list[Any] = []
    masks: list[Any] = []
    for name in names:
        column = out[name]
        if name in dates:  # ISO text (or None) → days; None → NaT, written as NULL
            data.append(pd.to_datetime(column, format="%Y-%m-%d").to_numpy("datetime64[D]"))
            masks.append(None)
        elif pd.api.types.is_extension_array_dtype(column.dtype):
            # Nullable Int64 / boolean / Float64: values and a mask, as pyogrio passes them.
            numpy_dtype = getattr(column.dtype, "numpy_dtype", np.dtype(object))
            fill = 0 if numpy_dtype != np.dtype(object) else None
            data.append(column.to_numpy(dtype=numpy_dtype, na_value=fill))
            masks.append(column.isna().to_numpy())
        else:
            data.append(column.to_numpy())
            masks.append(None)
    geoms = out.geometry.values
    if geometry_type is None:
        kinds = sorted(set(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist()))
        # One kind: that type; a mix (Polygon and MultiPolygon): each feature keeps its own.
        geometry_type = _GEOMETRY_NAMES[kinds[0]] if len(kinds) == 1 else "Unknown"
    epsg = out.crs.to_epsg() if out.crs is not None else None
    pyogrio.raw.write(
        path,
        shapely.to_wkb(geoms),
        data,
        names,
        field_mask=masks,
        layer=spec.name,
        driver="GPKG",
        geometry_type=geometry_type,
        crs=f"EPSG:{epsg}" if epsg else (out.crs.to_wkt("WKT1_GDAL") if out.crs else None),
        promote_to_multi=False,
        dataset_options=dataset_options,
    )


_GEOMETRY_NAMES = {
    0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
    6: "MultiPolygon", 7: "GeometryCollection",
}  # fmt: skip


__all__ = [
    "DRIVERS",
    "file_format",
    "read_layer_file",
    "write_layer_file",
    "write_zone_file",
]
