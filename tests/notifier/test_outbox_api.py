"""The notifications API: history with filters (the wa.me queue among them), a resend of a failed message,
and the history on the shipment."""

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from notifier.models import Notification, NotificationAttempt
from tests.support import correios_account
from tracker.clock import SimulatedClock
from tracker.models import Shipment
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, dict[str, str]]


async def history(sessions: Sessions, vault: Vault, clock: SimulatedClock) -> int:
    now = clock.now()
    async with sessions() as session, session.begin():
        account = await correios_account(session, vault, name="main", now=now)
        await register(session, [NewShipment("correios", account, make_code("SS", 1))], now)
        sid = await session.scalar(select(Shipment.id))
        assert sid is not None
        for i, (channel, status, link) in enumerate(
            [("email", "sent", None), ("email", "failed", None), ("wa_link", "queued", "https://wa.me/5511")]
        ):
            session.add(
                Notification(
                    dedupe_key=f"k{i}",
                    shipment_id=sid,
                    trigger="posted",
                    channel=channel,
                    status=status,
                    facts={},
                    created_at=now,
                    due_at=now,
                    attempts=1,
                    link=link,
                    reason="550 mailbox unavailable" if status == "failed" else None,
                )
            )
    return sid


async def test_history_filters_queue_and_resend(
    http: httpx.AsyncClient, keys: Headers, sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    sid = await history(sessions, vault, clock)
    listed = (await http.get("/v1/notifications", headers=keys["reader"])).json()["notifications"]
    assert [n["status"] for n in listed] == ["queued", "failed", "sent"]
    queue = await http.get(
        "/v1/notifications", params={"channel": "wa_link", "status": "queued"}, headers=keys["reader"]
    )
    assert [n["link"] for n in queue.json()["notifications"]] == ["https://wa.me/5511"]
    failed = next(n for n in listed if n["status"] == "failed")
    assert failed["reason"] == "550 mailbox unavailable"
    url = f"/v1/notifications/{failed['id']}/resend"
    assert (await http.post(url, headers=keys["reader"])).status_code == 403
    again = await http.post(url, headers=keys["writer"])
    assert again.status_code == 200 and (again.json()["status"], again.json()["attempts"]) == ("pending", 0)
    sent = next(n for n in listed if n["status"] == "sent")
    conflict = await http.post(f"/v1/notifications/{sent['id']}/resend", headers=keys["writer"])
    assert conflict.status_code == 409 and "only failed or uncertain" in conflict.json()["detail"]
    async with sessions() as session:
        assert (await session.scalars(select(NotificationAttempt.detail))).all() == ["writer"]
    detail = (await http.get(f"/v1/shipments/{sid}", headers=keys["reader"])).json()
    assert [n["channel"] for n in detail["notifications"]] == ["email", "email", "wa_link"]
    bad = await http.get("/v1/notifications", params={"channel": "sms"}, headers=keys["reader"])
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "channel"


async def test_a_wa_me_message_sent_by_hand_is_marked_sent_once(
    http: httpx.AsyncClient, keys: Headers, sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    await history(sessions, vault, clock)
    listed = (await http.get("/v1/notifications", headers=keys["reader"])).json()["notifications"]
    queued, sent = (next(n for n in listed if n["status"] == s) for s in ("queued", "sent"))
    url = f"/v1/notifications/{queued['id']}/sent"
    assert (await http.post(url, headers=keys["reader"])).status_code == 403
    done = await http.post(url, headers=keys["writer"])
    assert done.status_code == 200 and (done.json()["status"], done.json()["sent_at"]) == (
        "sent",
        "2026-11-02T11:00:00Z",
    )
    again = await http.post(url, headers=keys["writer"])
    assert again.status_code == 409 and "not in the wa.me queue" in again.json()["detail"]
    email = await http.post(f"/v1/notifications/{sent['id']}/sent", headers=keys["writer"])
    assert email.status_code == 409 and "email message, sent" in email.json()["detail"]
    assert (await http.post("/v1/notifications/999999/sent", headers=keys["writer"])).status_code == 404
    async with sessions() as session:
        attempts = (await session.execute(select(NotificationAttempt.outcome, NotificationAttempt.detail))).all()
    assert [tuple(a) for a in attempts] == [("sent", "writer")]
