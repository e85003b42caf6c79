"""Releases of the stock list: staged, published (one in force at a time) or discarded.

Parcels are append-only: every list is a release of its own rows, and readers see those
of the release a one-row pointer (``stock_current``) names. Publishing moves the pointer
and the release's status in one transaction, so a reader sees the old list or the new,
never a mix.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from layers.catalog import LAYERS, RELEASED
from layers.errors import Conflict, InvalidInput, NotFound
from layers.schema import LayerSpec
from layers.store import rows
from layers.store.audit import Actor
from layers.store.change import change
from layers.store.tables import LAYER_TABLES, stock_current, stock_releases

CHINA = dt.timezone(dt.timedelta(hours=8), "CST")
"""The zone's day: a date asked for ends at midnight UTC+8."""


@dataclass(frozen=True)
class Release:
    """One version of the stock list: staged, published (in force or superseded) or
    discarded."""

    id: int
    year: int
    status: str
    base_id: int | None
    source_name: str
    source_sha256: str
    features: int
    data_sha256: str
    report: dict[str, Any]
    staged_by: str
    staged_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None

    @property
    def staged(self) -> bool:
        return self.status == "staged"

    @classmethod
    def of(cls, row: sa.RowMapping) -> Release:
        values = dict(row)
        values["report"] = json.loads(values["report"])
        for key in ("staged_at", "decided_at"):
            stamp = values[key]
            if stamp is not None and stamp.tzinfo is None:  # SQLite keeps no zone: UTC
                values[key] = stamp.replace(tzinfo=dt.UTC)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "report"}
        for key in ("staged_at", "decided_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


_RELEASE_COLUMNS = [c for c in stock_releases.c if c.name != "source"]


class Releases:
    """The stock list's releases in one store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def stage(
        self,
        frame: gpd.GeoDataFrame,
        *,
        year: int,
        source: tuple[str, bytes],
        report: dict[str, Any],
        actor: Actor,
        base: int | None,
        progress: Callable[[int], None] | None = None,
    ) -> Release:
        """Keep a validated stock list (canonical parcels) as a staged release: stored,
        invisible to readers until published. One release per year may be staged at a
        time; a second gets :class:`Conflict`. ``base`` is the release in force the
        caller compared the list with; if another was published since, :class:`Conflict`
        (its diff would be stale)."""
        spec = LAYERS[RELEASED[0]]
        records = rows.records(spec, frame)
        try:
            # Staging changes nothing readers see: no layer version moves. The pointer row
            # is held so that no publish slips in between the check and the commit.
            with change(self.engine, (), actor=actor) as work:
                current = current_id(work.conn, lock=True)
                if current != base:
                    raise Conflict(
                        f"导入期间现行清单已变为 {current}; 请重新导入 (the list in force "
                        f"changed to release {current} during the import: import again)"
                    )
                release = stage_rows(
                    work.conn, spec, records, frame, year=year, source=source, report=report,
                    actor=actor, progress=progress,
                )  # fmt: skip
                work.record(
                    "stock_list.stage", f"release {release}",
                    after={"year": year, "features": len(records), "source": source[0],
                           "source_sha256": hashlib.sha256(source[1]).hexdigest()},
                )  # fmt: skip
        except sa.exc.IntegrityError as exc:
            staged = next((r for r in self.all() if r.year == year and r.staged), None)
            if staged is None:
                raise
            raise Conflict(
                f"{year} 年已有一份待发布的清单 (release {staged.id}, {staged.staged_by}); "
                f"请先发布或放弃 (a list for {year} is already staged: publish or discard "
                "it first)",
                details={"release": staged.id},
            ) from exc
        return self.get(release)

    def publish(self, release: int, *, actor: Actor) -> Release:
        """Put a staged release in force: its status and the one-row pointer switch in one
        transaction, so readers see the old list or the new, never a mix. Refused with
        :class:`Conflict` if it is not staged, or if another list was published since it
        was staged (its diff would be stale)."""
        with change(self.engine, {RELEASED[0]}, actor=actor) as work:
            row = _locked(work.conn, release)
            if row.status != "staged":
                raise Conflict(f"清单 {release} 的状态是 {row.status}, 不能发布 "
                               f"(release {release} is {row.status}, not staged)")  # fmt: skip
            current = current_id(work.conn, lock=True)
            if current != row.base_id:
                raise Conflict(
                    f"清单 {release} 暂存后, 现行清单已变为 {current}; 请重新导入以核对差异 "
                    f"(the list in force changed to release {current} after release "
                    f"{release} was staged: import it again to see the right diff)",
                    details={"release": release, "current": current},
                )
            switch(work.conn, release, actor)
            # A reservation this list would strand refuses the publish (checked by the
            # change, inside the parcels lock every reservation of a parcel also takes).
            work.record(
                "stock_list.publish", f"release {release}",
                before={"current": current}, after={"current": release},
            )  # fmt: skip
            # Readers now ask for the new release's rows: the planner must know them.
            work.stale.add(LAYER_TABLES[RELEASED[0]].name)
        return self.get(release)

    def discard(self, release: int, *, actor: Actor) -> Release:
        """Drop a staged release's rows; the release itself stays in the history."""
        with change(self.engine, (), actor=actor) as work:
            row = _locked(work.conn, release)
            if row.status != "staged":
                raise Conflict(f"清单 {release} 的状态是 {row.status}, 不能放弃 "
                               f"(release {release} is {row.status}, not staged)")  # fmt: skip
            table = LAYER_TABLES[RELEASED[0]]
            dropped = work.conn.execute(
                table.delete().where(table.c.release_id == release)
            ).rowcount
            work.conn.execute(
                stock_releases.update()
                .where(stock_releases.c.id == release)
                .values(
                    status="discarded", decided_by=actor.name, decided_at=dt.datetime.now(dt.UTC)
                )
            )
            work.record(
                "stock_list.discard", f"release {release}",
                before={"status": "staged", "features": dropped}, after={"status": "discarded"},
            )  # fmt: skip
        return self.get(release)

    def all(self) -> list[Release]:
        """Every release, oldest first."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(*_RELEASE_COLUMNS).order_by(stock_releases.c.id)
            ).mappings()
            return [Release.of(row) for row in found]

    def get(self, release: int) -> Release:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(*_RELEASE_COLUMNS).where(stock_releases.c.id == release))
                .mappings()
                .one_or_none()
            )
        if row is None:
            raise NotFound(f"清单 {release} 不存在 (no release {release})")
        return Release.of(row)

    def source(self, release: int) -> tuple[str, bytes]:
        """The file a release was imported from, byte for byte."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(stock_releases.c.source_name, stock_releases.c.source).where(
                    stock_releases.c.id == release
                )
            ).one_or_none()
        if row is None:
            raise NotFound(f"清单 {release} 不存在 (no release {release})")
        return str(row[0]), bytes(row[1])

    def current_id(self) -> int | None:
        """The id of the release in force, if any."""
        with self.engine.connect() as conn:
            return current_id(conn)

    def current(self) -> Release | None:
        current = self.current_id()
        return None if current is None else self.get(current)

    def as_of(self, when: dt.datetime) -> Release | None:
        """The release in force at ``when``: the last one published by then."""
        published = [r for r in self.all() if r.status == "published" and r.decided_at]
        before = [r for r in published if r.decided_at is not None and r.decided_at <= when]
        return max(before, key=lambda r: (r.decided_at, r.id)) if before else None

    def on(self, date: str) -> Release:
        """The release in force at the end of ``date`` (``YYYY-MM-DD``, the zone's day,
        UTC+8); :class:`InvalidInput` for a bad date, :class:`NotFound` if none was."""
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            raise InvalidInput(f"日期格式应为 YYYY-MM-DD (not a date: {date!r})") from None
        if not 1990 <= day.year <= 2100:
            raise InvalidInput(f"日期超出范围 1990–2100 (date out of range: {date})")
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=CHINA)
        release = self.as_of(end)
        if release is None:
            raise NotFound(f"{date} 尚无已发布的清单 (no list was in force on {date})")
        return release


def current_id(conn: Connection, *, lock: bool = False) -> int | None:
    """The release the pointer names, read on ``conn`` (held to the end of its
    transaction when ``lock``)."""
    query = sa.select(stock_current.c.release_id).where(stock_current.c.id == 1)
    current = conn.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    return None if current is None else int(current)


def stage_rows(
    conn: Connection,
    spec: LayerSpec,
    records: list[dict[str, Any]],
    frame: gpd.GeoDataFrame,
    *,
    year: int,
    source: tuple[str, bytes],
    report: dict[str, Any],
    actor: Actor,
    progress: Callable[[int], None] | None,
) -> int:
    """Insert a release's row and its parcels (``records`` of ``frame``) on the caller's
    change; returns the new release's id."""
    name, data = source
    release = conn.execute(
        stock_releases.insert()
        .values(
            year=year,
            status="staged",
            base_id=current_id(conn),
            source_name=name,
            source_sha256=hashlib.sha256(data).hexdigest(),
            source=data,
            features=len(records),
            data_sha256=rows.data_hash(frame, spec),
            report=json.dumps(report, ensure_ascii=False, sort_keys=True, default=str),
            staged_by=actor.name,
            staged_at=dt.datetime.now(dt.UTC),
        )
        .returning(stock_releases.c.id)
    ).scalar_one()
    rows.stamp(spec, records)
    for record in records:
        record["release_id"] = release
    rows.insert(conn, LAYER_TABLES[spec.name], records, progress)
    return int(release)


def switch(conn: Connection, release: int, actor: Actor) -> None:
    """Publish ``release`` on the caller's change: its status, and the pointer to it."""
    now = dt.datetime.now(dt.UTC)
    conn.execute(
        stock_releases.update()
        .where(stock_releases.c.id == release)
        .values(status="published", decided_by=actor.name, decided_at=now)
    )
    moved = conn.execute(
        stock_current.update()
        .where(stock_current.c.id == 1)
        .values(release_id=release, switched_at=now)
    )
    if moved.rowcount == 0:
        conn.execute(stock_current.insert().values(id=1, release_id=release, switched_at=now))


def _locked(conn: Connection, release: int) -> sa.Row[Any, Any]:
    row = conn.execute(  # not the source file: it can be large
        sa.select(stock_releases.c.status, stock_releases.c.base_id)
        .where(stock_releases.c.id == release)
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound(f"清单 {release} 不存在 (no release {release})")
    return row
