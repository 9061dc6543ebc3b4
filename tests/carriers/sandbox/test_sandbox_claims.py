"""The correios_api filer against the real sandbox server on 127.0.0.1: the claims side end to end."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from carriers.base import AccountConfig, ClaimRequest, Filing, Manifestation, Outcome
from carriers.correios.claims import CorreiosApiFiler
from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel, SandboxClock, SandboxState, create_app, serve
from carriers.sandbox.pi import add_business_days
from tests.support import RecordingSleep

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # a Monday, 09:00 in Brasília
LOST, LATE, ON_TIME, DAMAGED, STOLEN = (make_code("SS", n) for n in range(1, 6))
SCENARIOS = {LOST: "lost", LATE: "late", ON_TIME: "on_time", DAMAGED: "damaged", STOLEN: "stolen"}


@pytest.fixture
def state() -> SandboxState:
    sandbox = SandboxState(SandboxClock(T0))
    sandbox.register(Parcel(code, scenario, T0) for code, scenario in SCENARIOS.items())
    return sandbox


@pytest.fixture
async def filer(state: SandboxState) -> AsyncIterator[CorreiosApiFiler]:
    async with serve(create_app(state)) as base_url, httpx.AsyncClient() as http:
        credentials = {"user": "zelo", "access_code": "s3cret", "posting_card": "0067599079"}
        account = AccountConfig(1, "correios", "loja", base_url, credentials)
        yield CorreiosApiFiler(account, http, state.clock.now, RecordingSleep())


def claim(code: str, motivo: int, claim_id: int = 1) -> ClaimRequest:
    return ClaimRequest(claim_id, code, motivo, Manifestation.REFUND, "C", "Maria da Silva", "maria@example.com", "")


async def file_one(filer: CorreiosApiFiler, code: str, motivo: int) -> Filing:
    [filing] = await filer.file([claim(code, motivo)])
    return filing


def at(state: SandboxState, days: float) -> None:
    state.set_clock(T0 + timedelta(days=days))


async def test_a_lost_parcel_too_early_then_filed_once_answered_and_paid(
    filer: CorreiosApiFiler, state: SandboxState
) -> None:
    at(state, 2)
    early = await file_one(filer, LOST, 211)
    assert (early.outcome, early.code, early.protocol) == (Outcome.REFUSED, "544", None)
    assert "too early" in early.reason
    at(state, 13)
    filed = await file_one(filer, LOST, 211)
    assert filed.outcome is Outcome.FILED and filed.code == "0" and filed.protocol
    again = await file_one(filer, LOST, 211)  # a worker that crashed before its commit files again
    assert (again.outcome, again.code, again.protocol) == (Outcome.ALREADY_FILED, "900", filed.protocol)
    assert len(state.claims) == 1
    [pending] = await filer.follow([filed.protocol])
    assert (pending.tracking_code, pending.answered, pending.upheld, pending.paid_amount) == (LOST, False, None, None)
    answer_at = add_business_days(T0 + timedelta(days=13), 2)
    state.set_clock(answer_at)
    [answered] = await filer.follow([filed.protocol])
    assert (answered.answered, answered.upheld, answered.answered_at) == (True, True, answer_at)
    assert answered.message and answered.paid_amount is None
    state.set_clock(add_business_days(answer_at, 3))
    [paid] = await filer.follow([filed.protocol])
    assert (paid.paid_amount, paid.paid_at) == (Decimal("125.00"), add_business_days(answer_at, 3))


async def test_delay_claims_on_time_late_and_past_the_window(filer: CorreiosApiFiler, state: SandboxState) -> None:
    at(state, 13)
    late = await file_one(filer, LATE, 135)
    on_time = await file_one(filer, ON_TIME, 135)
    not_delivered = await file_one(filer, LOST, 135)
    assert late.outcome is Outcome.FILED
    assert (on_time.outcome, on_time.code) == (Outcome.REFUSED, "530")
    assert (not_delivered.outcome, not_delivered.code) == (Outcome.REFUSED, "531")
    at(state, 40)  # delivered on day 11; the 30 days ran from the earlier expected date (day 4)
    stolen = await file_one(filer, STOLEN, 135)
    assert (stolen.outcome, stolen.code) == (Outcome.REFUSED, "531")
    expired = await file_one(filer, DAMAGED, 132)
    assert (expired.outcome, expired.code) == (Outcome.REFUSED, "564")
    assert "30 days" in expired.reason
    at(state, 100)
    lost = await file_one(filer, LOST, 211)
    assert (lost.outcome, lost.code) == (Outcome.REFUSED, "510")


async def test_motivo_not_allowed_by_web_service_falls_back(filer: CorreiosApiFiler, state: SandboxState) -> None:
    state.faults.pi_blocked_motivos = (133,)
    at(state, 8)
    filing = await file_one(filer, DAMAGED, 133)
    assert (filing.outcome, filing.code) == (Outcome.FALL_BACK, "262")
    assert "portal" in filing.reason


async def test_temporary_errors_are_seeded_and_retried_later(filer: CorreiosApiFiler, state: SandboxState) -> None:
    at(state, 13)
    state.faults.pi_error_rate, state.faults.pi_seed = 1.0, 7
    assert (await file_one(filer, LOST, 211)).outcome is Outcome.RETRY
    state.faults.pi_error_rate = 0.5

    async def run() -> list[Outcome]:
        state.claims.clear()
        state.claims_by_object.clear()
        state.object_claims.clear()
        state.pi_attempts.clear()
        return [(await file_one(filer, STOLEN, motivo)).outcome for motivo in (211, 134, 132, 133, 136, 1414, 211, 134)]

    first = await run()
    assert Outcome.RETRY in first and Outcome.FILED in first
    assert await run() == first  # same seed, same 999s
    state.faults.pi_error_rate = 0.0
    assert (await file_one(filer, STOLEN, 1414)).outcome in (Outcome.FILED, Outcome.ALREADY_FILED)


async def test_a_denied_claim_is_reactivated_once(filer: CorreiosApiFiler, state: SandboxState) -> None:
    at(state, 8)
    filed = await file_one(filer, DAMAGED, 134)
    assert filed.outcome is Outcome.FILED and filed.protocol
    assert (await filer.reactivate(filed.protocol, 1, "fotos da avaria")).code == "56"  # not answered yet
    at(state, 16)
    [denied] = await filer.follow([filed.protocol])
    assert (denied.answered, denied.upheld) == (True, False)
    assert "avaria" in denied.message
    reopened = await filer.reactivate(filed.protocol, 1, "fotos da avaria anexadas ao pacote")
    assert (reopened.outcome, reopened.code, reopened.protocol) == (Outcome.FILED, "512", filed.protocol)
    twice = await filer.reactivate(filed.protocol, 1, "de novo")  # in progress: the reopening already holds
    assert (twice.outcome, twice.code) == (Outcome.ALREADY_FILED, "591")
    at(state, 24)
    [upheld] = await filer.follow([filed.protocol])
    assert (upheld.answered, upheld.upheld) == (True, True)
    at(state, 60)
    [paid] = await filer.follow([filed.protocol])
    assert paid.paid_amount == Decimal("60.00")
    after = await filer.reactivate(filed.protocol, 1, "mais uma vez")
    assert (after.outcome, after.code) == (Outcome.REFUSED, "595")


async def test_a_batch_with_unknown_and_invalid_objects(filer: CorreiosApiFiler, state: SandboxState) -> None:
    at(state, 13)
    requests = [claim(LOST, 211, 1), claim(make_code("SS", 99), 211, 2), claim("SS1BR", 211, 3), claim(LATE, 135, 4)]
    filings = {f.claim_id: f for f in await filer.file(requests)}
    assert (filings[1].outcome, filings[4].outcome) == (Outcome.FILED, Outcome.FILED)
    assert (filings[2].outcome, filings[2].code) == (Outcome.REFUSED, "4")
    assert (filings[3].outcome, filings[3].code) == (Outcome.REFUSED, "271")
    assert filings[1].protocol != filings[4].protocol
    assert state.stats()["requests"]["cadastra"] == 1


async def test_the_gate_contract_and_body_checks(state: SandboxState) -> None:
    path = "/pedido-informacao/v1/externo/pedidos/cadastra"
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        assert (await http.post(path, json={})).status_code == 401
        token = (
            await http.post(
                "/token/v1/autentica/cartaopostagem", json={"numero": "1"}, auth=httpx.BasicAuth("zelo", "s3cret")
            )
        ).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await http.post(path, content=b"{", headers=bearer)).status_code == 400
        assert (
            await http.post(path, json={"contrato": "9912345678", "pedidos": []}, headers=bearer)
        ).status_code == 400
        other = {"contrato": "1", "cartao": "1", "pedidos": [{"codigoObjeto": LOST}]}
        body = (await http.post(path, json=other, headers=bearer)).json()
        assert (body["codigoRetorno"], body["pi"]) == (121, [])
        state.faults.outages = [(T0, T0 + timedelta(hours=1))]
        assert (await http.post(path, json=other, headers=bearer)).status_code == 503


async def test_another_contract_is_refused_through_the_filer(state: SandboxState) -> None:
    async with serve(create_app(state)) as base_url, httpx.AsyncClient() as http:
        credentials = {"user": "zelo", "access_code": "s3cret", "posting_card": "1", "contract": "123"}
        filer = CorreiosApiFiler(
            AccountConfig(1, "correios", "x", base_url, credentials), http, state.clock.now, RecordingSleep()
        )
        at(state, 13)
        [filing] = await filer.file([claim(LOST, 211)])
    assert (filing.outcome, filing.code) == (Outcome.REFUSED, "121")


SANDBOX_CODES = {
    "cadastra": {0, 4, 121, 126, 240, 241, 250, 260, 261, 262, 271, 272, 280, 281, 282, 301, 510, 530, 531, 544},
    "reativa": {50, 56, 512, 513, 575, 582, 587, 589, 591, 595},
    "acompanha": {122, 291, 990},
}
SANDBOX_CODES["cadastra"] |= {546, 547, 564, 580, 900, 999}


@pytest.mark.parametrize("operation", sorted(SANDBOX_CODES))
def test_every_code_the_sandbox_answers_is_in_the_filers_table(operation: str) -> None:
    from carriers.correios.pi_codes import lookup

    assert sorted(c for c in SANDBOX_CODES[operation] if lookup(operation, c) is None) == []
