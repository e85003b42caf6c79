"""``geo-service map …``: the maps as HTML files, to open offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from geo_service.cli_common import (
    DbOption,
    StandaloneOption,
    err,
    open_store,
    settings_for,
    write_map,
)
from layers.catalog import LAYERS

map_app = typer.Typer(help="地图 (offline maps as HTML files)", no_args_is_help=True)

OutputFile = Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")]


def _frames(db: str | None) -> dict[str, Any]:
    store = open_store(db)
    with err.status("读取图层 (reading layers) …"):
        return {name: store.features.read(spec) for name, spec in LAYERS.items()}


@map_app.command("investor")
def map_investor(
    output: OutputFile, db: DbOption = None, standalone: StandaloneOption = False
) -> None:
    """投资者地图 (public investor map: available land and idle factories)."""
    from maps.investor import investor_map

    settings = settings_for(db)
    m = investor_map(_frames(db), basemap=settings.map_basemap, desk=settings.service_desk)
    write_map(m, output, settings, standalone)


@map_app.command("readiness")
def map_readiness(
    output: OutputFile,
    db: DbOption = None,
    standalone: StandaloneOption = False,
    park: Annotated[str | None, typer.Option(help="only this park")] = None,
) -> None:
    """标准地净地条件图 (standard-land readiness map)."""
    from maps.readiness import readiness_map

    settings = settings_for(db)
    write_map(
        readiness_map(_frames(db), park=park, basemap=settings.map_basemap),
        output,
        settings,
        standalone,
    )


@map_app.command("preselect")
def map_preselect(
    request_file: Annotated[Path, typer.Argument(help="project request (JSON)")],
    output: OutputFile,
    db: DbOption = None,
    standalone: StandaloneOption = False,
    top: Annotated[int, typer.Option(help="sites to rank")] = 10,
) -> None:
    """预选址图 (pre-selection map for a project)."""
    from geo_service.zones import ZoneCache
    from maps.preselect import preselect_map
    from matching.engine import match
    from matching.request import load_request

    request = load_request(request_file)
    settings = settings_for(db)
    with err.status("匹配中 (matching) …"):
        zone = ZoneCache(open_store(db)).get()
        result = match(request, zone, top_n=top)
    write_map(
        preselect_map(result, zone, basemap=settings.map_basemap), output, settings, standalone
    )
