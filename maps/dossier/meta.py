"""Who made a dossier, when, and from what data: the title block."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from matching.zone import Zone

SHANGHAI = ZoneInfo("Asia/Shanghai")
SYNTHETIC_MARK = re.compile(r"synthetic|演示", re.IGNORECASE)
"""How the demo zone marks its data (layers.demo: names say 演示, notes say synthetic)."""


@dataclass(frozen=True)
class DossierMeta:
    """What a dossier says about itself besides the match: its author and time, the
    saved match it shows (if any), and whether the data is the synthetic demo zone."""

    author: str
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    synthetic: bool = False
    match_id: str | None = None

    @property
    def created_local(self) -> str:
        """The creation time in Asia/Shanghai, as the title block shows it."""
        moment = self.created_at
        if moment.tzinfo is None:  # a naive time is taken as UTC, as the store keeps them
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M (北京时间)")


def is_synthetic(zone: Zone) -> bool:
    """Whether the zone is (or holds) the synthetic demo data, by its parks' marks."""
    parks = zone.parks
    texts = [str(v) for column in ("name", "note_int") if column in parks for v in parks[column]]
    return any(SYNTHETIC_MARK.search(text) for text in texts)


def file_stem(result: dict[str, object]) -> str:
    """A file name for a match's dossier, from the project's name (no path characters).

    Examples
    --------
    >>> file_stem({"request": {"name": "56GW 光伏基地 / 一期"}})
    '56GW_光伏基地_一期_选址报告'
    """
    request = result.get("request")
    name = str(request.get("name", "")) if isinstance(request, dict) else ""
    words = re.findall(r"[\w\-]+", name)
    return "_".join(words)[:60] + "_选址报告" if words else "选址报告"
