"""``geo-service demo``: build the synthetic zone (or reuse the one built before), say which
store that is, and serve it."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from geo_service.cli_common import (
    DbOption,
    HostOption,
    PortOption,
    cli_actor,
    console,
    progress_bar,
    serve_app,
    settings_for,
)
from layers.catalog import LAYERS
from layers.errors import InvalidInput

if TYPE_CHECKING:
    from layers.store.store import Store

# A page of each map, and what it takes to see it.
MAPS = (
    ("投资者地图 (investor map, public)", "/maps/investor"),
    ("净地条件图 (readiness map, staff)", "/maps/readiness"),
    ("预选址图 (pre-selection map, planners)", "/maps/preselect?example=cleaning_robot_factory"),
)


def demo(
    db: DbOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    serve: Annotated[bool, typer.Option(help="start the service after building")] = True,
    parcels: Annotated[int, typer.Option(help="number of parcels to generate")] = 300,
    seed: Annotated[int, typer.Option(help="random seed of the synthetic zone")] = 20260101,
    fresh: Annotated[
        bool,
        typer.Option(
            help="delete the embedded demo store and build it anew (refused if it holds "
            "anything but the synthetic zone)"
        ),
    ] = False,
) -> None:
    """建立演示开发区并启动服务 (build the demo zone if the store is empty, then serve)."""
    from layers.store.store import Store

    settings = settings_for(db)
    console.print(f"数据库 (store): {_shown(settings.store_url)}", highlight=False)
    if fresh:
        _delete_demo_store(settings.store_url)
    store = Store.open(settings.store_url)
    try:
        if any(store.features.count(spec) for spec in LAYERS.values()):
            console.print(
                f"复用已有数据库, 未重新生成 (reusing the store: {_built(store)}; "
                "to build it anew: demo --fresh)",
                highlight=False,
            )
        else:
            started = time.perf_counter()
            _build_demo(store, parcels=parcels, seed=seed)
            console.print(
                f"演示开发区已生成 (demo zone built now, in {time.perf_counter() - started:.1f} s)"
                " — 合成数据, 非真实 (synthetic data, not real)",
                highlight=False,
            )
    finally:
        store.close()
    _print_urls(f"http://{host}:{port}")
    if serve:
        serve_app(settings, host, port)


def _built(store: Store) -> str:
    """When the zone in the store was built: the first stock list release, which loading
    the parcels publishes."""
    releases = store.releases.all()
    if not releases:
        return "no stock list release says when it was built"
    first = releases[0]
    at: dt.datetime = first.decided_at or first.staged_at
    return f"built {at.astimezone():%Y-%m-%d %H:%M %Z} by {first.decided_by or first.staged_by}"


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


def _delete_demo_store(url: str) -> None:
    """Delete the embedded store at ``url``, once it is known to hold only the synthetic
    zone: the demo's default store is the service's default store too."""
    import sqlalchemy as sa

    from layers.demo.setting import SYNTHETIC
    from layers.store.store import Store

    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise InvalidInput(
            "--fresh 只用于嵌入式数据库 (--fresh deletes the embedded store only; for "
            f"{_shown(url)}, drop and create the database)"
        )
    path = Path(parsed.database)
    if not path.exists():
        return
    store = Store.open(url)
    try:
        for spec in LAYERS.values():
            if "note_int" not in spec.field_names(spec.stored_fields):
                continue
            notes = store.features.read(spec)["note_int"].fillna("")
            if not notes.str.startswith(SYNTHETIC).all():
                raise InvalidInput(
                    f"{path}: {spec.name} 中有非演示数据, 未删除 (the store holds data that "
                    "is not the synthetic zone; not deleted: pass --db for a demo store)"
                )
    finally:
        store.close()
    for part in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        part.unlink(missing_ok=True)
    console.print(f"已删除演示数据库 (deleted the demo store): {path}", highlight=False)


def _shown(url: str) -> str:
    """A store's URL without its password."""
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


def _print_urls(base: str) -> None:
    console.print(f"  首页 (landing page):  {base}/")
    console.print(f"  API 文档 (API docs):  {base}/docs")
    for name, spec in LAYERS.items():
        console.print(f"  {spec.zh} ({spec.en}): {base}/collections/{name}/items")
    for title, path in MAPS:
        console.print(f"  {title}: {base}{path}")
    console.print(f"  工作台 (staff workspace: project form, saved matches): {base}/workspace")
    console.print(
        f"  职员密钥 (a staff key, for the workspace, the staff maps and changes): "
        f"{_this_command()} key create --name 你的名字 --role planner   "
        f"(roles: planner, land_bureau, admin; sign in at {base}/login)",
        highlight=False,
    )


def _this_command() -> str:
    """How to run this same ``geo-service`` again, as a shell would find it."""
    program = Path(sys.argv[0])
    if program.name == "__main__.py":
        return f"{sys.executable} -m geo_service"
    found = shutil.which("geo-service")
    if found is not None and Path(found).resolve() == program.resolve():
        return "geo-service"
    return str(program.resolve()) if program.exists() else "geo-service"
