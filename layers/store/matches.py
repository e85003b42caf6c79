"""Saved matches: every match run from the workspace, kept as it was answered.

A saved match keeps the request, who ran it and when, the data versions it used (the
version of every layer, the stock list release in force) and the result's JSON text,
byte for byte: a permalink (``/matches/{id}``) reopens it as it was, on the data of its
day. Saved matches are never altered or deleted (triggers refuse it, as for releases).

:meth:`Matches.changes` gathers what changed in the data between two saved matches — a
new list, reservations made or released, ledger edits — for the pure comparison of their
results (:func:`matching.compare.compare`).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from layers.catalog import ON_OFFER, PARCELS
from layers.errors import InvalidInput, NotFound
from layers.store.audit import Actor
from layers.store.change import change
from layers.store.releases import CHINA, current_id
from layers.store.tables import ledger_history, reservations, saved_matches

_DETAIL = ("request", "top", "excluded_limit", "result")
_LISTED = [c for c in saved_matches.c if c.name not in _DETAIL]


@dataclass(frozen=True)
class SavedMatchEntry:
    """A saved match as listed: who ran what, when, on which data; not its result."""

    id: str
    created_at: dt.datetime
    """UTC (pages show it in Asia/Shanghai)."""
    actor: str
    role: str
    project: str
    investor: str | None
    layer: str
    """``parcels`` (a land request) or ``factories``."""
    versions: dict[str, Any]
    """``{"layers": {layer: version}, "release": id or None}``."""
    rerun_of: str | None

    @classmethod
    def of(cls, row: sa.RowMapping) -> SavedMatchEntry:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        return cls(**_decoded(values))

    def as_dict(self) -> dict[str, Any]:
        """What is listed of it (a :class:`SavedMatch`'s request and result are not)."""
        out = {name: getattr(self, name) for name in SavedMatchEntry.__dataclass_fields__}
        return {**out, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class SavedMatch(SavedMatchEntry):
    """A saved match with its request and its result's JSON text as answered."""

    request: dict[str, Any] = field(default_factory=dict)
    """The project request (``ProjectRequest`` as JSON)."""
    top: int = 10
    excluded_limit: int | None = None
    result_json: str = "{}"
    """The result exactly as it was answered: send these bytes, do not serialise again."""

    @property
    def result(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.result_json)
        return loaded


@dataclass(frozen=True)
class Listing:
    """One page of saved matches, newest first, and how many match the search."""

    entries: list[SavedMatchEntry]
    total: int


@dataclass(frozen=True)
class DataChanges:
    """What changed in the data between two saved matches (see :meth:`Matches.changes`)."""

    layer: str
    release_before: int | None = None
    release_after: int | None = None
    list_added: frozenset[str] = frozenset()
    list_removed: frozenset[str] = frozenset()
    list_changed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Parcel id → the fields the new list changed."""
    reserved: Mapping[str, str] = field(default_factory=dict)
    """Site id (of ``layer``) → the project it was reserved for since."""
    released: Mapping[str, str] = field(default_factory=dict)
    """Site id → the project whose reservation ended since."""
    ledger: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    """(ledger layer, row id) → the fields edited since."""
    layers_changed: tuple[str, ...] = ()


def match_id() -> str:
    """A new saved match's id: random, URL-safe, and never starting with "-", which a
    command line would take for an option (``geo-service matches show -x…``)."""
    while True:
        new_id = secrets.token_urlsafe(8)
        if not new_id.startswith("-"):
            return new_id


class Matches:
    """The saved matches of one store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(
        self,
        request_json: Mapping[str, Any],
        result_json: str,
        *,
        actor: Actor,
        versions: Mapping[str, int],
        top: int,
        excluded_limit: int | None,
        investor: str | None = None,
        rerun_of: str | None = None,
    ) -> SavedMatch:
        """Keep a match as answered: ``request_json`` is the project request, ``top`` and
        ``excluded_limit`` how many sites were ranked and excluded ones listed (so that it
        can be run again the same), ``result_json`` its result's JSON text (kept byte for
        byte), ``versions`` the layer versions it used (``MatchResult.versions``); the
        release in force is recorded beside them. Returns the saved match."""
        result = json.loads(result_json)
        layer = result.get("layer") if isinstance(result, dict) else None
        if layer not in ON_OFFER:
            raise InvalidInput(f"不是匹配结果 (not a match result: layer {layer!r})")
        project = str(request_json.get("name") or "").strip()
        if not project:
            raise InvalidInput("须注明项目名称 (the request names no project)")
        new_id = match_id()
        now = dt.datetime.now(dt.UTC)
        with change(self.engine, (), actor=actor) as work:
            recorded = {"layers": dict(versions), "release": current_id(work.conn)}
            work.conn.execute(
                saved_matches.insert().values(
                    id=new_id, created_at=now, actor=actor.name, role=actor.role,
                    project=project, investor=(investor or "").strip() or None, layer=layer,
                    request=json.dumps(request_json, ensure_ascii=False), top=top,
                    excluded_limit=excluded_limit,
                    result=result_json, versions=json.dumps(recorded), rerun_of=rerun_of,
                )
            )  # fmt: skip
            work.record(
                "match.save",
                f"match {new_id}",
                after={"project": project, "layer": layer, "rerun_of": rerun_of, **recorded},
            )
        return self.get(new_id)

    def get(self, match_id: str) -> SavedMatch:
        """A saved match by id; :class:`NotFound` if there is none."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(saved_matches).where(saved_matches.c.id == match_id))
                .mappings()
                .one_or_none()
            )
        if row is None:
            raise NotFound(f"没有保存的匹配 {match_id} (no saved match {match_id!r})")
        values = _decoded(dict(row))
        values["result_json"] = values.pop("result")
        values["request"] = json.loads(values["request"])
        return SavedMatch(**values)

    def listing(
        self,
        *,
        q: str | None = None,
        investor: str | None = None,
        person: str | None = None,
        since: dt.date | dt.datetime | None = None,
        until: dt.date | dt.datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Listing:
        """Saved matches, newest first: ``q`` in the project's name, ``investor`` in the
        investor's, ``person`` in the name of who ran it (each a case-insensitive part);
        run on or after ``since``, on or before ``until`` (a date is a whole day in the
        zone's time, UTC+8)."""
        where = [
            sa.func.lower(column).contains(text.strip().lower(), autoescape=True)
            for column, text in (
                (saved_matches.c.project, q),
                (saved_matches.c.investor, investor),
                (saved_matches.c.actor, person),
            )
            if text and text.strip()
        ]
        if since is not None:
            where.append(saved_matches.c.created_at >= _utc(since, end=False))
        if until is not None:
            where.append(saved_matches.c.created_at < _utc(until, end=True))
        query = (
            sa.select(*_LISTED)
            .where(*where)
            .order_by(saved_matches.c.created_at.desc(), saved_matches.c.id)
            .limit(limit)
            .offset(offset)
        )
        count = sa.select(sa.func.count()).select_from(saved_matches).where(*where)
        with self.engine.connect() as conn:
            entries = [SavedMatchEntry.of(row) for row in conn.execute(query).mappings()]
            total = int(conn.execute(count).scalar_one())
        return Listing(entries, total)

    def changes(self, old: SavedMatchEntry, new: SavedMatchEntry) -> DataChanges:
        """What changed in the data between ``old`` and ``new`` (two saved matches of one
        layer): the list's release and its parcels, the reservations made or released,
        and the ledger rows edited in between."""
        before, after = old.versions.get("layers", {}), new.versions.get("layers", {})
        changed = tuple(
            sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        )
        start, end = old.created_at.astimezone(dt.UTC), new.created_at.astimezone(dt.UTC)

        def within(column: sa.Column[Any]) -> sa.ColumnElement[bool]:
            return sa.and_(column > start, column <= end)

        with self.engine.connect() as conn:
            held = conn.execute(
                sa.select(reservations).where(
                    reservations.c.layer == old.layer,
                    sa.or_(within(reservations.c.reserved_at), within(reservations.c.released_at)),
                )
            ).mappings()
            reserved, released = {}, {}
            for r in held:
                if start < _aware(r["reserved_at"]) <= end:
                    reserved[str(r["site_id"])] = str(r["project"])
                if r["released_at"] is not None and start < _aware(r["released_at"]) <= end:
                    released[str(r["site_id"])] = str(r["project"])
            ledger: dict[tuple[str, str], set[str]] = {}
            edits = conn.execute(
                sa.select(ledger_history).where(within(ledger_history.c.changed_at))
            )
            for e in edits.mappings():
                fields = ledger.setdefault((str(e["layer"]), str(e["feature_id"])), set())
                fields.update(json.loads(e["after"]))
        releases = (old.versions.get("release"), new.versions.get("release"))
        return DataChanges(
            layer=old.layer,
            release_before=releases[0],
            release_after=releases[1],
            reserved=reserved,
            released=released,
            ledger={key: tuple(sorted(fields)) for key, fields in ledger.items()},
            layers_changed=changed,
            **self._list_diff(old.layer, *releases),
        )

    def _list_diff(self, layer: str, before: int | None, after: int | None) -> dict[str, Any]:
        """The parcels a new list added, removed and changed (nothing for factories, or
        when the release did not change)."""
        if layer != PARCELS.name or before is None or after is None or before == after:
            return {}
        from layers.stocklist_diff import diff
        from layers.store.features import Features

        features = Features(self.engine)
        found = diff(
            features.read(PARCELS, release=before), features.read(PARCELS, release=after)
        ).as_dict()
        return {
            "list_added": frozenset(a["parcel_id"] for a in found["added"]),
            "list_removed": frozenset(r["parcel_id"] for r in found["removed"]),
            "list_changed": {c["parcel_id"]: tuple(c["fields"]) for c in found["changed"]},
        }


def _aware(stamp: dt.datetime) -> dt.datetime:
    """A stored time, aware: SQLite keeps no zone (UTC)."""
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp


def _decoded(values: dict[str, Any]) -> dict[str, Any]:
    values["created_at"] = _aware(values["created_at"])
    values["versions"] = json.loads(values["versions"])
    return values


def _utc(when: dt.date | dt.datetime, *, end: bool) -> dt.datetime:
    """A bound of a search in UTC: a date is the zone's day (UTC+8), its end exclusive."""
    if not isinstance(when, dt.datetime):
        day = when + dt.timedelta(days=1) if end else when
        when = dt.datetime.combine(day, dt.time(), tzinfo=CHINA)
    elif when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    # SQLite compares the stored text: both sides naive UTC there.
    return when.astimezone(dt.UTC)
