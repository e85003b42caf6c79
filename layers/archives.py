"""Zip containers (a zipped Shapefile, an XLSX workbook), checked before anything in
them is decompressed: only the central directory is read."""

from __future__ import annotations

import stat
import zipfile
from pathlib import PurePosixPath

from layers.errors import LayerValidationError, Problem

# Limits checked on a zip's directory before anything is decompressed.
MAX_ZIP_MEMBERS = 50
MAX_UNCOMPRESSED = 2 * 1024**3
MAX_RATIO = 200  # a Shapefile or XLSX compresses ~3–20×; a zip bomb by 1000× and more


def safe_zip_members(archive: zipfile.ZipFile, *, source: str) -> list[zipfile.ZipInfo]:
    """The file members of an open zip, once its directory is found safe to unpack.

    Only the central directory is read; nothing is decompressed. Refused: more than
    :data:`MAX_ZIP_MEMBERS` members, more than :data:`MAX_UNCOMPRESSED` bytes in all, a
    member compressed more than :data:`MAX_RATIO` times (a zip bomb), unsafe member
    paths (absolute, ``..``, backslashes, drive letters), duplicates and nested archives.

    Raises
    ------
    LayerValidationError
        Naming every bad member; the whole archive is refused.
    """
    members = [m for m in archive.infolist() if not m.is_dir()]
    problems = _zip_problems(source, members)
    if problems:
        raise LayerValidationError(f"{source}: 压缩包被拒绝 (zip refused)", problems)
    return members


def _zip_problems(source: str, members: list[zipfile.ZipInfo]) -> list[Problem]:
    problems: list[Problem] = []
    if len(members) > MAX_ZIP_MEMBERS:
        problems.append(
            Problem(
                f"zip 含 {len(members)} 个文件, 上限 {MAX_ZIP_MEMBERS} (too many members)",
                file=source,
            )
        )
    if sum(m.file_size for m in members) > MAX_UNCOMPRESSED:
        problems.append(
            Problem(
                f"解压后超过 {MAX_UNCOMPRESSED // 1024**3} GiB (too large uncompressed)",
                file=source,
            )
        )
    seen: set[str] = set()
    for member in members:
        name = member.filename
        parts = PurePosixPath(name).parts
        if "\\" in name or name.startswith("/") or ".." in parts or ":" in name:
            problems.append(Problem(f"非法路径 {name!r} (unsafe member path)", file=source))
        if name.lower() in seen:
            problems.append(Problem(f"重复的文件 {name!r} (duplicate member)", file=source))
        seen.add(name.lower())
        if stat.S_ISLNK(member.external_attr >> 16):
            problems.append(Problem(f"符号链接 {name!r} (symbolic link member)", file=source))
        if PurePosixPath(name).suffix.lower() in (".zip", ".7z", ".rar", ".gz", ".tar"):
            problems.append(Problem(f"嵌套压缩包 {name!r} (nested archive)", file=source))
        if (
            member.file_size > MAX_RATIO * max(member.compress_size, 1)
            and member.file_size > 1 << 20
        ):
            problems.append(
                Problem(
                    f"{name!r} 压缩比异常 (compression ratio above {MAX_RATIO}: zip bomb?)",
                    file=source,
                )
            )
    return problems


__all__ = ["MAX_RATIO", "MAX_UNCOMPRESSED", "MAX_ZIP_MEMBERS", "safe_zip_members"]
