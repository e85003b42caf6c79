"""Zipped Shapefiles: the one Shapefile in an upload's zip, its attribute encoding, and
the text a Shapefile cannot hold on export.

The zip's directory is checked by :func:`layers.archives.safe_zip_members` before
anything in it is decompressed.
"""

from __future__ import annotations

import codecs
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pyogrio

from layers.archives import safe_zip_members
from layers.errors import InvalidInput, LayerValidationError, Problem
from layers.kinds import kind_of
from layers.schema import FieldSpec

_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf")
_SHP_MAGIC = b"\x00\x00\x27\x0a"  # file code 9994, big-endian
# dBASE header: 32 bytes, then 32 per field, up to the 0x0D terminator.
_DBF_HEADER = 32
DBF_TEXT_LIMIT = 254  # bytes per text field in a Shapefile


def shapefile_in_zip(path: Path, *, declared_encoding: str | None) -> tuple[str, str | None]:
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


def refuse_truncation(frame: gpd.GeoDataFrame, fields: tuple[FieldSpec, ...], name: str) -> None:
    """A Shapefile holds at most 254 bytes per text value; GDAL would cut longer ones."""
    problems = []
    for f in fields:
        if kind_of(f).family != "str":
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


def write_zipped_shapefile(out: gpd.GeoDataFrame, layer: str, path: Path) -> None:
    """Write ``out`` as the Shapefile ``layer`` (attributes in UTF-8) zipped to ``path``,
    which is replaced only once the zip is complete."""
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / f"{layer}.shp"
        pyogrio.write_dataframe(out, shp, driver="ESRI Shapefile", encoding="UTF-8")
        tmp_zip = path.with_name(path.name + ".part")
        with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(tmp).iterdir()):
                archive.write(part, arcname=part.name)
        tmp_zip.replace(path)


__all__ = ["DBF_TEXT_LIMIT", "refuse_truncation", "shapefile_in_zip", "write_zipped_shapefile"]
