"""Uploaded files: written to a temporary file of our own naming — the client's file name
is kept only as a label, and only its extension (from an allow-list) is used."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path, PurePath

from fastapi import UploadFile

from layers.errors import InvalidInput
from layers.stocklist_validation import MAX_FILE_BYTES

_CHUNK = 1 << 20


def upload_label(file: UploadFile) -> str:
    """The client's file name, as a label only (never a path), without control characters
    (a NUL would not fit in a PostgreSQL text column)."""
    name = "".join(c for c in PurePath(file.filename or "upload").name if c.isprintable())
    return name[:200] or "upload"


@asynccontextmanager
async def uploaded(
    file: UploadFile, *, allowed: tuple[str, ...], folder: Path | None
) -> AsyncIterator[Path]:
    """The upload written to a temporary file of our own naming (only the extension, from
    ``allowed``, is taken from the client) in ``folder`` (unset: the system's temporary
    folder), removed afterwards whatever happens."""
    label = upload_label(file)
    suffix = PurePath(label).suffix.lower()
    if suffix not in allowed:
        raise InvalidInput(
            f"{label}: 不支持的文件格式 (unsupported format); accepted: {', '.join(allowed)}"
        )
    with tempfile.TemporaryDirectory(prefix="geo-service-upload-", dir=folder) as made:
        path = Path(made) / f"upload{suffix}"
        size = 0
        with path.open("wb") as out:
            while chunk := await file.read(_CHUNK):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise InvalidInput(
                        f"{label}: 文件超过 {MAX_FILE_BYTES // 2**20} MB (file too large)"
                    )
                out.write(chunk)
        yield path
