"""``geo-service stock-list …``: the land bureau's yearly list — import (validate, stage,
diff), publish, discard, history, as-of — and ``geo-service audit``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from geo_service.cli_common import (
    DbOption,
    StandaloneOption,
    cli_actor,
    console,
    err,
    open_store,
    settings_for,
    write_map,
)
from layers.catalog import PARCELS

if TYPE_CHECKING:
    from layers.stocklist_diff import Diff

stock_app = typer.Typer(
    help="存量可出让土地清单 (the yearly stock list: import, diff, publish, history)",
    no_args_is_help=True,
)
ReleaseArg = Annotated[int, typer.Argument(help="release id, from `stock-list history`")]


@stock_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help=".gpkg, .geojson, .zip (Shapefile), .csv, .xlsx")],
    year: Annotated[int, typer.Option(help="the list's year, e.g. 2027")],
    db: DbOption = None,
    crs: Annotated[str | None, typer.Option(help="CRS when the file has none")] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding, e.g. GBK")] = None,
    report: Annotated[
        Path | None, typer.Option(help="also write the full report and diff as JSON here")
    ] = None,
    repair: Annotated[
        bool,
        typer.Option(help="repair invalid geometry (each repair reported; > 1 % area refused)"),
    ] = False,
    confirm_removals: Annotated[
        bool,
        typer.Option(
            help="stage the list even if it removes more than GEO_SERVICE_MAX_REMOVED_SHARE "
            "(20 %) of the parcels in force"
        ),
    ] = False,
) -> None:
    """校验并暂存清单, 显示与现行清单的差异 (validate and stage a list; show its diff).

    Exits non-zero when the file is refused (an empty list too, or one removing more than
    the allowed share of the parcels in force without --confirm-removals); nothing is
    then changed.
    """
    from layers.stocklist import import_list

    store = open_store(db)
    with err.status("校验中 (validating) …"):
        result = import_list(
            store, file, year=year, actor=cli_actor(), crs=crs, encoding=encoding, repair=repair,
            max_removed_share=settings_for(db).max_removed_share,
            confirm_removals=confirm_removals,
        )  # fmt: skip
    console.print(result.report.summary(), highlight=False)
    if report is not None:
        body = {
            "report": result.report.as_dict(),
            "diff": result.diff.as_dict() if result.diff else None,
            "release": result.release.as_dict() if result.release else None,
        }
        report.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
    if result.release is None or result.diff is None:
        raise typer.Exit(1)
    console.print(f"差异 (diff): {result.diff.summary()}", highlight=False)
    console.print(
        f"已暂存为清单 {result.release.id} (staged as release {result.release.id}); "
        f"发布 (publish): geo-service stock-list publish {result.release.id}",
        highlight=False,
    )


@stock_app.command("diff")
def diff_command(
    release: ReleaseArg,
    db: DbOption = None,
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    map_file: Annotated[
        Path | None, typer.Option("--map", help="also draw the diff as a map page (HTML) here")
    ] = None,
    standalone: StandaloneOption = False,
) -> None:
    """暂存清单与现行清单的差异 (the diff of a staged release against the list in force)."""
    from layers.stocklist import staged_diff

    store = open_store(db)
    staged = store.releases.get(release)
    changes = staged_diff(store, staged)
    if output == "json":
        print(json.dumps(changes.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_diff(changes)
    if map_file is not None:
        from layers.stocklist import release_frames
        from maps.diff import release_diff_map

        settings = settings_for(db)
        m = release_diff_map(
            staged,
            **release_frames(store, staged),
            basemap=settings.map_basemap,
        )
        # With --format json, stdout carries only the JSON.
        write_map(m, map_file, settings, standalone, to=err if output == "json" else console)


def _print_diff(changes: Diff) -> None:
    console.print(changes.summary(), highlight=False)
    table = Table("", "地块 parcel", "名称 name", "亩 mu", "变更字段 fields changed")
    for row in changes.added:
        table.add_row("+", row["parcel_id"], row["name"] or "", f"{row['area_mu']:,.1f}", "")
    for row in changes.removed:
        table.add_row("−", row["parcel_id"], row["name"] or "", f"{row['area_mu']:,.1f}", "")
    for row in changes.changed:
        before, after = row["area_mu"]
        table.add_row(
            "~",
            row["parcel_id"],
            row["name"] or "",
            f"{before:,.1f} → {after:,.1f}",
            ", ".join(row["fields"]),
        )
    console.print(table)


@stock_app.command("publish")
def publish_command(release: ReleaseArg, db: DbOption = None) -> None:
    """发布暂存清单, 替换现行清单 (publish a staged release: it replaces the list in force)."""
    published = open_store(db).releases.publish(release, actor=cli_actor())
    console.print(
        f"清单 {published.id} ({published.year} 年, {published.features} 宗) 已发布 "
        f"(published; now in force)"
    )


@stock_app.command("discard")
def discard_command(release: ReleaseArg, db: DbOption = None) -> None:
    """放弃暂存清单 (discard a staged release; it stays in the history as discarded)."""
    discarded = open_store(db).releases.discard(release, actor=cli_actor())
    console.print(f"清单 {discarded.id} 已放弃 (discarded)")


@stock_app.command("history")
def history_command(db: DbOption = None) -> None:
    """所有清单版本 (every release, oldest first; * marks the one in force)."""
    store = open_store(db)
    current = store.releases.current()
    table = Table("", "id", "年度 year", "状态 status", "宗 parcels", "文件 file", "暂存 staged",
                  "决定 decided")  # fmt: skip
    for r in store.releases.all():
        table.add_row(
            "*" if current and r.id == current.id else "",
            str(r.id),
            str(r.year),
            r.status,
            str(r.features),
            r.source_name,
            f"{r.staged_at:%Y-%m-%d %H:%M} {r.staged_by}",
            f"{r.decided_at:%Y-%m-%d %H:%M} {r.decided_by}" if r.decided_at else "",
        )
    console.print(table)


@stock_app.command("source")
def source_command(
    release: ReleaseArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="where to write the file")],
    db: DbOption = None,
) -> None:
    """取回某版清单的原始文件, 逐字节相同 (the file a release came from, byte for byte)."""
    name, data = open_store(db).releases.source(release)
    output.write_bytes(data)
    console.print(f"{name} → {output} ({len(data):,} bytes)")


@stock_app.command("as-of")
def as_of_command(
    date: Annotated[str, typer.Argument(help="a date, e.g. 2026-03-01 (end of that day)")],
    db: DbOption = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="also export its parcels to a file")
    ] = None,
) -> None:
    """某日有效的清单 (the list in force at the end of a day), optionally exported."""
    from layers.io import write_layer_file

    store = open_store(db)
    release = store.releases.on(date)
    console.print(
        f"{date} 有效清单: {release.id} ({release.year} 年, {release.features} 宗, "
        f"发布于 {release.decided_at:%Y-%m-%d %H:%M} by {release.decided_by}) "
        f"(the list in force on {date})",
        highlight=False,
    )
    if output is not None:
        frame = store.features.read(PARCELS, release=release.id)
        count = write_layer_file(frame, PARCELS, output)
        console.print(f"已导出 {count} 宗 (exported) → {output}")


def audit_command(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="how many rows, newest first")] = 50,
) -> None:
    """审计日志 (the audit log, newest first)."""
    table = Table(
        "id", "时间 at", "人 actor", "角色 role", "操作 action", "对象 target", "之后 after"
    )
    for row in open_store(db).audit.rows(limit=limit):
        after = json.dumps(row["after"], ensure_ascii=False) if row["after"] is not None else ""
        table.add_row(
            str(row["id"]),
            f"{row['at']:%Y-%m-%d %H:%M:%S}",
            row["actor"],
            row["role"],
            row["action"],
            row["target"],
            after[:80],
        )
    console.print(table)
