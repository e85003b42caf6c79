"""Read and write layer files: GeoPackage, GeoJSON, zipped Shapefile, CSV and XLSX.

Reading always ends in :func:`layers.frames.conform`, so a file is either loaded whole
in canonical form or refused with every problem named. The format is chosen by the
file's extension. GeoPackage, GeoJSON and Shapefile are read by GDAL, and the driver
GDAL actually opened is checked against the extension, so a file that is something
else in disguise is refused. CSV and XLSX (the land bureau's stock lists) never reach
GDAL: :mod:`layers.sheets` reads and writes them in Python. Exports carry the derived
fields (areas, readiness) for convenience; reading ignores them and recomputes.

Zip containers (a zipped Shapefile, an XLSX workbook) have their directory checked by
:func:`layers.archives.safe_zip_members` before anything in them is decompressed.
"""

from __future__ import annotations

import codecs
import json
import re
import sqlite3
import string
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely

from layers.archives import safe_zip_members
from layers.errors import InvalidInput, LayerValidationError, Problem
from layers.frames import GEOMETRY, Check, conform, derive
from layers.schema import FieldSpec, LayerSpec
from layers.sheets import read_table_file, write_table_file

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
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf")
# What each format's bytes must start with. Checked before GDAL opens anything, because
# GDAL picks its driver from the content: an OGR VRT named .geojson would otherwise be
# opened as VRT and could read local files or URLs.
_MAGIC = {"GPKG": (b"SQLite format 3\x00",), "GeoJSON": (b"{",), "ESRI Shapefile": (b"PK\x03\x04",)}
_SHP_MAGIC = b"\x00\x00\x27\x0a"  # file code 9994, big-endian
# dBASE header: 32 bytes, then 32 per field, up to the 0x0D terminator.
_DBF_HEADER = 32
# The only GeoJSON "crs" GDAL may see: a name it resolves from its own database. Any
# other (a link, a URL, a /vsicurl/ path, an unknown type) makes GDAL fetch or open what
# it names. [0-9], not \d, which would also match other scripts' digits.
_KNOWN_CRS_NAME = re.compile(
    r"EPSG:[0-9]{1,6}|urn:ogc:def:crs:EPSG::[0-9]{1,6}|urn:ogc:def:crs:OGC:1\.3:CRS84"
    r"|http://www\.opengis\.net/def/crs/EPSG/0/[0-9]{1,6}"
)
# Members naming a CRS: GeoJSON 2008's "crs" (GDAL matches it in any case) and JSON-FG's
# "coordRefSys", which GDAL's JSONFG driver reads. RFC 7946 has neither.
_CRS_MEMBERS = frozenset({"crs", "coordrefsys"})
_SHOWN_PATHS = 5
# Triggers the GeoPackage standard and GDAL put in every file: the spatial index's
# (annex F.3), GDAL's feature counts, the tile matrix and metadata checks. Triggers run
# only on writes, which a read never makes; any other is refused all the same, as
# nothing that writes GeoPackages for us adds one.
_STANDARD_TRIGGER = re.compile(
    r"rtree_.+_(insert|update[1-7]|delete)|trigger_(insert|delete)_feature_count_.+"
    r"|gpkg_(tile_matrix|metadata_reference)_.+"
)
_PLAIN_TABLE = re.compile(r"\s*CREATE\s+TABLE\b", re.IGNORECASE)
# Reading a GeoPackage's schema takes milliseconds; a schema that takes longer is hostile.
_SCHEMA_CHECK_S = 5.0
DBF_TEXT_LIMIT = 254  # bytes per text field in a Shapefile


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
    if not path.is_file():
        raise InvalidInput(f"{path}: 文件不存在 (file not found)")
    if "OGR_VRT" in pyogrio.list_drivers():
        raise InvalidInput(
            "GDAL 的 VRT 驱动未关闭, 拒绝读取 (GDAL's VRT driver is enabled; "
            "import layers before pyogrio)"
        )
    source = path.name
    _check_magic(path, driver)
    if driver == "GeoJSON":
        _refuse_crs_members(path)
    if driver == "GPKG":
        _refuse_sql_in_geopackage(path)
    if driver == "ESRI Shapefile":
        dataset, detected = _shapefile_in_zip(path, declared_encoding=encoding)
        encoding = encoding or detected
    else:
        dataset = str(path)
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
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidInput(
            f"{source}: 图层 {layer or spec.name!r} 没有几何 (the layer has no geometry column)"
        )
    if frame.geometry.name != GEOMETRY:
        frame = frame.rename_geometry(GEOMETRY)
    return conform(frame, spec, source=source, declared_crs=crs, checks=checks, repairs=repairs)


def _check_magic(path: Path, driver: str) -> None:
    with path.open("rb") as handle:
        head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(_MAGIC[driver]):
        raise InvalidInput(
            f"{path.name}: 文件内容不是 {driver} (the file's content is not {driver}; "
            "check the file and its extension)"
        )


def _refuse_crs_members(path: Path) -> None:
    """Refuse a GeoJSON with any ``crs`` member other than a plain known name.

    Decided on the parsed document, never on its bytes: GDAL reads members in any order,
    keys in any case, ``\\u`` escapes, and the last of duplicated keys, so a byte pattern
    always misses a spelling. Every object's members are seen, duplicates included
    (``object_pairs_hook``). Memory: the file's bytes and decoded text (about three times
    the file: 258 MB for an 88 MB list, where a plain ``json.loads`` takes 505 MB), plus
    one feature at a time: each object is reduced to what the check needs once its
    members are checked.
    """
    try:
        document = json.loads(path.read_bytes(), object_pairs_hook=_check_members)
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{path.name}: GeoJSON 必须是 UTF-8 编码 (a GeoJSON file must be UTF-8, RFC 7946)"
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path.name}: 不是有效的 JSON, 第 {exc.lineno} 行第 {exc.colno} 列 "
            f"(not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise InvalidInput(f"{path.name}: JSON 嵌套过深 (JSON nested too deeply)") from None
    bad = [f"${p}" for p in _bad_paths(document)]
    if bad:
        shown = ", ".join(bad[:_SHOWN_PATHS]) + (
            f" … (+{len(bad) - _SHOWN_PATHS})" if len(bad) > _SHOWN_PATHS else ""
        )
        raise InvalidInput(
            f'{path.name}: {shown}: 不接受 crs 成员, 除非是已知名称 (a "crs" member is '
            'accepted only as {"type": "name", "properties": {"name": "EPSG:4490"}} or another '
            "EPSG name; RFC 7946 GeoJSON has none: remove it)"
        )


class _Checked:
    """An object whose members were checked: only the paths of refused ``crs`` members
    in it are kept, not its content."""

    __slots__ = ("bad",)

    def __init__(self, bad: tuple[str, ...]) -> None:
        self.bad = bad


_CLEAN = _Checked(())


def _check_members(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Checked:
    """``json`` object hook: the object reduced to the refused ``crs`` members in it.

    Objects are decoded innermost first, so a ``crs`` value arrives already reduced:
    small objects of text (``{"type": "name", "properties": {"name": …}}`` is one) are
    kept as dicts to be judged, everything else becomes a :class:`_Checked`.
    """
    bad: list[str] = []
    for key, value in pairs:
        step = _step(key)
        if _as_gdal_reads(key) in _CRS_MEMBERS and not _is_known_crs(value):
            bad.append(step)
        bad += [step + p for p in _bad_paths(value)]
    plain = len(pairs) <= 2 and len({key for key, _ in pairs}) == len(pairs)
    if not bad and plain and all(isinstance(v, (str, dict)) for _, v in pairs):
        return dict(pairs)
    return _Checked(tuple(bad)) if bad else _CLEAN


def _as_gdal_reads(key: str) -> str:
    """A member's name as GDAL matches it: its JSON parser ends a key at the first NUL
    (``"crs\\u0000x"`` is its ``crs``), and it compares names without regard to case."""
    return key.split("\x00", 1)[0].casefold()


def _is_known_crs(value: object) -> bool:
    if not isinstance(value, dict) or value.keys() != {"type", "properties"}:
        return False
    properties = value["properties"]
    return (
        value["type"] == "name"
        and isinstance(properties, dict)
        and properties.keys() == {"name"}
        and isinstance(properties["name"], str)
        and _KNOWN_CRS_NAME.fullmatch(properties["name"]) is not None
    )


def _bad_paths(value: object) -> list[str]:
    """The refused members under a decoded value (arrays walked without recursion:
    coordinates nest deeply)."""
    if isinstance(value, _Checked):
        return list(value.bad)
    bad: list[str] = []
    stack: list[tuple[str, object]] = [("", value)] if isinstance(value, list) else []
    while stack:
        where, item = stack.pop()
        if isinstance(item, _Checked):
            bad += [where + p for p in item.bad]
        elif isinstance(item, list):
            nested = [(f"{where}[{i}]", v) for i, v in enumerate(item)]
            stack += [entry for entry in reversed(nested) if isinstance(entry[1], (list, _Checked))]
    return bad


def _step(key: str) -> str:
    """One step of a JSON path, as a person would write it."""
    if key.isidentifier() and key.isascii():
        return f".{key}"
    return f"[{json.dumps(key[:40], ensure_ascii=False)}]"


def _refuse_sql_in_geopackage(path: Path) -> None:
    """Refuse a GeoPackage that would make GDAL run SQL of the file's: a layer that is a
    view (or a virtual table), any view, any trigger but the standard ones.

    Checked with Python's sqlite3 before GDAL opens the file, read-only and immutable,
    so that nothing in it runs: only the schema and ``gpkg_contents`` are read, and only
    once ``gpkg_contents`` is known to be a plain table.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    deadline = time.monotonic() + _SCHEMA_CHECK_S
    problems: list[Problem] = []
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            # A bound on anything this reads, should a schema be made to be slow.
            db.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
            schema = db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
            objects = {_nocase(str(name)): (kind, sql or "") for kind, name, sql in schema}
            views = sorted(str(name) for kind, name, _ in schema if kind == "view")
            triggers = sorted(
                str(name)
                for kind, name, _ in schema
                if kind == "trigger" and not _STANDARD_TRIGGER.fullmatch(str(name))
            )
            if not _is_plain_table(objects.get("gpkg_contents")):
                raise InvalidInput(
                    f"{path.name}: 不是 GeoPackage, 缺少 gpkg_contents 表 "
                    "(not a GeoPackage: no gpkg_contents table)"
                )
            layers = [str(row[0]) for row in db.execute("SELECT table_name FROM gpkg_contents")]
            # A generated column runs its expression on every read: SQL of the file's.
            generated = [
                (layer, str(column))
                for layer in layers
                if _is_plain_table(objects.get(_nocase(layer)))
                for column, hidden in db.execute(
                    "SELECT name, hidden FROM pragma_table_xinfo(?)", (layer,)
                )
                if hidden in (2, 3)
            ]
    except sqlite3.DatabaseError:
        raise InvalidInput(
            f"{path.name}: 文件无法读取, 可能已损坏 (the file cannot be read; is it damaged?)"
        ) from None
    problems += [
        Problem(
            f"图层 {layer!r} 是视图或虚拟表, 只接受普通数据表 (layer {layer!r} is a view or "
            "virtual table; only plain tables are read: export the layer as a table)",
            file=path.name,
        )
        for layer in layers
        if not _is_plain_table(objects.get(_nocase(layer)))
    ]
    problems += [
        Problem(
            f"图层 {layer!r} 的列 {column!r} 是计算列, 只接受普通列 (column {column!r} of "
            f"layer {layer!r} is computed by SQL; only stored values are read)",
            file=path.name,
            field=column,
        )
        for layer, column in generated
    ]
    problems += [
        Problem(
            f"含视图 {name!r}, 请删除 (the file holds a view {name!r}: remove it)", file=path.name
        )
        for name in views
        if _nocase(name) not in {_nocase(layer) for layer in layers}  # named above
    ]
    problems += [
        Problem(
            f"含触发器 {name!r}, 请删除 (the file holds a trigger {name!r}: remove it)",
            file=path.name,
        )
        for name in triggers
    ]
    if problems:
        raise LayerValidationError(
            f"{path.name}: GeoPackage 只能包含数据表 (a GeoPackage may hold tables only: "
            "no views, no triggers of its own)",
            problems,
        )


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _nocase(name: str) -> str:
    """A name as SQLite compares names: A–Z folded, nothing else (``str.casefold`` would
    make ``"parcelſ"``, long s, the same as ``"parcels"``, and let a view hide behind it)."""
    return name.translate(_ASCII_LOWER)


def _is_plain_table(entry: tuple[str, str] | None) -> bool:
    return entry is not None and entry[0] == "table" and bool(_PLAIN_TABLE.match(entry[1]))


def _pick_layer(path: Path, spec: LayerSpec) -> str | None:
    names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    if spec.name in names or len(names) <= 1:
        return spec.name if spec.name in names else None
    raise InvalidInput(
        f"{path.name}: 含多个图层 {names}, 没有名为 {spec.name!r} 的图层 "
        f"(several layers and none named {spec.name!r})"
    )


def _shapefile_in_zip(path: Path, *, declared_encoding: str | None) -> tuple[str, str | None]:
    """The ``/vsizip/`` path of the one Shapefile in a zip, and its attribute encoding
    when the zip settles it (``.cpg``, or plain UTF-8).

    The zip's directory is checked before anything is decompressed: member names (no
    absolute paths, ``..``, backslashes, duplicates, nested archives), member count,
    sizes and compression ratios. Any bad member refuses the whole upload.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = safe_zip_members(archive, source=path.name)
            by_stem: dict[str, dict[str, zipfile.ZipInfo]] = {}
            for member in members:
                name = PurePosixPath(member.filename)
                by_stem.setdefault(str(name.with_suffix("")).lower(), {})[name.suffix.lower()] = (
                    member
                )
            shapefiles = [stem for stem, parts in by_stem.items() if ".shp" in parts]
            if len(shapefiles) != 1:
                raise LayerValidationError(
                    f"{path.name}: Shapefile 压缩包不完整 (incomplete)",
                    [
                        Problem(
                            f"zip 中应恰好有一个 .shp, 实际 {len(shapefiles)} 个 "
                            f"{sorted(shapefiles)} (exactly one .shp expected)",
                            file=path.name,
                        )
                    ],
                )
            parts = by_stem[shapefiles[0]]
            missing = [p for p in _SHAPEFILE_PARTS if p not in parts]
            if missing:
                raise LayerValidationError(
                    f"{path.name}: Shapefile 压缩包不完整 (incomplete)",
                    [
                        Problem(f"缺少 {shapefiles[0]}{part} (missing {part})", file=path.name)
                        for part in missing
                    ],
                )
            with archive.open(parts[".shp"]) as shp:
                if shp.read(4) != _SHP_MAGIC:
                    raise InvalidInput(
                        f"{path.name}: {parts['.shp'].filename} 不是 Shapefile "
                        "(the .shp member is not a Shapefile)"
                    )
            dataset = f"/vsizip/{path.resolve()}/{parts['.shp'].filename}"
            if declared_encoding is not None or ".cpg" in parts:
                return dataset, declared_encoding
            return dataset, _dbf_encoding(path.name, archive, parts[".dbf"])
    except zipfile.BadZipFile:
        raise InvalidInput(f"{path.name}: 不是有效的 zip 文件 (not a valid zip file)") from None


def _dbf_encoding(source: str, archive: zipfile.ZipFile, dbf: zipfile.ZipInfo) -> str:
    """``"UTF-8"`` when the attributes decode as UTF-8; otherwise refuse rather than guess
    (GBK read as Latin-1 would silently become mojibake). Streams the member."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with archive.open(dbf) as handle:
        header = handle.read(_DBF_HEADER)
        header_size = int.from_bytes(header[8:10], "little") if len(header) == _DBF_HEADER else 0
        handle.read(max(header_size - len(header), 0))
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InvalidInput(
                f"{source}: 缺少 .cpg, 属性不是 UTF-8 编码, 请声明编码, 例如 --encoding GBK "
                "(no .cpg and the attributes are not UTF-8: declare the encoding, e.g. GBK)"
            ) from None
    return "UTF-8"


def write_layer_file(
    frame: gpd.GeoDataFrame, spec: LayerSpec, path: Path, *, public: bool = False
) -> int:
    """Write a canonical frame (with derived fields added) to ``path``; returns the count.

    ``public=True`` writes only the fields on the public allow-list. CSV and XLSX are
    written by :func:`layers.sheets.write_table_file` (geometry as WKT, text that a
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
    _refuse_truncation(out, fields, path.name)
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / f"{spec.name}.shp"
        pyogrio.write_dataframe(out, shp, driver=driver, encoding="UTF-8")
        tmp_zip = path.with_name(path.name + ".part")
        with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(tmp).iterdir()):
                archive.write(part, arcname=part.name)
        tmp_zip.replace(path)
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
        if f.kind == "date":
            out[f.name] = out[f.name].map(lambda d: None if d is None else d.isoformat())
    return out


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
    dates = [f.name for f in spec.fields if f.kind == "date" and f.name in out.columns]
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


def _refuse_truncation(frame: gpd.GeoDataFrame, fields: tuple[FieldSpec, ...], name: str) -> None:
    """A Shapefile holds at most 254 bytes per text value; GDAL would cut longer ones."""
    problems = []
    for f in fields:
        if f.kind != "str":
            continue
        too_long = frame[f.name].map(
            lambda v: isinstance(v, str) and len(v.encode("utf-8")) > DBF_TEXT_LIMIT
        )
        problems += [
            Problem(
                f"文本超过 Shapefile 的 {DBF_TEXT_LIMIT} 字节上限, 请导出为 .gpkg "
                f"(text longer than a Shapefile holds; export to .gpkg)",
                file=name,
                row=int(i) + 1,
                field=f.name,
            )
            for i in np.flatnonzero(too_long.to_numpy(dtype=bool))
        ]
    if problems:
        raise LayerValidationError(
            f"{name}: 无法无损写为 Shapefile (cannot write losslessly)", problems
        )


__all__ = [
    "DRIVERS",
    "file_format",
    "read_layer_file",
    "write_layer_file",
    "write_zone_file",
]
