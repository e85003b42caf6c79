"""What every ``geo-service`` command shares: consoles, the store option, progress bars
and the person running the command."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from geo_service.settings import Settings
from layers.catalog import LAYERS
from layers.schema import LayerSpec
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
PortOption = Annotated[int, typer.Option(help="port to listen on")]


def settings_for(db: str | None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"db_url": db}) if db else settings


def open_store(db: str | None) -> Store:
    return Store.open(settings_for(db).store_url)


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
    return Actor(getpass.getuser(), "cli")
