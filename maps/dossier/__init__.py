"""The dossier of a match (项目选址报告): a PDF (:mod:`maps.dossier.pdf`) and an Excel
workbook (:mod:`maps.dossier.workbook`) made on the server from a match result's
dictionary (:meth:`matching.results.MatchResult.to_dict`, as the API answers it and a
saved match stores it) and its :class:`~maps.dossier.meta.DossierMeta`.

Nothing here knows HTTP; the routes and the CLI call :func:`maps.dossier.pdf.dossier_pdf`
and :func:`maps.dossier.workbook.dossier_xlsx`.
"""
