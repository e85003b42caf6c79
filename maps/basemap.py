"""The basemap under every map, chosen in settings: which kind, and where its tiles come from.

Drawn by :func:`maps.base.new_map`; this module needs no folium, so settings can name a
basemap without loading the map library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TIANDITU = "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk="
GAODE = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"


@dataclass(frozen=True)
class Basemap:
    """The background of every map, chosen in settings.

    ``none`` (the default) draws the zone's parks and roads as vector context; ``local``
    uses a raster tile folder (``tiles_url``, e.g. ``/basemap/{z}/{x}/{y}.png`` when served);
    ``tianditu`` needs ``tianditu_key``; ``gaode`` is GCJ-02, so every overlay is shifted.
    """

    kind: Literal["none", "local", "tianditu", "gaode"] = "none"
    tiles_url: str | None = None
    tianditu_key: str | None = None

    @property
    def shifts(self) -> bool:
        return self.kind == "gaode"

    @property
    def hosts(self) -> tuple[str, ...]:
        """Hosts the page's images come from, for the CSP."""
        if self.kind == "tianditu":
            return ("https://*.tianditu.gov.cn",)
        if self.kind == "gaode":
            return ("https://*.is.autonavi.com",)
        return ()
