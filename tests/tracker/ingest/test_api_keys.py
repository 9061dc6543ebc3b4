"""API keys at the door: only values shaped like a key are looked up, the process's cache of answers is bounded
in size and in time, a revoked key stops working within that time, and a key reads only what its scopes allow."""

import gc
import json
import secrets
import tracemalloc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tests.tracker.ingest.conftest import Erp, make_app, serve
from tracker.apikeys import create_key
from tracker.clock import SimulatedClock
from tracker.ingest.models import IdempotencyKey
from tracker.models import ApiKey

Headers = dict[str, dict[str, str]]


@pytest.fixture
async def app(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    api = make_app(engine, clock)
    async with serve(engine, clock, api) as client:
        yield api, client


class CountingSessions:
    """Stands in for the key cache's sessionmaker and counts the sessions it opens (database lookups)."""

    def __init__(self, inner: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self.inner, self.opened = inner, 0

    def __call__(self) -> AbstractAsyncContextManager[Any]:
        self.opened += 1
        return self.inner()


def shaped() -> str:
    return f"zelo_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


async def test_values_not_shaped_like_a_key_reach_neither_the_cache_nor_the_database(
    app: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    api, http = app
    cache = api.state.keys
    lookups = cache.sessions = CountingSessions(cache.sessions)
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for n in range(15):  # the attack, at a tenth of the size: 1 MB bearer values
            answer = await http.get("/v1/shipments", headers={"Authorization": f"Bearer {n:07d}" + "x" * 1_000_000})
            assert answer.status_code == 401 and answer.json()["title"] == "Invalid API key"
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 2_000_000, f"the process kept {grown} bytes after 15 refused 1 MB keys"
    for bad in ("zelo_abc_def", "zelo_0123456789AB_" + "x" * 43, shaped()[:-1], shaped() + "x", shaped() + " x"):
        assert (await http.get("/v1/shipments", headers={"Authorization": f"Bearer {bad}"})).status_code == 401
    for n in range(2000):
        await http.get("/v1/shipments", headers={"Authorization": f"Bearer not-a-key-{n}"})
    assert lookups.opened == 0 and len(cache) == 0


async def test_a_refused_value_is_named_but_never_echoed(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, http = app
    answer = await http.get("/v1/shipments", headers={"Authorization": "Bearer zelo_secret_value"})
    problem = answer.json()
    assert problem["errors"][0]["field"] == "Authorization" and "zelo_secret_value" not in answer.text
    assert "expected zelo_<12 hex digits>_<43 URL-safe characters>" in problem["errors"][0]["message"]
    assert "got 17 characters" in problem["errors"][0]["message"]


async def test_the_cache_holds_at_most_its_size_of_answers(
    app: tuple[FastAPI, httpx.AsyncClient], keys: Headers
) -> None:
    api, http = app
    cache = api.state.keys
    cache.size = 3
    lookups = cache.sessions = CountingSessions(cache.sessions)
    for _ in range(10):  # well-shaped unknown keys: each looked up once, then forgotten as others come
        assert (await http.get("/v1/shipments", headers={"Authorization": f"Bearer {shaped()}"})).status_code == 401
    assert len(cache) == 3 and lookups.opened == 10
    for _ in range(3):
        assert (await http.get("/v1/shipments", headers=keys["reader"])).status_code == 200
    assert lookups.opened == 11  # a known key is looked up once, then answered from the cache


async def test_a_revoked_key_stops_working_within_five_seconds(
    app: tuple[FastAPI, httpx.AsyncClient],
    keys: Headers,
    sessions: async_sessionmaker[AsyncSession],
    clock: SimulatedClock,
) -> None:
    _, http = app
    assert (await http.get("/v1/shipments", headers=keys["reader"])).status_code == 200  # now in the cache
    async with sessions() as session, session.begin():
        await session.execute(update(ApiKey).where(ApiKey.name == "reader").values(revoked_at=clock.now()))
    clock.advance(timedelta(seconds=5))
    refused = await http.get("/v1/shipments", headers=keys["reader"])
    assert refused.status_code == 401 and refused.json()["detail"] == "the key is unknown or revoked"
    assert (await http.get("/v1/shipments", headers=keys["writer"])).status_code == 200


CUSTOMER = {"name": "Maria Silva", "email": "maria.silva@example.com", "phone": "+5511987654321"}


def with_customer(**extra: Any) -> dict[str, Any]:
    code = make_code("SS", 1)
    return {"external_id": "PED-1", "carrier": "correios", "tracking_code": code, "customer": CUSTOMER, **extra}


def assert_no_customer_data(text: str) -> None:
    assert all(value not in text for value in ("Maria", "maria.silva", "987654321")), text


async def test_a_key_without_read_gets_each_result_but_never_the_shipment(
    erp: Erp, http: httpx.AsyncClient, keys: Headers, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    async with sessions() as session, session.begin():
        key, _ = await create_key(session, name="erp-push", scopes=["write"], now=clock.now())
    push_only = {"Authorization": f"Bearer {key}"}
    outcomes = []
    for body, headers in (
        (with_customer(), push_only | {"Idempotency-Key": "k-1"}),
        (with_customer(), push_only | {"Idempotency-Key": "k-1"}),  # the replay
        (with_customer(service="PAC"), push_only),
        (with_customer(service="PAC"), push_only),
    ):
        answer = await http.post("/v1/shipments", json=body, headers=headers)
        assert answer.status_code in (200, 201) and answer.json()["shipment"] is None
        assert_no_customer_data(answer.text)
        outcomes.append(answer.json()["result"]["result"])
    assert outcomes == ["created", "created", "updated", "unchanged"]
    async with sessions() as session:
        stored = list(await session.scalars(select(IdempotencyKey.response)))
    assert_no_customer_data(json.dumps(stored))


async def test_a_key_with_read_gets_the_shipment_and_idempotency_keys_are_per_api_key(
    erp: Erp, http: httpx.AsyncClient, keys: Headers, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    async with sessions() as session, session.begin():
        key, _ = await create_key(session, name="erp-push", scopes=["write"], now=clock.now())
        admin, _ = await create_key(session, name="ops", scopes=["admin"], now=clock.now())
    first = await http.post("/v1/shipments", json=with_customer(), headers=keys["writer"] | {"Idempotency-Key": "k"})
    assert first.status_code == 201 and first.json()["shipment"]["customer"]["name"] == "Maria Silva"
    other = await http.post(  # the same Idempotency-Key from another API key is another request
        "/v1/shipments", json=with_customer(), headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "k"}
    )
    assert (other.status_code, other.json()["result"]["result"], other.json()["shipment"]) == (200, "unchanged", None)
    by_admin = await http.post("/v1/shipments", json=with_customer(), headers={"Authorization": f"Bearer {admin}"})
    assert by_admin.json()["shipment"]["customer"]["email"] == CUSTOMER["email"]
