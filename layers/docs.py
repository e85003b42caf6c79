"""Render docs/layers.md from the layer specs: ``python -m layers.docs > docs/layers.md``."""

from __future__ import annotations

from layers.catalog import LAYERS
from layers.crs import STORAGE_EPSG
from layers.values import field_type
from layers.vocabulary import FACT_STATUS


def render() -> str:
    lines = [
        "# 图层与字段 (Layers and fields)",
        "",
        "Generated from `layers/catalog.py` by `python -m layers.docs`; a test keeps it in sync.",
        "",
        f"- Geometry is stored in CGCS2000 (EPSG:{STORAGE_EPSG}); files in any CRS with an EPSG",
        "  code are accepted and transformed (Gauss-Krüger zone codes are checked against the",
        "  data extent).",
        "- Field names are the same in every format (≤ 10 characters, so Shapefiles keep them).",
        "- **public** fields are shown to anonymous investors; **internal** ones only to staff",
        "  (planner, land_bureau, admin) — in every response, page, tile and export.",
        "- **derived** fields are computed (never read from files; exports include them).",
        "- `_lo` / `_hi`: lower / upper bound of a control indicator (only `_lo`: ≥; only",
        "  `_hi`: ≤; both: a range); `_due`: the date it must be met by.",
        "- `_st` / `_dt`: status and date of a readiness fact; statuses: "
        + ", ".join(f"`{k}` {zh}" for k, (zh, _en) in FACT_STATUS.items())
        + " (date: when done, or expected when planned).",
        "- Readiness (`readiness`, `gaps`) is derived: see `layers/readiness.py`.",
        "",
    ]
    for spec in LAYERS.values():
        lines += [
            f"## {spec.name} — {spec.zh} ({spec.en})",
            "",
            spec.description,
            "",
            f"Geometry: {' / '.join(spec.geometry_types)}. Identifier: `{spec.id_field}`.",
            "",
            "| field | 中文 | meaning | type | unit | audience | required | values |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for f in spec.fields:
            audience = f.audience.value + (", derived" if f.derived else "")
            values = ", ".join(f"`{c}`" for c in f.choices)
            lines.append(
                f"| `{f.name}` | {f.zh} | {f.en} | {field_type(f).words} | {f.unit} | {audience} | "
                f"{'yes' if f.required else ''} | {values} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
