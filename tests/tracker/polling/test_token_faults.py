"""A malformed Correios token answer, through the poller: a failure on the account's circuit, not an internal error."""

import json
from typing import Any

import pytest
import respx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support import correios_account
from tests.tracker.polling.test_poller import make_poller, shipment
from tracker.clock import SimulatedClock
from tracker.models import CarrierAccount
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]
BASE = "https://cws.test"
CODE = "SS000000014BR"
SECRET = "eyJ-the-token-itself"


@pytest.mark.parametrize(
    ("body", "code", "said"),
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "malformed_response", "not JSON", id="nested-too-deep"),
        pytest.param(
            json.dumps({"token": SECRET + "é", "expiraEm": "2026-11-03T08:00:00"}).encode(),
            "contract_error",
            "token answer's 'token' is a 21-character string",
            id="non-ascii-token",
        ),
        pytest.param(
            json.dumps({"token": SECRET, "expiraEm": "2026-13-45T99:00:00"}).encode(),
            "contract_error",
            "'expiraEm' '2026-13-45T99:00:00' is not an ISO date-time",
            id="impossible-expiraEm",
        ),
        pytest.param(b"null", "contract_error", "token answer is not a JSON object", id="null"),
    ],
)
async def test_a_malformed_token_answer_is_a_failure_on_the_account_s_circuit(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, body: bytes, code: str, said: str
) -> None:
    async with sessions() as session, session.begin():
        account_id = await correios_account(session, vault, name="loja-sp", now=clock.now(), base_url=BASE)
        await register(session, [NewShipment("correios", account_id, CODE)], clock.now())
    router: Any
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/token/v1/autentica/cartaopostagem").respond(201, content=body)
        track = router.get("/srorastro/v1/objetos").respond(200, json={"objetos": []})
        report = await make_poller(sessions, clock, vault).run_once()
    assert track.call_count == 0
    assert report.errors == {code: 1}
    async with sessions() as session:
        account = await session.get(CarrierAccount, account_id)
        assert account is not None and account.consecutive_failures == 1
        assert said in (account.last_error or "") and SECRET not in (account.last_error or "")
    polled = await shipment(sessions, CODE)
    assert polled.poll_error_count == 1 and code in (polled.poll_error or "")
    assert "internal_error" not in (polled.poll_error or "") and SECRET not in (polled.poll_error or "")
