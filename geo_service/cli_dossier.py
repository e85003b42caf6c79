"""``geo-service match REQ.json --pdf out.pdf --xlsx out.xlsx``: the dossier files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from geo_service.cli_common import cli_actor, err

if TYPE_CHECKING:
    from matching.results import MatchResult
    from matching.zone import Zone


def write_dossier(result: MatchResult, zone: Zone, *, pdf: Path | None, xlsx: Path | None) -> None:
    """Write the match's PDF and/or workbook, with a status line while each renders."""
    from maps.dossier.meta import DossierMeta, is_synthetic

    data = result.to_dict()  # every excluded site, with its reasons
    meta = DossierMeta(cli_actor().name, synthetic=is_synthetic(zone))
    if xlsx is not None:
        from maps.dossier.workbook import dossier_xlsx

        with err.status(f"生成 Excel (writing the workbook) → {xlsx} …"):
            xlsx.write_bytes(dossier_xlsx(data, meta))
        err.print(f"已写出 Excel (workbook written) → {xlsx}", highlight=False)
    if pdf is not None:
        from maps.dossier.pdf import dossier_pdf

        with err.status(f"生成 PDF 报告 (rendering the dossier) → {pdf} …"):
            pdf.write_bytes(dossier_pdf(data, zone, meta))
        err.print(f"已写出 PDF (dossier written) → {pdf}", highlight=False)
