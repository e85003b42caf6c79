"""The ``geo-service`` command line."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.exc import OperationalError

from geo_service import auth
from geo_service.cli_common import (
    DbOption,
    HostOption,
    PortOption,
    StandaloneOption,
    cli_actor,
    console,
    err,
    layer_spec,
    open_store,
    progress_bar,
    settings_for,
    write_map,
)
from geo_service.cli_ledgers import (
    ledger_app,
    release_command,
    reservations_command,
    reserve_command,
)
from geo_service.cli_stocklist import audit_command, stock_app
from geo_service.report import match_geojson, print_match
from geo_service.settings import Settings
from geo_service.zones import ZoneCache
from layers.catalog import LAYERS
from layers.errors import GeoServiceError
from layers.io import write_layer_file, write_zone_file
from layers.loader import load_file
from layers.store.store import Store

app = typer.Typer(
    help="开发区土地与厂房匹配服务 (land and factory matching for development zones)",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
key_app = typer.Typer(help="API 密钥 (API keys for staff roles)", no_args_is_help=True)
app.add_typer(key_app, name="key")
map_app = typer.Typer(help="地图 (offline maps as HTML files)", no_args_is_help=True)
app.add_typer(map_app, name="map")
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


def _build_demo(store: Store, *, parcels: int, seed: int) -> None:
    from layers.demo import generate_zone

    with progress_bar() as progress:
        task = progress.add_task("生成演示开发区 (generating the synthetic zone)", total=None)
        zone = generate_zone(seed=seed, parcels=parcels)
        progress.update(task, total=sum(len(frame) for frame in zone.values()))
        done = 0

        def written(n: int) -> None:
            progress.update(task, completed=done + n)

        for name, frame in zone.items():
            progress.update(task, description=f"写入{LAYERS[name].zh} (writing {name})")
            store.features.write(LAYERS[name], frame, progress=written, actor=cli_actor())
            done += len(frame)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from geo_service.app import create_app
    from geo_service.errors import server_log_config

    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="info",
        log_config=server_log_config(),
    )  # fmt: skip


@app.command()
def demo(
    db: DbOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    serve: Annotated[bool, typer.Option(help="start the service after building")] = True,
    parcels: Annotated[int, typer.Option(help="number of parcels to generate")] = 300,
    seed: Annotated[int, typer.Option(help="random seed of the synthetic zone")] = 20260101,
) -> None:
    """建立演示开发区并启动服务 (build the demo zone if the store is empty, then serve)."""
    settings = settings_for(db)
    store = Store.open(settings.store_url)
    if any(store.features.count(spec) for spec in LAYERS.values()):
        console.print("数据库已有数据, 跳过生成 (the store already has data; not regenerated)")
    else:
        started = time.perf_counter()
        _build_demo(store, parcels=parcels, seed=seed)
        console.print(
            f"演示开发区已生成 (demo zone built in {time.perf_counter() - started:.1f} s)"
            " — 合成数据, 非真实 (synthetic data, not real)"
        )
    store.close()
    console.print(f"数据库 (store): {settings.store_url}")
    base = f"http://{host}:{port}"
    console.print(f"  首页 (landing page):  {base}/")
    console.print(f"  API 文档 (API docs):  {base}/docs")
    for name, spec in LAYERS.items():
        console.print(f"  {spec.zh} ({spec.en}): {base}/collections/{name}/items")
    if serve:
        _serve(settings, host, port)


@app.command("serve")
def serve_command(
    db: DbOption = None, host: HostOption = "127.0.0.1", port: PortOption = 8000
) -> None:
    """启动服务 (start the HTTP service)."""
    _serve(settings_for(db), host, port)


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
) -> None:
    """为项目匹配地块或厂房 (rank parcels or factories for a project)."""
    from matching.engine import match
    from matching.request import load_request

    request = load_request(request_file)
    store = open_store(db)
    with err.status("载入开发区数据 (loading the zone) …"):
        zone = ZoneCache(store).get()
    result = match(request, zone, top_n=top)
    if output is OutputFormat.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    elif output is OutputFormat.geojson:
        print(json.dumps(match_geojson(result), ensure_ascii=False))
    else:
        print_match(console, result)


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


@key_app.command("create")
def key_create(
    name: Annotated[str, typer.Option(help="holder's name, e.g. 招商部 张三")],
    role: Annotated[auth.Role, typer.Option(help="planner, land_bureau or admin")],
    db: DbOption = None,
) -> None:
    """创建密钥; 密钥只显示一次 (create a key; it is shown once)."""
    credential, key = auth.create_key(open_store(db), name=name, role=role, actor=cli_actor())
    console.print(f"密钥 #{credential.id} ({credential.role}) for {credential.name}:")
    print(key)


@key_app.command("list")
def key_list(db: DbOption = None) -> None:
    """列出密钥 (list keys; the keys themselves are not stored)."""
    table = Table("id", "name", "role", "prefix", "created", "revoked")
    for c in auth.list_keys(open_store(db)):
        table.add_row(
            str(c.id),
            c.name,
            c.role.value,
            c.key_prefix + "…",
            f"{c.created_at:%Y-%m-%d %H:%M}",
            f"{c.revoked_at:%Y-%m-%d %H:%M}" if c.revoked_at else "",
        )
    console.print(table)


@key_app.command("revoke")
def key_revoke(
    credential_id: Annotated[int, typer.Argument(help="id from `key list`")], db: DbOption = None
) -> None:
    """吊销密钥 (revoke a key)."""
    auth.revoke_key(open_store(db), credential_id, actor=cli_actor())
    console.print(f"密钥 #{credential_id} 已吊销 (revoked)")


def main() -> None:
    try:
        app()
    except GeoServiceError as exc:
        err.print(f"[red]错误 (error):[/red] {exc}", markup=True, highlight=False)
        raise SystemExit(2) from None
    except OperationalError:
        err.print(
            "[red]错误 (error):[/red] 无法连接数据库 (cannot reach the store); check --db",
            markup=True,
            highlight=False,
        )
        raise SystemExit(3) from None
