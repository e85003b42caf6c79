"""The documentation is the schema, not a copy that drifts from it: the layers' fields
(docs/layers.md) and the API's bodies and answers (/docs)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from openapi_schema_validator import OAS30Validator

from geo_service.app import create_app
from geo_service.settings import Settings
from layers.demo import generate_zone
from layers.docs import render
from layers.store.store import Store
from matching.request import ProjectRequest

DOCS = Path(__file__).resolve().parents[1] / "docs" / "layers.md"


def test_docs_match_the_schema() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/layers.md is stale: run `python -m layers.docs > docs/layers.md`"
    )


ANSWERS = {
    ("/match", "post", "200"): "Ranking",
    ("/matches", "post", "201"): "SavedMatchAnswer",
    ("/matches", "get", "200"): "SavedMatches",
    ("/matches/{match_id}", "get", "200"): "SavedMatchAnswer",
    ("/matches/{match_id}/rerun", "post", "201"): "RerunAnswer",
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


@pytest.fixture(scope="module")
def zone() -> dict[str, gpd.GeoDataFrame]:
    return generate_zone(seed=5, parcels=30)


def test_the_items_answers_are_what_the_document_says(client: TestClient, loaded: Store) -> None:
    """A GeoJSON client can read the shape of a page of features and of one feature from
    /openapi.json: real answers, public and staff, validate against the declared schemas
    (an OpenAPI 3.0 validator, not ours)."""
    document = client.get("/openapi.json").json()
    operations = document["paths"]

    def validator(path: str) -> OAS30Validator:
        content = operations[path]["get"]["responses"]["200"]["content"]
        schema = {**content["application/geo+json"]["schema"], **document}
        return OAS30Validator(schema)

    page_schema = validator("/collections/{collection_id}/items")
    one_schema = validator("/collections/{collection_id}/items/{fid}")
    staff = {"X-API-Key": _key(loaded)}
    for headers in ({}, staff):
        for layer in ("parcels", "factories", "parks"):
            page = client.get(f"/collections/{layer}/items?limit=3", headers=headers)
            assert page.status_code == 200
            page_schema.validate(page.json())
            feature = page.json()["features"][0]
            one = client.get(f"/collections/{layer}/items/{feature['id']}", headers=headers)
            one_schema.validate(one.json())
        empty = client.get("/collections/parcels/items?bbox=0,0,0.001,0.001", headers=headers)
        page_schema.validate(empty.json())
    # The schemas are not empty promises: a page without its features is refused.
    broken = {k: v for k, v in page.json().items() if k != "features"}
    assert not page_schema.is_valid(broken)


def _key(store: Store) -> str:
    from geo_service import auth
    from tests.people import TESTER

    return auth.create_key(store, name="测试", role=auth.Role.PLANNER, actor=TESTER)[1]
