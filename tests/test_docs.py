"""The documentation is the schema, not a copy that drifts from it: the layers' fields
(docs/layers.md) and the API's bodies and answers (/docs)."""

from __future__ import annotations

import json
from pathlib import Path

from geo_service.app import create_app
from geo_service.settings import Settings
from layers.docs import render
from matching.request import ProjectRequest

DOCS = Path(__file__).resolve().parents[1] / "docs" / "layers.md"


def test_docs_match_the_schema() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/layers.md is stale: run `python -m layers.docs > docs/layers.md`"
    )


ANSWERS = {
    ("/match", "post", "200"): "Ranking",
    ("/stock-lists", "get", "200"): "StockReleases",
    ("/stock-lists", "post", "201"): "StockListImport",
    ("/stock-lists/as-of/{date}", "get", "200"): "StockRelease",
    ("/stock-lists/{release_id}", "get", "200"): "StockReleaseDetail",
    ("/stock-lists/{release_id}/publish", "post", "200"): "StockRelease",
    ("/reservations", "post", "201"): "ReservationRecord",
    ("/reservations", "get", "200"): "ReservationRecord",
    ("/reservations/{reservation_id}/release", "post", "200"): "ReservationRecord",
    ("/ledgers/{layer}/{feature_id}", "get", "200"): "LedgerRow",
    ("/ledgers/{layer}/{feature_id}", "patch", "200"): "LedgerRow",
    ("/ledgers/{layer}/{feature_id}/history", "get", "200"): "LedgerHistoryEntry",
    ("/ledgers/{layer}", "post", "200"): "LedgerUpload",
}


def test_the_api_docs_show_the_main_answers_and_the_project_request(
    settings: Settings,
) -> None:
    """/docs (from /openapi.json) shows what the main routes answer, and every field of
    the project request /match takes, with what it is and its unit."""
    document = create_app(settings).openapi()
    schemas = document["components"]["schemas"]
    for (path, method, status), name in ANSWERS.items():
        answer = document["paths"][path][method]["responses"][status]
        assert name in json.dumps(answer["content"]["application/json"]["schema"]), path
        assert schemas[name]["properties"], name
    body = document["paths"]["/match"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"] == "#/components/schemas/ProjectRequest"
    fields = schemas["ProjectRequest"]["properties"]
    assert set(fields) == set(ProjectRequest.model_fields)
    assert all(field.get("description") for field in fields.values())
    assert fields["power_mw"]["x-unit"] == "MW" and "MW" in fields["power_mw"]["description"]
    assert schemas["AreaRange"]["properties"]["min_mu"]["x-unit"] == "亩"
