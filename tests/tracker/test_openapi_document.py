"""The OpenAPI document is self-contained and valid, says what a client needs (bodies, headers, security, the
cursor), and ``/docs`` works without the internet: Swagger UI's assets are served by the app itself."""

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from pydantic import SecretStr

from tracker.config import Settings
from zelo.app import create_app


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    app = create_app(Settings(_env_file=None, database_url="sqlite+aiosqlite:///unused.db"))  # type: ignore[call-arg]
    return app.openapi()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(_env_file=None, database_url="sqlite+aiosqlite:///unused.db", secret_key=SecretStr("t"))  # type: ignore[call-arg]
    transport = httpx.ASGITransport(app=create_app(settings))  # the docs need no database: no lifespan
    async with httpx.AsyncClient(transport=transport, base_url="http://zelo") as http:
        yield http


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref} points outside the document"
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve (no {part!r})"
        node = node[part]
    return node


def test_every_reference_resolves_within_the_document(doc: dict[str, Any]) -> None:
    refs = set(_refs(doc))
    assert {"#/components/schemas/CustomerIn", "#/components/schemas/ShipmentsData"} <= refs
    for ref in refs:
        assert isinstance(_resolve(doc, ref), dict)
    assert "$defs" not in str(doc)  # nested definitions are components, not local to a body


def test_the_document_is_valid_openapi(doc: dict[str, Any]) -> None:
    validate(doc)  # openapi-spec-validator, against the 3.1 schema; raises on the first fault


def _body(doc: dict[str, Any], path: str) -> dict[str, Any]:
    ref = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    resolved: dict[str, Any] = _resolve(doc, ref)
    return resolved


def test_the_two_main_bodies_are_real_schemas(doc: dict[str, Any]) -> None:
    envelope = _body(doc, "/v1/webhooks/erp")
    data = _resolve(doc, envelope["properties"]["data"]["$ref"])
    item = data["properties"]["shipments"]["items"]
    assert item == {"$ref": "#/components/schemas/ShipmentIn"} and data["properties"]["shipments"]["maxItems"] == 1000
    shipment = _body(doc, "/v1/shipments")
    assert shipment is _resolve(doc, item["$ref"])
    assert {"carrier", "tracking_code"} <= set(shipment["required"])
    customer = shipment["properties"]["customer"]["anyOf"][0]
    assert set(_resolve(doc, customer["$ref"])["properties"]) == {"name", "email", "phone", "consent"}


def test_webhook_headers_and_the_signature_scheme_are_documented(doc: dict[str, Any]) -> None:
    webhook = doc["paths"]["/v1/webhooks/erp"]["post"]
    headers = {p["name"]: p for p in webhook["parameters"] if p["in"] == "header"}
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert all(h["required"] for h in headers.values()) and headers["webhook-id"]["schema"]["maxLength"] == 255
    assert webhook["security"] == [{"StandardWebhooks": []}]
    assert "webhook-replayed" in webhook["responses"]["202"]["headers"]
    scheme = doc["components"]["securitySchemes"]["StandardWebhooks"]
    assert scheme["in"] == "header" and "HMAC-SHA256" in scheme["description"]


def test_api_key_routes_declare_the_bearer_scheme_and_their_scope(doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"]["ApiKey"] | {"description": ""} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "zelo_<12 hex digits>_<43 URL-safe characters>",
        "description": "",
    }
    post, get = doc["paths"]["/v1/shipments"]["post"], doc["paths"]["/v1/shipments"]["get"]
    assert post["security"] == [{"ApiKey": ["write"]}] and get["security"] == [{"ApiKey": ["read"]}]
    operations = [op for path in doc["paths"].values() for op in path.values()]
    keyed = [op for op in operations if "security" in op]
    assert len(keyed) == len(operations) > 10  # every API route: the webhook with its signature, the others with a key
    every_parameter = [p["name"].lower() for op in keyed for p in op.get("parameters", [])]
    assert "authorization" not in every_parameter  # Swagger's Authorize button sends it


def test_idempotency_key_replay_header_cursor_and_problems_are_documented(doc: dict[str, Any]) -> None:
    post = doc["paths"]["/v1/shipments"]["post"]
    [key] = [p for p in post["parameters"] if p["name"] == "idempotency-key"]
    assert "24 hours" in key["description"] and key["schema"]["anyOf"][0]["maxLength"] == 255
    assert "Idempotent-Replayed" in post["responses"]["201"]["headers"]
    assert "Idempotent-Replayed" in post["responses"]["200"]["headers"]
    cursors = [
        p for path in doc["paths"].values() for op in path.values() for p in op.get("parameters", [])
        if p["name"] == "cursor"
    ]  # fmt: skip
    assert len(cursors) >= 4 and all(p["description"].startswith("Opaque") for p in cursors)  # every list
    problem = post["responses"]["422"]["content"]
    assert problem == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "415" in doc["paths"]["/v1/webhooks/erp"]["post"]["responses"]


async def test_docs_are_served_without_any_outside_url(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.text), "the page loads nothing from outside"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in assets:
        answer = await client.get(asset)
        assert answer.status_code == 200 and len(answer.content) > 400, asset
    bundle = (await client.get("/docs/assets/swagger-ui-bundle.js")).text
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.\d+\.\d+"', bundle)
    assert version and int(version[1]) >= 5  # Swagger UI 4 cannot render an OpenAPI 3.1 document
    assert "validatorUrl" in page.text  # Swagger UI would fetch a badge from swagger.io otherwise
    assert (await client.get("/redoc")).status_code == 404  # FastAPI's ReDoc page loads from a CDN
