"""The HTML encoding of the OGC API – Features resources (Part 1, conformance class HTML).

Each page is built from the very document the JSON encoding sends — the same properties,
for the same caller, with the same links — never from the stored frame, so a page cannot
show what the JSON would not. Pages are plain server-side HTML: no script, no external
asset (users are often offline), one inline style sheet allowed by its hash. Every value
is escaped here, including backticks and ``$``: names in the data can hold markup.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi.responses import HTMLResponse

from layers.catalog import LAYERS
from layers.schema import FieldSpec, LayerSpec
from layers.values import field_type

HTML = "text/html"
_CSS = """
body{margin:0;font:15px/1.5 system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",
"Microsoft YaHei",sans-serif;color:#1d2730;background:#f6f7f9}
header,main,footer{padding:.6rem 1.4rem}
header{background:#17476b;color:#fff}header a{color:#fff}
h1{font-size:1.45rem;margin:.4rem 0}h2{font-size:1.15rem;margin:1.2rem 0 .4rem}
.en{color:#5b6875;font-weight:normal}header .en{color:#d4e2ee}
a{color:#0b5cad}small{color:#5b6875}code{font-size:.85em;word-break:break-all}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.15rem 1rem;margin:.4rem 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
nav.pages a,nav.formats a{margin-right:1rem}
.scroll{overflow:auto;max-height:75vh;border:1px solid #c9d1d9;background:#fff}
table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #dde3e8;padding:.25rem .5rem;text-align:left;vertical-align:top}
.scroll th{position:sticky;top:0;background:#e8eef3;z-index:1;min-width:4.5em;max-width:10em;
font-size:.85em}
.scroll td{white-space:nowrap}.scroll thead th{vertical-align:bottom}
.scroll th .en{font-weight:normal}
.scroll th:first-child,.scroll td:first-child{position:sticky;left:0;background:#f1f5f8}
.scroll th:first-child{z-index:2}
td.n{text-align:right;white-space:nowrap}
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""No script at all, only this module's style sheet, nothing from another host."""
_HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Vary": "Accept",
}


def e(value: object) -> str:
    """Text safe in HTML content and attributes, and in a JavaScript template literal.

    Examples
    --------
    >>> e("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> e("`${alert(1)}`")
    '&#96;&#36;{alert(1)}&#96;'
    """
    return html.escape(str(value), quote=True).replace("`", "&#96;").replace("$", "&#36;")


def text(value: object) -> str:
    """A JSON property value as a person reads it, losing nothing: numbers at full
    precision with thousands separators, booleans in both languages, null as nothing.

    Examples
    --------
    >>> text(10764.0), text(1234.5678), text(2026), text(True), text(None)
    ('10,764', '1,234.5678', '2026', '是 yes', '')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, float):
        shown = format(value, ",")
        return shown.removesuffix(".0")
    return str(value)


def _value(f: FieldSpec, value: object, *, unit: bool) -> str:
    """A property's value as HTML, with the Chinese label of a coded value (``M1`` →
    一类工业用地) and, where asked, its unit."""
    label = f.label(value)
    extra = f"<small> {e(label[0])}</small>" if label else ""
    if unit and f.unit and value is not None:
        extra += f"<small> {e(f.unit)}</small>"
    return e(text(value)) + extra


def _h(level: int, zh: str, en: str) -> str:
    return f'<h{level}>{e(zh)} <span class="en" lang="en">{e(en)}</span></h{level}>'


def _a(href: str, label: str, *, rel: str | None = None, kind: str | None = None) -> str:
    attrs = f' rel="{e(rel)}"' if rel else ""
    attrs += f' type="{e(kind)}"' if kind else ""
    return f'<a href="{e(href)}"{attrs}>{label}</a>'


def _facts(rows: Iterable[tuple[str, str]]) -> str:
    """A definition list; labels are ours (escaped), values already HTML."""
    return '<dl class="facts">' + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _label(link: Mapping[str, Any]) -> str:
    kind = str(link.get("type", ""))
    if kind == HTML:
        return "HTML"
    if "geo+json" in kind:
        return "GeoJSON"
    return "JSON" if "json" in kind else kind or "link"


def _link(link: Mapping[str, Any], label: str) -> str:
    """An anchor for a link object of the JSON, with its ``rel`` and ``type``."""
    return _a(str(link["href"]), label, rel=link.get("rel"), kind=link.get("type"))


_REL = {"self": "本图层 this layer", "alternate": "本图层 this layer", "items": "要素 features"}


def _title(link: Mapping[str, Any]) -> str:
    """A link's title, or a name for it from its relation and type."""
    if link.get("title"):
        return str(link["title"])
    rel = str(link.get("rel", ""))
    return f"{_REL.get(rel, rel)} ({_label(link)})"


def _links_table(links: Sequence[Mapping[str, Any]]) -> str:
    """Every link of the JSON document, as a table a person can follow."""
    rows = "".join(
        f"<tr><td>{e(link.get('rel', ''))}</td><td>{e(link.get('type', ''))}</td>"
        f"<td>{e(link.get('title', ''))}</td>"
        f"<td>{_link(link, '<code>' + e(link['href']) + '</code>')}</td></tr>"
        for link in links
    )
    head = "<tr><th>rel</th><th>类型 type</th><th>标题 title</th><th>地址 href</th></tr>"
    return _h(2, "链接", "Links") + f"<table>{head}{rows}</table>"


def _page(
    title: str,
    crumbs: Sequence[tuple[str, str | None]],
    body: str,
    links: Sequence[Mapping[str, Any]],
) -> HTMLResponse:
    """A whole page: its ``<head>`` names the alternates (and next/prev), a breadcrumb
    trail, ``body`` and a footer with the other encodings."""
    head_links = "".join(
        f'<link rel="{e(link["rel"])}" type="{e(link.get("type", ""))}" href="{e(link["href"])}">'
        for link in links
        if link.get("rel") in ("alternate", "next", "prev")
    )
    trail = " › ".join(e(label) if href is None else _a(href, e(label)) for label, href in crumbs)
    formats = " ".join(
        _link(link, e(_label(link))) for link in links if link.get("rel") == "alternate"
    )
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{e(title)}</title><link rel="icon" href="data:,">{head_links}'
        f"<style>{_CSS}</style></head><body>"
        f"<header><nav>{trail}</nav></header><main>{body}</main>"
        f'<footer><nav class="formats">其他格式 <span class="en" lang="en">Other formats</span>: '
        f"{formats}</nav></footer></body></html>"
    )
    return HTMLResponse(page, headers=_HEADERS)


def _home(base: str) -> tuple[str, str]:
    return ("首页 Home", f"{base}/?f=html")


def _collections_crumb(base: str) -> tuple[str, str]:
    return ("图层 Collections", f"{base}/collections?f=html")


def landing_page(body: Mapping[str, Any], *, base: str, examples: Sequence[str]) -> HTMLResponse:
    """The landing page: the service, its maps, its layers and the JSON's links."""
    layers = "".join(
        f"<li>{_a(f'{base}/collections/{name}?f=html', f'{e(spec.zh)} {e(spec.en)}')} · "
        f"{_a(f'{base}/collections/{name}/items?f=html', '要素 features')} · "
        f"{_a(f'{base}/collections/{name}/items?f=json', 'GeoJSON', kind='application/geo+json')}"
        "</li>"
        for name, spec in LAYERS.items()
    )
    staff = "".join(
        "<li>"
        + _a(
            f"{base}/login?next=/maps/preselect?example={name}",
            f"预选址图 (pre-selection map): {e(name)}",
        )
        + "</li>"
        for name in examples
    )
    main = (
        f"<h1>{e(body['title'])}</h1><p>{e(body['description'])}</p>"
        "<p>演示数据为合成数据 (the demo zone is synthetic data).</p>"
        + _h(2, "地图", "Maps")
        + f"<ul><li>{_a(f'{base}/maps/investor', '投资者地图 Investor map (public)')}</li>"
        f"<li>{_a(f'{base}/login?next=/maps/readiness', '标准地净地条件图 Readiness map (staff)')}"
        f"</li>{staff}</ul>"
        + _h(2, "图层", "Layers (OGC API – Features)")
        + f"<ul>{layers}</ul>"
        + _links_table(body["links"])
    )
    return _page(str(body["title"]), [("首页 Home", None)], main, body["links"])


def conformance_page(
    classes: Sequence[str], *, base: str, links: Sequence[Mapping[str, Any]]
) -> HTMLResponse:
    items = "".join(f"<li><code>{e(c)}</code></li>" for c in classes)
    main = (
        _h(1, "一致性声明", "Conformance")
        + "<p>本服务符合以下标准类别 (the service conforms to these classes):</p>"
        + f"<ul>{items}</ul>"
        + _links_table(links)
    )
    crumbs = [_home(base), ("一致性声明 Conformance", None)]
    return _page("一致性声明 Conformance", crumbs, main, links)


def _collection_body(described: Mapping[str, Any], level: int) -> str:
    """What ``/collections/{id}`` says of one layer: id, description, extent, CRSs, links."""
    spec = LAYERS.get(str(described["id"]))
    zh, en = (spec.zh, spec.en) if spec else (str(described["title"]), "")
    extent = described.get("extent", {}).get("spatial", {})
    bbox = ", ".join(text(v) for v in extent["bbox"][0]) if extent else ""
    crs_list = "".join(f"<li><code>{e(c)}</code></li>" for c in described["crs"])
    facts = [
        ("标识 id", f"<code>{e(described['id'])}</code>"),
        ("标题 title", e(described["title"])),
        ("说明 description", e(described.get("description", ""))),
        ("要素类型 itemType", e(described["itemType"])),
        (
            "范围 extent (west, south, east, north)",
            f"{e(bbox)} <small>{e(extent.get('crs', ''))}</small>"
            if extent
            else "空图层 (empty layer: no extent)",
        ),
        ("存储坐标系 storageCrs", f"<code>{e(described['storageCrs'])}</code>"),
        ("可用坐标系 crs", f"<ul>{crs_list}</ul>"),
    ]
    # Without rel: in a list of layers these are the layer's links, not the page's.
    links = "".join(
        f"<li>{_a(str(link['href']), e(_title(link)), kind=link.get('type'))} "
        f"<small>{e(link.get('rel', ''))} · {e(link.get('type', ''))}</small></li>"
        for link in described["links"]
    )
    return (
        _h(level, zh, en)
        + _facts(facts)
        + f'<p>链接 <span class="en" lang="en">links</span>:</p><ul>{links}</ul>'
    )


def collections_page(body: Mapping[str, Any], *, base: str) -> HTMLResponse:
    main = (
        _h(1, "图层", "Collections")
        + "".join(_collection_body(c, 2) for c in body["collections"])
        + _links_table(body["links"])
    )
    crumbs = [_home(base), ("图层 Collections", None)]
    return _page("图层 Collections", crumbs, main, body["links"])


def collection_page(described: Mapping[str, Any], *, base: str) -> HTMLResponse:
    main = _collection_body(described, 1) + _links_table(described["links"])
    crumbs = [_home(base), _collections_crumb(base), (str(described["title"]), None)]
    return _page(str(described["title"]), crumbs, main, described["links"])


def items_page(
    spec: LayerSpec,
    fields: Sequence[FieldSpec],
    head: Mapping[str, Any],
    features: Sequence[str | bytes],
    *,
    base: str,
) -> HTMLResponse:
    """One page of features as a table: a row per feature (its id and the properties of
    the GeoJSON ``features``, given as their JSON text), a column per field of ``fields``
    (the fields the GeoJSON was written with). No geometry: coordinates are in the
    GeoJSON alternate."""
    links = head["links"]
    pages = " ".join(
        _link(link, label)
        for rel, label in (("prev", "← 上一页 Previous"), ("next", "下一页 Next →"))
        for link in links
        if link["rel"] == rel
    )
    matched = head.get("numberMatched")
    facts = [
        (
            "匹配总数 numberMatched",
            e(matched) if matched is not None else "未计数 (not counted: too many)",
        ),
        ("本页数量 numberReturned", e(head["numberReturned"])),
        ("时间 timeStamp", e(head["timeStamp"])),
    ]
    main = (
        _h(1, f"{spec.zh} · 要素", f"{spec.en} · Features")
        + _facts(facts)
        + f'<nav class="pages">{pages}</nav>'
        + _items_table(spec, fields, features, base=base)
        + f'<nav class="pages">{pages}</nav>'
        + "<p>坐标见 GeoJSON (coordinates are in the GeoJSON alternate) · "
        + _a(f"{base}/maps/investor", "投资者地图 Investor map")
        + "</p>"
        + _links_table(links)
    )
    crumbs = [
        _home(base),
        _collections_crumb(base),
        (f"{spec.zh} {spec.en}", f"{base}/collections/{spec.name}?f=html"),
        ("要素 Features", None),
    ]
    return _page(f"{spec.zh} {spec.en} · 要素 Features", crumbs, main, links)


def _items_table(
    spec: LayerSpec, fields: Sequence[FieldSpec], features: Sequence[str | bytes], *, base: str
) -> str:
    """The features (their GeoJSON text) as a scrolling table: a row per feature, its id
    linked to its page, and a column per field of ``fields`` with its labels and unit."""
    rows = []
    for feature in map(json.loads, features):
        fid = feature["id"]
        href = f"{base}/collections/{spec.name}/items/{fid}?f=html"
        cells = "".join(
            f'<td data-field="{e(f.name)}"{_numeric(f)}>'
            f"{_value(f, feature['properties'][f.name], unit=False)}</td>"
            for f in fields
        )
        rows.append(f'<tr id="f-{e(fid)}"><td data-field="id">{_a(href, e(fid))}</td>{cells}</tr>')
    columns = "".join(
        f'<th scope="col" data-field="{e(f.name)}">{e(f.zh)}<br><span class="en" lang="en">'
        f"{e(f.en)}</span>{f'<br><small>({e(f.unit)})</small>' if f.unit else ''}</th>"
        for f in fields
    )
    return (
        '<div class="scroll"><table><thead><tr><th scope="col" data-field="id">编号<br>'
        f'<span class="en" lang="en">id</span></th>{columns}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _numeric(f: FieldSpec) -> str:
    return ' class="n"' if field_type(f).numeric else ""


def item_page(
    spec: LayerSpec, fields: Sequence[FieldSpec], feature: Mapping[str, Any], *, base: str
) -> HTMLResponse:
    """One feature (its GeoJSON document, parsed): a row per field of ``fields``."""
    fid = feature["id"]
    rows = "".join(
        f'<tr data-field="{e(f.name)}"><th scope="row">{e(f.zh)} '
        f'<span class="en" lang="en">{e(f.en)}</span></th>'
        f'<td data-field="{e(f.name)}">'
        f"{_value(f, feature['properties'][f.name], unit=True)}</td></tr>"
        for f in fields
    )
    main = (
        _h(1, f"{spec.zh} {fid}", f"{spec.en} feature {fid}")
        + f'<table><tr><th scope="row">编号 <span class="en" lang="en">id</span></th>'
        f'<td data-field="id">{e(fid)}</td></tr>{rows}</table>'
        + "<p>坐标见 GeoJSON (coordinates are in the GeoJSON alternate) · "
        + _a(f"{base}/maps/investor", "投资者地图 Investor map")
        + "</p>"
        + _links_table(feature["links"])
    )
    crumbs = [
        _home(base),
        _collections_crumb(base),
        (f"{spec.zh} {spec.en}", f"{base}/collections/{spec.name}?f=html"),
        ("要素 Features", f"{base}/collections/{spec.name}/items?f=html"),
        (str(fid), None),
    ]
    return _page(f"{spec.zh} {fid} ({spec.en})", crumbs, main, feature["links"])
