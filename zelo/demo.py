"""``zelo demo``: the sandbox carrier, a few hundred parcels, three simulated weeks, a summary."""

import asyncio
import random
import secrets
import shutil
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.correios.parse import parse
from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel, SandboxState, create_app, scenario_names, serve
from carriers.sandbox.scenarios import load_scenarios
from notifier import dispatcher_of
from notifier.dispatcher import DispatchReport
from notifier.models import Notification
from notifier.vocabulary import Channel, NotificationStatus, Trigger
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.detector import Detected, Incident, detector_of
from tracker.detector.sweep import sweep
from tracker.migrate import upgrade
from tracker.models import Shipment, TrackingEvent
from tracker.polling import PollReport, poller_of
from tracker.polling.accounts import add_account
from tracker.runtime import Runtime
from tracker.shipments import NewShipment, register
from tracker.vault import Vault
from zelo.demo_claims import approve_ready, claims_summary, reactivate_denied
from zelo.features import open_runtime

STEP = timedelta(minutes=30)
SWEEP_EVERY = 2  # steps: the detector's time-based sweep runs every simulated hour
CLAIMS_EVERY = 8  # steps: claims are approved, filed and followed every four simulated hours
BRT = ZoneInfo("America/Sao_Paulo")
PREFIXES = ("SS", "PN", "QB", "OY")
OUTAGE_AT, OUTAGE_FOR = timedelta(days=8, hours=2), timedelta(hours=6)  # the carrier's API answers 503


SEED = 7  # parcels' start times, poll jitter and retry back-off: the same counts on every run of a day


def demo_window(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The simulated clock's start and end: ``days`` back from the real now (to the step), so that what the
    demo leaves behind is in the past when explored afterwards."""
    end = (now or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0)
    end -= timedelta(minutes=end.minute % int(STEP.total_seconds() // 60))
    return end - timedelta(days=days), end


async def _no_wait(_seconds: float) -> None:
    await asyncio.sleep(0)


def _remove_database(database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


async def track_parcels(
    session: AsyncSession, vault: Vault, *, name: str, base_url: str, parcels: Sequence[Parcel], now: datetime
) -> int:
    """A Correios account on the sandbox at ``base_url`` and one shipment per sandbox parcel; the account id."""
    account = await add_account(
        session,
        vault,
        carrier="correios",
        name=name,
        base_url=base_url,
        now=now,
        credentials={"user": name, "access_code": name, "posting_card": "0067599079"},
    )
    items = [
        NewShipment(
            carrier="correios",
            carrier_account_id=account.id,
            tracking_code=p.code,
            external_id=f"PED-{i + 1:05d}",
            order_number=f"{i + 1:05d}",
            shipped_at=p.start,
            service="SEDEX" if i % 3 else "PAC",
            customer_name=f"Cliente {i + 1}",
            customer_email=f"cliente{i + 1}@example.com",
            customer_phone=f"+55119{i + 1:08d}",
            customer_consent=i % 3 != 2,  # a third did not agree to WhatsApp
            declared_value=Decimal(120 + (i * 37) % 400),  # the NF-e's value, which a loss claim is paid on
            shipping_cost=Decimal("18.90") if i % 3 == 0 else Decimal("32.50"),  # PAC, SEDEX
        )
        for i, p in enumerate(parcels)
    ]
    await register(session, items, now)
    return account.id


async def run_demo(
    console: Console, *, shipments: int, days: int, database: Path, now: datetime | None = None
) -> PollReport:
    """The demo; ``now`` (default: the real now) is where its simulated clock ends."""
    _remove_database(database)
    mail = database.with_name(f"{database.stem}-mail")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        env="development",
        secret_key=SecretStr(secrets.token_urlsafe(32)),  # throwaway: the demo's links die with it
        ops_email="operacao@loja-demo.example",  # the store's ops team: alerts arrive as digests
        reply_to="sac@loja-demo.example",  # customers reply, and the carrier answers claims, to the store
        email_folder=str(mail),  # the demo's e-mails are written there as .eml files, not sent
    )
    start, end = demo_window(days, now)
    clock = SimulatedClock(start)
    sandbox = SandboxState(clock=clock)
    outage = (start + OUTAGE_AT, start + OUTAGE_AT + OUTAGE_FOR)
    sandbox.faults.outages.append(outage)
    scenarios = scenario_names()
    rng = random.Random(SEED)
    total, detected, sent = PollReport(), Detected(), DispatchReport()
    shutil.rmtree(mail, ignore_errors=True)

    async with serve(create_app(sandbox)) as base_url, open_runtime(settings, clock) as rt:
        await upgrade(rt.engine)
        parcels = [
            Parcel(
                code=make_code(PREFIXES[i % len(PREFIXES)], 10_000 + i),
                scenario=scenarios[i % len(scenarios)],
                start=start + timedelta(days=rng.randrange(0, 5), hours=rng.randrange(1, 9)),
            )
            for i in range(shipments)
        ]
        sandbox.register(parcels)
        async with rt.sessions() as session, session.begin():
            await track_parcels(session, rt.vault, name="demo-sandbox", base_url=base_url, parcels=parcels, now=start)
        scenario_of = {p.code: p.scenario for p in parcels}

        poller, detector, dispatcher = poller_of(rt), detector_of(rt), dispatcher_of(rt)
        poller.sleep = _no_wait  # retry back-off happens in simulated time: the clock only moves between cycles
        poller.rng, dispatcher.rng = random.Random(SEED), random.Random(SEED)  # jitter: the same on every run
        sla_alerts = rt.jobs["sla_alerts"]  # the notifier's SLA job, as the schedule runs it (zelo/features.py)
        file_claims, follow_claims = rt.jobs["file_claims"], rt.jobs["follow_claims"]
        steps = int((end - start) / STEP)
        with Progress(
            TextColumn("[bold]simulated day {task.fields[day]:>2}/{task.fields[days]}"),
            BarColumn(),
            TextColumn("{task.fields[polled]:>6} polls"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("demo", total=steps, day=0, days=days, polled=0)
            for step in range(steps):
                total.merge(await poller.run_once())
                if step % SWEEP_EVERY == 0:
                    detected.merge(await sweep(rt.sessions, detector, clock.now()))
                await sla_alerts({"runtime": rt})
                if step % CLAIMS_EVERY == 0:  # the store approves what is ready; filing and following run
                    await approve_ready(rt, clock.now())
                    await reactivate_denied(rt, clock.now())
                    await file_claims({"runtime": rt})
                    await follow_claims({"runtime": rt})
                sent.merge(await dispatcher.run_once())
                clock.advance(STEP)
                progress.update(task, advance=1, day=(step + 1) * STEP // timedelta(days=1), polled=total.polled)

        truth = {r.tracking_code: r.status.value for r in parse({"objetos": sandbox.render(list(scenario_of))})}
        await _summary(console, rt, scenario_of, truth, total)
        await _incidents_summary(console, rt, scenario_of, detected)
        await _notifications_summary(console, rt)
        await claims_summary(console, rt)
        example = await _example(rt)
    emails = len(list(mail.glob("*.eml")))
    console.print(f"{emails} e-mails written to {mail}/ as .eml files: open them in any mail client.")
    _what_next(console, database, example)
    return total


async def _summary(
    console: Console, rt: Runtime, scenario_of: dict[str, str], truth: dict[str, str], total: PollReport
) -> None:
    async with rt.sessions() as session:
        rows = (
            await session.execute(select(Shipment.id, Shipment.tracking_code, Shipment.status, Shipment.carrier))
        ).all()
        reasons = (
            await session.execute(
                select(TrackingEvent.shipment_id, TrackingEvent.reason)
                .where(TrackingEvent.reason.is_not(None), TrackingEvent.voided.is_(False))
                .group_by(TrackingEvent.shipment_id, TrackingEvent.reason)
            )
        ).all()
        event_count = await session.scalar(select(func.count()).select_from(TrackingEvent))

    by_id = {r.id: r for r in rows}
    per_status = Counter(r.status for r in rows)
    per_carrier = Counter((r.carrier, r.status) for r in rows)
    wrong: dict[str, Counter[str]] = defaultdict(Counter)
    for shipment_id, reason in reasons:
        wrong[scenario_of[by_id[shipment_id].tracking_code]][str(reason)] += 1
    outcome: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        outcome[scenario_of[r.tracking_code]][r.status] += 1

    console.print(
        f"\n[bold]Zelo demo[/bold]: {len(rows)} shipments, {total.polled} polls, {event_count} events stored, "
        f"{total.failed} failed polls retried later, {sum(total.unknown_codes.values())} unknown codes seen"
    )
    matching = sum(truth[r.tracking_code] == r.status for r in rows)
    console.print(
        f"A {OUTAGE_FOR.total_seconds() / 3600:.0f}-hour carrier outage on day {OUTAGE_AT.days} "
        f"({', '.join(f'{k} {n}' for k, n in total.errors.items()) or 'no errors'}) delayed tracking. "
        f"[bold]{matching}/{len(rows)}[/bold] shipments end in the carrier's own final status."
    )
    table = Table("status", "shipments", title="Shipments per status")
    for status, n in per_status.most_common():
        table.add_row(status, str(n))
    console.print(table)

    table = Table("scenario", "shipments", "final status", "what went wrong (events' reasons)", title="Per scenario")
    for scenario in sorted(outcome):
        statuses = ", ".join(f"{s} {n}" for s, n in outcome[scenario].most_common())
        went_wrong = ", ".join(f"{r} {n}" for r, n in wrong[scenario].most_common()) or "-"
        table.add_row(scenario, str(sum(outcome[scenario].values())), statuses, went_wrong)
    console.print(table)

    table = Table("carrier", "status", "shipments", title="Per carrier")
    for (carrier, status), n in sorted(per_carrier.items()):
        table.add_row(carrier, status, str(n))
    console.print(table)
    if total.unknown_codes:
        console.print("unknown carrier codes: " + ", ".join(f"{c} ×{n}" for c, n in total.unknown_codes.items()))


async def _incidents_summary(console: Console, rt: Runtime, scenario_of: dict[str, str], detected: Detected) -> None:
    """The incidents raised, by kind and carrier, against what each scenario should produce."""
    async with rt.sessions() as session:
        rows = (
            await session.execute(
                select(Shipment.tracking_code, Shipment.carrier, Incident.kind, Incident.status).join(
                    Incident, Incident.shipment_id == Shipment.id, isouter=True
                )
            )
        ).all()
    raised: dict[str, set[str]] = defaultdict(set)
    per_kind: Counter[tuple[str, str, str]] = Counter()
    for code, carrier, kind, status in rows:
        raised[code]  # every shipment, with or without incidents
        if kind is not None:
            raised[code].add(kind)
            per_kind[(kind, carrier, status)] += 1
    table = Table("incident", "carrier", "status", "incidents", title="Incidents raised by the detector")
    for (kind, carrier, status), n in sorted(per_kind.items()):
        table.add_row(kind, carrier, status, str(n))
    console.print(table)

    expected = {name: set(s.incidents) for name, s in load_scenarios().items()}
    table = Table("scenario", "expected incidents", "shipments", "exactly as expected", title="Incidents per scenario")
    exact = 0
    for scenario in sorted(expected):
        codes = [c for c, s in scenario_of.items() if s == scenario]
        ok = sum(raised[c] == expected[scenario] for c in codes)
        exact += ok
        others = Counter(k for c in codes for k in raised[c] ^ expected[scenario])
        note = f" (differs: {', '.join(f'{k} ×{n}' for k, n in others.items())})" if others else ""
        table.add_row(scenario, ", ".join(sorted(expected[scenario])) or "-", str(len(codes)), f"{ok}{note}")
    console.print(table)
    guarded = ", ".join(sorted(detected.guarded_accounts))
    console.print(
        f"[bold]{exact}/{len(scenario_of)}[/bold] shipments raised exactly the incidents their scenario should"
        + (f"; the outage guard held back silence-based incidents for {guarded}." if guarded else ".")
    )


async def _notifications_summary(console: Console, rt: Runtime) -> None:
    """The customer messages and ops alerts the outbox holds, by trigger and channel."""
    async with rt.sessions() as session:
        rows = (
            await session.execute(
                select(Notification.trigger, Notification.channel, Notification.status, func.count()).group_by(
                    Notification.trigger, Notification.channel, Notification.status
                )
            )
        ).all()
        alerts, emails = (
            await session.execute(
                select(func.count(), func.count(Notification.provider_id.distinct())).where(
                    Notification.channel == Channel.OPS_EMAIL.value, Notification.status == "sent"
                )
            )
        ).one()
    table = Table(
        "trigger", "channel", "status", "messages", title="Notifications (one per status change, never per checkpoint)"
    )
    for trigger, channel, status, n in sorted(rows):
        table.add_row(trigger, channel, status, str(n))
    console.print(table)
    every = dispatcher_of(rt).policy.digest.get(Channel.OPS_EMAIL)
    per = f"a digest per {every.total_seconds() / 60:g}-minute round" if every else "no digest"
    console.print(f"{alerts} ops alerts reached the ops team in {emails} e-mails ({per}).")
    async with rt.sessions() as session:
        why = (
            await session.execute(
                select(Notification.reason, func.count())
                .where(Notification.status == NotificationStatus.SUPPRESSED.value)
                .group_by(Notification.reason)
                .order_by(func.count().desc(), Notification.reason)
            )
        ).all()
    console.print(
        "wa_link: WhatsApp messages (only for customers who agreed to WhatsApp) queued as wa.me click-to-send "
        "links for ops to send by hand, since the demo has no WhatsApp Cloud API token. suppressed: not sent, "
        "by policy (opt-out, no consent, the daily cap per shipment, a trigger switched off)"
        + (": " + "; ".join(f"{reason} ×{n}" for reason, n in why) if why else "")
        + "."
    )


async def _example(rt: Runtime) -> tuple[str, str] | None:
    """A customer message and a tracking code to preview it on: the newest incident that messages customers."""
    async with rt.sessions() as session:
        found = (
            await session.execute(
                select(Incident.kind, Shipment.tracking_code)
                .join(Shipment, Incident.shipment_id == Shipment.id)
                .where(Incident.kind.in_([t.value for t in Trigger]))
                .order_by(Incident.id.desc())
                .limit(1)
            )
        ).first()
    return None if found is None else (found.kind, found.tracking_code)


def _what_next(console: Console, database: Path, example: tuple[str, str] | None) -> None:
    """Commands that work as printed, from the repository, on what the demo left behind."""
    url = f"sqlite+aiosqlite:///{database}"
    lines = [
        f"export ZELO_DATABASE_URL={url}",
        ".venv/bin/zelo incidents list --status open --limit 20",
        ".venv/bin/zelo incidents list --overdue",
    ]
    if example is not None:
        trigger, code = example
        lines.append(f".venv/bin/zelo notify preview {trigger} --shipment {code} --out {trigger}.html")
    lines += [
        ".venv/bin/zelo apikeys create --name me --scopes read",
        "ZELO_ENV=development .venv/bin/zelo api    # then http://127.0.0.1:8000/docs, Authorize with the key",
    ]
    console.print("\n[bold]What next[/bold] (from this directory):")
    for line in lines:
        console.print(f"  {line}", markup=False, highlight=False)
