"""``geo-service matches list|show``: the saved matches (``geo-service match --save``
saves one)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.table import Table

from geo_service.cli_common import DbOption, console, open_store

matches_app = typer.Typer(
    help="保存的匹配 (saved matches: list, search, show)", no_args_is_help=True
)
_CHINA = dt.timezone(dt.timedelta(hours=8))


def _local(stamp: dt.datetime) -> str:
    """A time as the zone reads it (UTC+8)."""
    return stamp.astimezone(_CHINA).strftime("%Y-%m-%d %H:%M")


def _day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD (not a date: {value!r})") from None


@matches_app.command("list")
def matches_list(
    db: DbOption = None,
    q: Annotated[str | None, typer.Option("--q", help="in the project's name")] = None,
    investor: Annotated[str | None, typer.Option(help="in the investor's name")] = None,
    person: Annotated[str | None, typer.Option(help="who ran it")] = None,
    since: Annotated[str | None, typer.Option(help="run on or after YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="run on or before YYYY-MM-DD")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """保存的匹配, 最新在前 (saved matches, newest first)."""
    found = open_store(db).matches.listing(
        q=q, investor=investor, person=person, since=_day(since), until=_day(until),
        limit=limit, offset=offset,
    )  # fmt: skip
    table = Table()
    table.add_column("id", no_wrap=True)  # copied into `matches show`: never broken
    for name in ("time (UTC+8)", "project", "investor", "layer", "by", "release", "rerun of"):
        table.add_column(name)
    for e in found.entries:
        table.add_row(
            e.id, _local(e.created_at), e.project, e.investor or "", e.layer, e.actor,
            str(e.versions.get("release") or ""), e.rerun_of or "",
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(found.entries)} / {found.total}")


@matches_app.command("show")
def matches_show(
    match_id: Annotated[str, typer.Argument(help="the saved match's id")],
    db: DbOption = None,
) -> None:
    """一次保存的匹配, 与当时一致 (a saved match, as it was answered)."""
    saved = open_store(db).matches.get(match_id)
    result = saved.result
    console.print(
        f"{saved.project} ({saved.investor or '-'}) · {saved.layer} · {_local(saved.created_at)} "
        f"UTC+8 · {saved.actor} ({saved.role})",
        highlight=False,
    )
    layers = ", ".join(f"{k} v{v}" for k, v in saved.versions.get("layers", {}).items())
    console.print(f"数据版本 (data versions): release {saved.versions.get('release')}; {layers}")
    table = Table("rank", "site", "name", "park", "size", "score")
    for site in result.get("sites", []):
        table.add_row(*_site_row(site))
    console.print(table)
    counts = result.get("counts", {})
    console.print(f"可行 {counts.get('feasible')} / {counts.get('sites')} (feasible / considered)")


def _site_row(site: dict[str, Any]) -> list[str]:
    return [
        str(site["rank"]),
        "+".join(site["ids"]),
        site.get("name") or "",
        site.get("park_id") or "",
        f"{site['size']:,.1f} {site.get('size_unit', '')}",
        f"{site['score']:.3f}",
    ]
