"""Schemathesis over the whole OpenAPI document of a real ``zelo api`` server (uvicorn, SQLite):
no 5xx, every status code and content type declared, every body matching its schema."""

import asyncio
import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis import checks

from tests.support import running
from tests.tracker.ingest.conftest import SECRET, WHSEC
from tracker.apikeys import create_key
from tracker.config import Settings
from tracker.db import make_engine
from tracker.migrate import upgrade
from tracker.runtime import open_runtime
from tracker.signatures import sign
from zelo.app import create_app

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


async def _prepare(url: str) -> str:
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    async with (
        open_runtime(Settings(_env_file=None, database_url=url)) as rt,
        rt.sessions() as session,
        session.begin(),
    ):  # type: ignore[call-arg]
        key, _ = await create_key(session, name="fuzz", scopes=["read", "write"], now=rt.clock.now())
    return key


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzz') / 'api.db'}"
    key = asyncio.run(_prepare(url))
    app = create_app(Settings(_env_file=None, database_url=url, erp_webhook_secrets=SecretStr(WHSEC)))  # type: ignore[call-arg]
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="on")
    with running(config) as port:
        yield f"http://127.0.0.1:{port}", key


def test_api_conforms_to_its_openapi_document(server: tuple[str, str]) -> None:
    base_url, key = server
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = {op.path for op in operations}  # every door of the document is fuzzed: the ERP's and each feature's
    assert {"/v1/webhooks/erp", "/v1/shipments", "/v1/incidents", "/v1/notifications", "/v1/claims"} <= paths

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

        fuzz()


def test_signed_webhook_bodies_generated_from_the_document_are_answered_without_5xx(server: tuple[str, str]) -> None:
    """The webhook's body, fuzzed from its schema (ShipmentIn and all it nests), signed as an ERP would: each
    answer is a 202 (items created or rejected one by one) or a 422, never a 5xx nor a signature problem."""
    base_url, _ = server
    operation = schemathesis.openapi.from_url(f"{base_url}/openapi.json")["/v1/webhooks/erp"]["POST"]
    statuses: set[int] = set()

    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case: schemathesis.Case) -> None:
        body = json.dumps(case.body).encode()
        msg_id, now = f"fuzz_{uuid.uuid4().hex}", int(time.time())
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(now),
            "webhook-signature": sign(SECRET, msg_id, now, body),
            "content-type": "application/json",
        }
        answer = httpx.post(f"{base_url}/v1/webhooks/erp", content=body, headers=headers)
        assert answer.status_code in (202, 422), answer.text
        statuses.add(answer.status_code)

    fuzz()
    assert 202 in statuses  # the generated bodies reach the items, not only the envelope's check
