"""``geo-service reserve|release|reservations`` and ``geo-service ledger …``."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geo_service.cli_common import DbOption, cli_actor, console, open_store
from layers.catalog import LAYERS
from layers.errors import InvalidInput
from layers.text import checked_id

ledger_app = typer.Typer(
    help="季度台账 (quarterly ledgers: park budgets, utility capacities, idle factories)",
    no_args_is_help=True,
)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{what} 应写作 name=value (write {what} as name=value): {item!r}")
        out[key.strip()] = value.strip()
    return out


def _typed(layer: str, values: dict[str, str]) -> dict[str, object]:
    """Values typed on the command line as the ledger takes them: numbers for number
    fields (a text that is no number stays text, and is refused naming the field), no
    value for an empty one."""
    from layers.kinds import kind_of  # SQLAlchemy's types: loaded when a command runs

    fields = {f.name: f for f in LAYERS[layer].stored_fields} if layer in LAYERS else {}
    out: dict[str, object] = {}
    for name, text in values.items():
        out[name] = text
        if not text:
            out[name] = None
        elif name in fields and kind_of(fields[name]).numeric:
            with contextlib.suppress(ValueError):
                out[name] = float(text)
    return out


def _id(value: str) -> str:
    """An id typed on the command line, spelled as the store keeps it (``"P01 "`` finds
    P01), or refused naming its invisible characters."""
    try:
        return checked_id(value)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def reserve_command(
    layer: Annotated[str, typer.Argument(help="parcels or factories")],
    site_id: Annotated[str, typer.Argument(help="parcel_id or factory_id")],
    project: Annotated[str, typer.Option(help="the signed project")],
    db: DbOption = None,
    energy_tce: Annotated[float, typer.Option(help="annual energy use, tce")] = 0.0,
    emission: Annotated[
        list[str] | None, typer.Option(help="pollutant=t/年, repeatable, e.g. so2=1.2")
    ] = None,
    power_mva: Annotated[float, typer.Option(help="power need, MVA")] = 0.0,
    substation: Annotated[str | None, typer.Option(help="the substation serving it")] = None,
) -> None:
    """为签约项目预留地块或厂房, 并扣减园区与变电站指标 (reserve a site; draw the budgets)."""
    from layers.store.reservations import Needs

    emissions = {k: float(v) for k, v in _pairs(emission or [], "--emission").items()}
    needs = Needs(energy_tce, emissions, power_mva, substation and _id(substation))
    site_id = _id(site_id)
    made = open_store(db).reservations.reserve(
        layer=layer,
        site_id=site_id,
        project=project,
        needs=needs,
        actor=cli_actor(),
    )
    console.print(f"预留 {made.id}: {layer} {site_id} → {made.project} (reserved)")


def release_command(
    reservation_id: Annotated[int, typer.Argument(help="id from `reservations`")],
    db: DbOption = None,
) -> None:
    """释放预留, 归还指标 (release a reservation: the site and budgets come back)."""
    done = open_store(db).reservations.release(reservation_id, actor=cli_actor())
    console.print(f"预留 {done.id} 已释放 (released): {done.layer} {done.site_id}")


def reservations_command(
    db: DbOption = None, active: Annotated[bool, typer.Option(help="active only")] = False
) -> None:
    """预留清单 (reservations)."""

    table = Table("id", "site", "park", "project", "tce", "MVA", "status", "by")
    for r in open_store(db).reservations.listing(active_only=active):
        table.add_row(
            str(r.id),
            f"{r.layer} {r.site_id}",
            r.park_id,
            r.project,
            f"{r.energy_tce:g}",
            f"{r.power_mva:g} {r.substation_id or ''}",
            r.status,
            r.reserved_by,
        )
    console.print(table)


@ledger_app.command("show")
def ledger_show(
    layer: Annotated[str, typer.Argument(help="parks, factories or infrastructure")],
    feature_id: Annotated[str, typer.Argument(help="park_id, factory_id or infra_id")],
    db: DbOption = None,
) -> None:
    """台账行及其版本号 (a ledger row as stored, and its version)."""
    print(
        json.dumps(open_store(db).ledgers.row(layer, _id(feature_id)), ensure_ascii=False, indent=2)
    )


OverrideOption = Annotated[
    str | None,
    typer.Option(
        help="原因: 保留超支的指标 (the reason to keep a budget overdrawn, e.g. the province cut "
        "the quota); audited"
    ),
]


@ledger_app.command("set")
def ledger_set(
    layer: Annotated[str, typer.Argument(help="parks, factories or infrastructure")],
    feature_id: Annotated[str, typer.Argument(help="park_id, factory_id or infra_id")],
    values: Annotated[list[str], typer.Argument(help="field=value …, e.g. egy_total=52000")],
    version: Annotated[int, typer.Option(help="the version you edited (from `ledger show`)")],
    quarter: Annotated[str, typer.Option(help="e.g. 2026Q4")],
    db: DbOption = None,
    override: OverrideOption = None,
) -> None:
    """修改台账 (edit a ledger row); refused if someone changed it since --version, or if
    it leaves a budget overdrawn (unless --override gives the reason)."""

    changes = _typed(layer, _pairs(values, "field=value"))
    feature_id = _id(feature_id)
    row = open_store(db).ledgers.update(
        layer,
        feature_id,
        changes,
        version=version,
        quarter=quarter,
        actor=cli_actor(),
        override=override,
    )
    console.print(f"{layer} {feature_id}: version {row['version']} ({quarter})")


@ledger_app.command("history")
def ledger_history(
    layer: Annotated[str, typer.Argument(help="parks, factories or infrastructure")],
    feature_id: Annotated[str, typer.Argument(help="park_id, factory_id or infra_id")],
    db: DbOption = None,
) -> None:
    """台账修改历史 (every edit of a ledger row)."""

    table = Table("version", "quarter", "by", "at", "before", "after")
    for h in open_store(db).ledgers.history(layer, _id(feature_id)):
        table.add_row(
            str(h["version"]),
            h["quarter"],
            h["changed_by"],
            f"{h['changed_at']:%Y-%m-%d %H:%M}",
            json.dumps(h["before"], ensure_ascii=False),
            json.dumps(h["after"], ensure_ascii=False),
        )
    console.print(table)


@ledger_app.command("update")
def ledger_update(
    layer: Annotated[str, typer.Argument(help="parks, factories or infrastructure")],
    file: Annotated[Path, typer.Argument(help=".csv or .xlsx: id column, version, fields")],
    quarter: Annotated[str, typer.Option(help="e.g. 2026Q4")],
    db: DbOption = None,
    encoding: Annotated[str | None, typer.Option(help="CSV encoding, e.g. GBK")] = None,
    override: OverrideOption = None,
) -> None:
    """按文件更新台账, 全部或全不 (update ledger rows from a file: all or nothing)."""
    count = open_store(db).ledgers.update_file(
        layer,
        file,
        quarter=quarter,
        actor=cli_actor(),
        encoding=encoding,
        override=override,
    )
    console.print(f"已更新 {count} 行 (updated) {layer} ({quarter})")
