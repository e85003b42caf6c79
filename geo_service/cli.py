"""The ``geo-service`` command line.

Its modules import little at the top (see :mod:`geo_service.cli_common`): each command
imports the store, geopandas, folium or FastAPI when it runs.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from geo_service.cli_common import (
    DbOption,
    HostOption,
    PortOption,
    cli_actor,
    console,
    err,
    layer_spec,
    open_store,
    progress_bar,
    serve_app,
    settings_for,
)
from geo_service.cli_demo import demo
from geo_service.cli_keys import key_app
from geo_service.cli_ledgers import (
    ledger_app,
    release_command,
    reservations_command,
    reserve_command,
)
from geo_service.cli_maps import map_app
from geo_service.cli_matches import matches_app
from geo_service.cli_stocklist import audit_command, stock_app
from layers.catalog import LAYERS
from layers.errors import GeoServiceError

app = typer.Typer(
    help="开发区土地与厂房匹配服务 (land and factory matching for development zones)",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(key_app, name="key")
app.add_typer(map_app, name="map")
app.add_typer(matches_app, name="matches")
app.add_typer(stock_app, name="stock-list")
app.command("audit")(audit_command)
app.add_typer(ledger_app, name="ledger")
app.command("reserve")(reserve_command)
app.command("release")(release_command)
app.command("reservations")(reservations_command)


@app.command()
def load(
    layer: Annotated[str, typer.Argument(help=f"图层 (layer): {', '.join(LAYERS)}")],
    file: Annotated[
        Path, typer.Argument(help=".gpkg, .geojson, zipped Shapefile (.zip), .csv or .xlsx")
    ],
    db: DbOption = None,
    crs: Annotated[
        str | None, typer.Option(help="CRS when the file has none, e.g. EPSG:4547")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Shapefile encoding, e.g. GBK")] = None,
    replace: Annotated[
        bool, typer.Option(help="replace a layer that already has features")
    ] = False,
) -> None:
    """导入图层文件 (load a layer file into the store): all or nothing."""
    from layers.loader import load_file

    spec = layer_spec(layer)
    store = open_store(db)
    with progress_bar() as progress:
        task = progress.add_task(f"读取并校验 {file.name} (reading and validating)", total=None)
        report = load_file(
            store,
            spec,
            file,
            crs=crs,
            encoding=encoding,
            replace=replace,
            on_read=lambda n: progress.update(
                task, total=n, description=f"写入{spec.zh} (writing)"
            ),
            progress=lambda n: progress.update(task, completed=n),
            actor=cli_actor(),
        )
    for warning in report.warnings:
        err.print(f"[yellow]注意 (warning):[/yellow] {warning}", markup=True, highlight=False)
    console.print(
        f"已导入 {report.count} 条{spec.zh} (loaded {report.count} {spec.en.lower()}) → {layer}"
    )


@app.command()
def export(
    layer: Annotated[str, typer.Argument(help=f"图层 (layer): {', '.join(LAYERS)}")],
    file: Annotated[
        Path, typer.Argument(help=".gpkg, .geojson, .zip (zipped Shapefile), .csv or .xlsx")
    ],
    db: DbOption = None,
    public: Annotated[
        bool,
        typer.Option(help="what the public sees: the public fields, of sites those on offer"),
    ] = False,
) -> None:
    """导出图层 (export a layer to a file)."""
    from layers.io import write_layer_file

    spec = layer_spec(layer)
    store = open_store(db)
    with progress_bar() as progress:
        task = progress.add_task(f"导出 {spec.zh} (exporting)", total=2)
        # Not drawn down by reservations; for the public, as the service shows it.
        where = store.features.on_offer(spec) if public else []
        frame = store.features.read(spec, as_stored=True, where=where)
        progress.update(task, advance=1)
        count = write_layer_file(frame, spec, file, public=public)
        progress.update(task, advance=1)
    console.print(f"已导出 {count} 条{spec.zh} (exported {count}) → {file}")


@app.command("export-zone")
def export_zone(
    file: Annotated[Path, typer.Argument(help="GeoPackage to write (.gpkg)")],
    db: DbOption = None,
    public: Annotated[
        bool,
        typer.Option(help="what the public sees: the public fields, of sites those on offer"),
    ] = False,
) -> None:
    """导出整个开发区 (export every layer, as in force, into one GeoPackage for QGIS)."""
    from layers.io import write_zone_file

    store = open_store(db)
    with progress_bar() as progress:
        task = progress.add_task("导出开发区 (exporting the zone)", total=2 * len(LAYERS))
        frames = {}
        for name, spec in LAYERS.items():
            progress.update(task, description=f"读取{spec.zh} (reading {name})")
            where = store.features.on_offer(spec) if public else []  # as `export` writes it
            frames[name] = store.features.read(spec, as_stored=True, where=where)
            progress.update(task, advance=1)
        counts = write_zone_file(
            frames,
            LAYERS,
            file,
            public=public,
            progress=lambda name, _n: progress.update(
                task, advance=1, description=f"写入{LAYERS[name].zh} (writing {name})"
            ),
        )
    summary = ", ".join(f"{LAYERS[name].zh} {n}" for name, n in counts.items())
    console.print(f"已导出 (exported) {summary} → {file}")


@app.command()
def migrate(db: DbOption = None) -> None:
    """升级数据库结构 (bring the store's schema up to date)."""
    store = open_store(db)
    store.close()
    console.print("数据库结构已是最新 (the store is up to date)")


app.command()(demo)


@app.command("serve")
def serve_command(
    db: DbOption = None, host: HostOption = "127.0.0.1", port: PortOption = 8000
) -> None:
    """启动服务 (start the HTTP service)."""
    serve_app(settings_for(db), host, port)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    geojson = "geojson"


@app.command("match")
def match_command(
    request_file: Annotated[
        Path, typer.Argument(help="project request (JSON), see examples/requests/")
    ],
    db: DbOption = None,
    top: Annotated[int, typer.Option(help="how many sites to rank")] = 10,
    output: Annotated[OutputFormat, typer.Option("--format", help="table, json or geojson")] = (
        OutputFormat.table
    ),
    save: Annotated[bool, typer.Option("--save", help="save the match (geo-service matches)")] = (
        False
    ),
    investor: Annotated[str | None, typer.Option(help="the investor, saved with --save")] = None,
    pdf: Annotated[Path | None, typer.Option(help="also write the dossier (PDF) here")] = None,
    xlsx: Annotated[Path | None, typer.Option(help="also write the workbook (XLSX) here")] = None,
) -> None:
    """为项目匹配地块或厂房 (rank parcels or factories for a project)."""
    from geo_service.report import match_geojson, print_match
    from geo_service.zones import ZoneCache
    from matching.engine import match
    from matching.request import load_request

    request = load_request(request_file)
    store = open_store(db)
    with err.status("载入开发区数据 (loading the zone) …"):
        zone = ZoneCache(store).get()
    result = match(request, zone, top_n=top)
    if save:
        from geo_service.match_runs import save_result

        saved = save_result(
            store, request, result, actor=cli_actor(), top=top, excluded=None, investor=investor
        )
        err.print(f"已保存 (saved): geo-service matches show {saved.id}", highlight=False)
    if output is OutputFormat.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    elif output is OutputFormat.geojson:
        print(json.dumps(match_geojson(result), ensure_ascii=False))
    else:
        print_match(console, result)
    if pdf is not None or xlsx is not None:
        from geo_service.cli_dossier import write_dossier

        write_dossier(result, zone, pdf=pdf, xlsx=xlsx)


def main() -> None:
    try:
        app()
    except GeoServiceError as exc:
        err.print(f"[red]错误 (error):[/red] {exc}", markup=True, highlight=False)
        raise SystemExit(2) from None
    except Exception as exc:
        # Imported here, as it is by whatever raised it: --help never loads sqlalchemy.
        from sqlalchemy.exc import OperationalError

        if not isinstance(exc, OperationalError):
            raise
        err.print(
            "[red]错误 (error):[/red] 无法连接数据库 (cannot reach the store); check --db",
            markup=True,
            highlight=False,
        )
        raise SystemExit(3) from None
