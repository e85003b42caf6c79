"""Running a match and saving it, and running a saved one again: what the ``/matches``
routes, the planner's pages and the command line call. They know the store and the zone,
not HTTP; they block: call them in a thread from a route."""

from __future__ import annotations

import json

from geo_service.zones import ZoneCache
from layers.store.audit import Actor
from layers.store.matches import SavedMatch
from layers.store.store import Store
from matching.compare import Comparison, compare
from matching.engine import match
from matching.request import ProjectRequest, parse_request
from matching.results import MatchResult


def run_and_save(
    store: Store,
    zones: ZoneCache,
    request: ProjectRequest,
    *,
    actor: Actor,
    top: int = 10,
    excluded: int | None = 100,
    investor: str | None = None,
    rerun_of: str | None = None,
) -> SavedMatch:
    """Rank sites for ``request`` on the zone as it is now and save the match as answered
    (``actor`` is who ran it: :func:`geo_service.deps.actor_of` on HTTP). Blocking: call
    it in a thread from a route."""
    result = match(request, zones.get(), top_n=top)
    return save_result(
        store, request, result, actor=actor, top=top, excluded=excluded, investor=investor,
        rerun_of=rerun_of,
    )  # fmt: skip


def save_result(
    store: Store,
    request: ProjectRequest,
    result: MatchResult,
    *,
    actor: Actor,
    top: int,
    excluded: int | None = 100,
    investor: str | None = None,
    rerun_of: str | None = None,
) -> SavedMatch:
    """Save a match already run (``top`` sites ranked, ``excluded`` excluded ones listed):
    its result's JSON text is made here, once, and kept byte for byte."""
    text = json.dumps(
        result.to_dict(excluded_limit=excluded),
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
    )
    return store.matches.save(
        request.model_dump(mode="json"), text, actor=actor, versions=result.versions,
        top=top, excluded_limit=excluded,
        investor=investor if investor is not None else request.investor, rerun_of=rerun_of,
    )  # fmt: skip


def rerun(
    store: Store, zones: ZoneCache, match_id: str, *, actor: Actor
) -> tuple[SavedMatch, Comparison]:
    """Run saved match ``match_id`` again, the same request, on today's data; save the new
    one (``rerun_of`` the old) and compare them: sites gained, lost, moved, and why."""
    old = store.matches.get(match_id)
    new = run_and_save(
        store, zones, parse_request(old.request), actor=actor, top=old.top,
        excluded=old.excluded_limit, investor=old.investor, rerun_of=old.id,
    )  # fmt: skip
    return new, compare(old.result, new.result, store.matches.changes(old, new))
