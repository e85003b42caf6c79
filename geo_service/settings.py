"""Service settings, read from ``GEO_SERVICE_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from maps.basemap import Basemap


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "geo-service"


class Settings(BaseSettings):
    """Where the store is and how the service behaves.

    ``db_url`` is a SQLAlchemy URL: ``sqlite:///path/file.db`` for the embedded store,
    ``postgresql+psycopg://user:password@host/db`` for PostGIS. Unset, the embedded
    store ``geo_service.db`` in ``data_dir`` is used.
    """

    model_config = SettingsConfigDict(env_prefix="GEO_SERVICE_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    db_url: str | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    tmp_dir: Path | None = Field(
        default=None,
        description="folder for uploads while they are imported; unset, the system's",
    )
    title: str = "开发区土地与厂房匹配服务 (Development-zone land and factory service)"
    basemap: Literal["none", "local", "tianditu", "gaode"] = "none"
    basemap_tiles: Path | None = Field(
        default=None, description="folder of raster tiles {z}/{x}/{y}.png for basemap=local"
    )
    tianditu_key: str | None = None
    service_desk: str | None = Field(
        default=None, description="the zone's investment service desk, shown to investors"
    )
    map_tile_threshold: int = Field(
        default=20_000,
        ge=0,
        description="served investor and readiness maps with more sites than this draw "
        "them from vector tiles instead of embedding them",
    )
    examples_dir: Path = Field(
        default_factory=lambda: Path(__file__).resolve().parents[1] / "examples" / "requests"
    )
    default_limit: int = Field(default=100, ge=1)
    max_limit: int = Field(default=10_000, ge=1)
    statement_timeout_ms: int = Field(
        default=30_000,
        ge=1,
        description="the store stops any statement of the service running longer "
        "(PostgreSQL cancels it, SQLite interrupts it; the client gets 503 query_timeout); "
        "the CLI has no such limit",
    )
    count_limit: int = Field(
        default=100_000,
        ge=1,
        description="numberMatched is counted up to this many features; beyond, it is left "
        "out of the response (OGC API – Features allows that), so a count stays cheap",
    )
    upload_max_bytes: int = Field(
        default=200 * 2**20,
        ge=1,
        description="the largest upload over HTTP (stock lists, ledger files), in bytes, "
        "form encoding included; larger ones are answered 413 before they are stored "
        "(the command line reads files up to the stock list's own limit)",
    )
    json_max_bytes: int = Field(
        default=2**20,
        ge=1,
        description="the largest JSON body (matching, reservations, ledger edits, "
        "preselection) or form, in bytes; larger ones are answered 413 unread",
    )
    import_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description="uploaded lists are validated and staged in a process of their own, "
        "at this lower CPU priority (nice), so that maps, items and matching stay fast",
    )
    max_removed_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="a stock list that would remove more than this share of the parcels "
        "in force is refused unless the removals are confirmed (--confirm-removals, "
        "confirm_removals=true)",
    )
    import_timeout_s: float = Field(
        default=300,
        gt=0,
        description="an upload's import process is ended after this many seconds (the "
        "caller gets 503 import_timeout, nothing is changed, the next upload gets a new one)",
    )

    session_ttl_s: int = Field(
        default=8 * 3600,
        ge=60,
        description="a browser session opened at /login ends this many seconds later",
    )
    token_ttl_s: int = Field(
        default=3600,
        ge=60,
        description="an access token from /oauth/token (QGIS's OAuth2 method) is good for "
        "this many seconds; the client asks for a new one with the key",
    )
    trusted_origins: list[str] = Field(
        default_factory=list,
        description="origins (https://gis.example.org) besides the service's own from "
        "which signed-in browsers may make changes: set it when a proxy rewrites the Host",
    )

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Settings:
        if self.environment == "production" and not self.db_url:
            raise ValueError(
                "GEO_SERVICE_DB_URL must be set in production (no implicit embedded store)"
            )
        return self

    @property
    def map_basemap(self) -> Basemap:
        """The basemap as the maps package takes it (served tiles come from /basemap)."""
        return Basemap(
            kind=self.basemap,
            tiles_url="/basemap/{z}/{x}/{y}.png" if self.basemap == "local" else None,
            tianditu_key=self.tianditu_key,
        )

    @property
    def store_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_dir / 'geo_service.db'}"
