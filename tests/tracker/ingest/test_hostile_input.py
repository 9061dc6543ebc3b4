"""Hostile or sloppy requests: a 4xx problem document that names the field, never a 500; a caller without a key
hears 401 before anything of its request is read; unknown query parameters are refused on every API route."""

import json
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tests.tracker.ingest.conftest import Erp
from tracker.ingest.models import WebhookReceipt
from tracker.models import Shipment
from tracker.web import MAX_JSON_DEPTH, Route
from zelo import features

Headers = dict[str, dict[str, str]]
PROBLEM = "application/problem+json"


def nested(depth: int) -> bytes:
    """A shipment whose unknown field ``x`` holds ``depth`` nested lists around a number (the body is one level
    deeper)."""
    shipment = {"external_id": "PED-1", "carrier": "correios", "tracking_code": make_code("SS", 1)}
    return json.dumps(shipment).encode()[:-1] + b', "x": ' + b"[" * depth + b"0" + b"]" * depth + b"}"


def envelope(shipment: bytes) -> bytes:
    return b'{"type": "shipment.upsert", "data": {"shipments": [' + shipment + b"]}}"


DEEP = nested(100_000)


def assert_problem(answer: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert [e["field"] for e in body["errors"]] == [field], body
    return body


async def count(sessions: async_sessionmaker[AsyncSession], table: Any = Shipment) -> int:
    from sqlalchemy import func, select

    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.mark.parametrize("stamp", ["9" * 5000, "²", "-1", "0{now}"])
async def test_a_malformed_webhook_timestamp_is_a_400_naming_the_header(
    erp: Erp, http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], stamp: str
) -> None:
    body = envelope(nested(1))
    headers: dict[str, str | bytes] = {**erp.signed(body)}
    headers["webhook-timestamp"] = stamp.format(now=headers["webhook-timestamp"]).encode("latin-1")  # as sent
    answer = await http.post("/v1/webhooks/erp", content=body, headers=headers)
    problem = assert_problem(answer, 400, "webhook-timestamp")
    assert "expected a Unix time in seconds" in problem["errors"][0]["message"]
    assert await count(sessions, WebhookReceipt) == 0


async def test_deeply_nested_json_is_a_400_on_every_route_that_reads_json(
    erp: Erp, http: httpx.AsyncClient, keys: Headers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    webhook = envelope(DEEP)
    answers = [
        await http.post("/v1/webhooks/erp", content=webhook, headers=erp.signed(webhook)),
        await http.post("/v1/shipments", content=DEEP, headers=keys["writer"]),
        await http.patch(
            "/v1/incidents/1",
            content=b'{"note": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            headers=keys["writer"] | {"content-type": "application/json"},
        ),
    ]
    for answer in answers:
        problem = assert_problem(answer, 400, "(body)")
        assert problem["title"] == "JSON nested too deeply"
        assert f"at most {MAX_JSON_DEPTH} levels" in problem["errors"][0]["message"]
    assert await count(sessions) == 0


async def test_json_within_the_depth_bound_is_read(erp: Erp, http: httpx.AsyncClient, keys: Headers) -> None:
    inner = MAX_JSON_DEPTH - 1  # the object around the lists is one level
    created = await http.post("/v1/shipments", content=nested(inner), headers=keys["writer"])
    assert created.status_code == 201, created.text
    assert created.json()["result"]["warnings"] == ["unknown field 'x' ignored"]
    too_deep = await http.post("/v1/shipments", content=nested(inner + 1), headers=keys["writer"])
    assert_problem(too_deep, 400, "(body)")


@pytest.mark.parametrize("authorization", [None, "Bearer zelo_0123456789ab_" + "x" * 43, "Basic dXNlcjpwYXNz"])
async def test_without_a_valid_key_the_answer_is_401_whatever_the_body_and_query(
    erp: Erp, http: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"content-type": "application/json"} | ({"Authorization": authorization} if authorization else {})
    for method, url, body in (
        ("POST", "/v1/shipments", DEEP),
        ("POST", "/v1/shipments", b"{"),
        ("POST", "/v1/shipments", b"[]"),
        ("POST", "/v1/shipments?dry_run=1", b"{}"),
        ("PATCH", "/v1/incidents/1", b"{"),
        ("PATCH", "/v1/incidents/1", b'{"status": "nonsense"}'),
        ("GET", "/v1/shipments?limit=-1&stauts=x", b""),
    ):
        answer = await http.request(method, url, content=body, headers=headers)
        assert answer.status_code == 401, (method, url, body[:20], answer.text)
        assert answer.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("url", "unknown"),
    [
        ("/v1/shipments?stauts=delivered", "stauts"),
        ("/v1/shipments?status=delivered&carrier=correios&limit=5&shipped_after=2026-11-01", "shipped_after"),
        ("/v1/shipments/1?expand=events", "expand"),
        ("/v1/incidents?kinds=lost", "kinds"),
        ("/v1/notifications?chanel=email", "chanel"),
    ],
)
async def test_an_unknown_query_parameter_is_a_422_naming_it(
    erp: Erp, http: httpx.AsyncClient, keys: Headers, url: str, unknown: str
) -> None:
    answer = await http.get(url, headers=keys["reader"])
    problem = assert_problem(answer, 422, unknown)
    message = problem["errors"][0]["message"]
    assert "unknown query parameter" in message
    assert "expected one of: " in message or "this route takes no query parameters" in message


async def test_unknown_query_parameters_are_refused_on_writes_too_and_store_nothing(
    erp: Erp, http: httpx.AsyncClient, keys: Headers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = envelope(nested(1))
    webhook = await http.post("/v1/webhooks/erp?dry_run=1", content=body, headers=erp.signed(body))
    assert_problem(webhook, 422, "dry_run")
    post = await http.post("/v1/shipments?validate_only=true", content=nested(1), headers=keys["writer"])
    assert_problem(post, 422, "validate_only")
    assert await count(sessions) == 0 and await count(sessions, WebhookReceipt) == 0


async def test_the_value_of_an_unknown_parameter_is_masked_when_it_looks_like_contact_data(
    erp: Erp, http: httpx.AsyncClient, keys: Headers
) -> None:
    answer = await http.get(
        "/v1/shipments",
        params={"customer_email": "maria.silva@example.com", "phone": "+5511987654321"},
        headers=keys["reader"],
    )
    assert answer.status_code == 422
    assert "maria.silva" not in answer.text and "987654321" not in answer.text
    assert {e["field"] for e in answer.json()["errors"]} == {"customer_email", "phone"}


async def test_known_parameters_still_work(erp: Erp, http: httpx.AsyncClient, keys: Headers) -> None:
    answer = await http.get("/v1/shipments?status=pending&status=pending&limit=5", headers=keys["reader"])
    assert answer.status_code == 200 and answer.json()["shipments"] == []


def test_every_api_route_is_a_zelo_route() -> None:
    """The checks above live in one place, ``tracker.web.Route``: every route of the API document uses it."""
    routes = [r for router in features.routers() for r in router.routes]
    api = [r for r in routes if isinstance(r, APIRoute) and r.include_in_schema]
    assert len(api) > 10 and all(isinstance(r, Route) for r in api), [r.path for r in api if not isinstance(r, Route)]


async def test_every_json_body_is_bounded_in_size_declared_or_not(
    erp: Erp, http: httpx.AsyncClient, keys: Headers
) -> None:
    """A body past ``ZELO_MAX_BODY_BYTES`` is a 413 on every route that reads one, also when it is sent in
    chunks without a Content-Length (it is never held whole)."""
    big = b'{"note": "' + b"x" * 6_000_000 + b'"}'

    async def chunks() -> Any:
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    headers = keys["writer"] | {"content-type": "application/json"}
    for content in (big, chunks()):
        for method, path in (("PATCH", "/v1/incidents/1"), ("POST", "/v1/shipments")):
            answer = await http.request(method, path, content=content, headers=headers)
            assert answer.status_code == 413, (method, path, answer.text)
            assert "at most 5000000 bytes" in answer.json()["detail"]
            if not isinstance(content, bytes):
                content = chunks()
