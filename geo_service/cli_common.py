"""What every ``geo-service`` command shares: consoles, the store option, progress bars,
the person running the command and writing map pages.

The command modules import only this, typer, rich and the catalog at the top, so that
``geo-service --help`` starts fast; the store, settings (pydantic), geopandas, folium and
FastAPI are imported by the commands that use them (tests/test_cli.py checks it)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from layers.catalog import LAYERS
from layers.schema import LayerSpec

if TYPE_CHECKING:
    from geo_service.settings import Settings
    from layers.store.audit import Actor
    from layers.store.store import Store

console = Console(soft_wrap=True)  # long lines: the terminal wraps, copy-paste works
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL of the store (default: GEO_SERVICE_DB_URL, "
        "else the embedded file in the data directory)",
    ),
]
HostOption = Annotated[str, typer.Option(help="address to listen on")]
StandaloneOption = Annotated[
    bool, typer.Option(help="one self-contained file (assets and data inlined)")
]
PortOption = Annotated[int, typer.Option(help="port to listen on")]


def settings_for(db: str | None) -> Settings:
    from geo_service.settings import Settings

    settings = Settings()
    return settings.model_copy(update={"db_url": db}) if db else settings


def open_store(db: str | None) -> Store:
    from layers.store.store import Store

    return Store.open(settings_for(db).store_url)


def serve_app(settings: Settings, host: str, port: int) -> None:
    """Run the service in this process until it is stopped."""
    import uvicorn

    from geo_service.app import create_app
    from geo_service.errors import server_log_config

    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="info",
        log_config=server_log_config(),
    )  # fmt: skip


def layer_spec(name: str) -> LayerSpec:
    if name not in LAYERS:
        raise typer.BadParameter(f"未知图层 {name!r}; 可选 (choose from): {', '.join(LAYERS)}")
    return LAYERS[name]


def progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def cli_actor() -> Actor:
    """Who runs the command: the operating-system account (recorded in the audit log)."""
    from layers.store.audit import Actor

    return Actor(getpass.getuser(), "cli")


def write_map(
    m: Any, output: Path, settings: Settings, standalone: bool, *, to: Console = console
) -> None:
    """Write a map page; without ``standalone`` its assets go to ``static/`` beside it.
    The line saying so goes to ``to`` (stderr when stdout carries JSON)."""
    from maps.page import ASSETS, render

    basemap = settings.map_basemap
    html, _csp = render(m, standalone=standalone, basemap=basemap, prefix="static")
    output.parent.mkdir(parents=True, exist_ok=True)
    if not standalone:
        for name, source in ASSETS.items():
            target = output.parent / "static" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    output.write_text(html, encoding="utf-8")
    to.print(
        f"地图已写入 (map written): {output} ({len(html) / 1e6:.2f} MB"
        + (", 单文件 standalone" if standalone else ", assets in static/")
        + ")"
    )
