"""The access log: one line per request with method, path, status, duration and who called (the webhook-id, an
API key's prefix), never a secret, a query value, a body or a customer's signed link."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from carriers.correios.s10 import make_code
from tests.tracker.ingest.conftest import WHSEC, Erp, serve
from tracker.access import AccessLog
from tracker.clock import SimulatedClock
from tracker.config import Settings
from zelo.app import create_app

Headers = dict[str, dict[str, str]]


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines() if " request " in line or '"request"' in line]


async def test_a_webhook_is_one_line_with_its_id_and_nothing_of_its_body(
    erp: Erp, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    shipment = {"carrier": "correios", "tracking_code": make_code("SS", 1), "customer": {"name": "Maria Silva",
                "email": "maria@example.com", "phone": "+5511987654321"}}  # fmt: skip
    assert (await erp.push([shipment], msg_id="msg_2KWPBgLlAfxdpx")).status_code == 202
    [line] = lines(capsys)
    assert " method=POST path=/v1/webhooks/erp status=202 ms=" in line and line.endswith(
        " webhook_id=msg_2KWPBgLlAfxdpx"
    )
    assert float(line.split(" ms=")[1].split()[0]) >= 0
    for secret in ("Maria", "maria@", "98765", "webhook-signature", "v1,"):
        assert secret not in line


async def test_an_api_call_shows_the_key_prefix_never_the_key_nor_query_values(
    erp: Erp, http: httpx.AsyncClient, keys: Headers, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    reader = keys["reader"]["Authorization"].removeprefix("Bearer ")
    await http.get("/v1/shipments", params={"external_id": "maria@example.com"}, headers=keys["reader"])
    await http.get("/v1/shipments/12", headers=keys["reader"])
    await http.get("/v1/shipments", headers={"Authorization": "Bearer s3cr3t-not-a-key"})
    listed, detail, refused = lines(capsys)
    prefix = reader.split("_")[1]
    assert listed.endswith(
        f"method=GET path=/v1/shipments status=200 ms={listed.split('ms=')[1].split()[0]} key={prefix}"
    )
    assert reader not in listed and reader.split("_", 2)[2] not in listed and "maria" not in listed
    assert "path=/v1/shipments/12 status=404" in detail  # ids are shown: they are no one's data
    assert "status=401" in refused and "key=invalid" in refused and "s3cr3t" not in refused


async def test_a_customers_signed_link_is_logged_as_its_route(
    erp: Erp, http: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    await http.get("/c/the-customers-signed-token")
    await http.get("/nowhere/maria@example.com")
    link, unknown = lines(capsys)
    assert "path=/c/{token}" in link and "signed-token" not in link
    assert "status=404" in unknown and "maria@example.com" not in unknown and "m***@example.com" in unknown


@pytest.fixture
def app_with(engine: AsyncEngine, clock: SimulatedClock) -> Any:
    def make(**options: Any) -> Any:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=engine.url.render_as_string(hide_password=False),
            erp_webhook_secrets=SecretStr(WHSEC),
            secret_key=SecretStr("test-secret"),
            **options,
        )
        return create_app(settings, clock)

    return make


@pytest.fixture
async def json_http(engine: AsyncEngine, clock: SimulatedClock, app_with: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(engine, clock, app_with(log_json=True)) as client:
        yield client


async def test_with_json_logs_the_line_is_json(
    json_http: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    await json_http.get("/v1/shipments")
    [line] = lines(capsys)
    entry = json.loads(line)
    assert entry | {"ms": 0, "timestamp": ""} == {
        "event": "request", "method": "GET", "path": "/v1/shipments", "status": 401, "ms": 0, "level": "info",
        "timestamp": "",
    }  # fmt: skip
    assert entry["timestamp"].endswith("Z")


def test_below_info_there_is_no_access_log(app_with: Any) -> None:
    def stack(app: Any) -> list[type]:
        app.build_middleware_stack()
        return [m.cls for m in app.user_middleware]

    assert AccessLog in stack(app_with())
    assert AccessLog not in stack(app_with(log_level="warning"))
