"""``zelo demo``: the sandbox playing five carriers (two of them pushing to Zelo's door), a few hundred parcels,
three simulated weeks, a summary."""

import asyncio
import random
import secrets
import shutil
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select, update

from carriers.base.registry import get as get_carrier
from carriers.sandbox import SandboxState, create_app, serve
from carriers.sandbox.accounts import credentials, expected_incidents
from carriers.sandbox.pushes import PushCounters, Pusher
from carriers.sandbox.scenarios import load_scenarios
from carriers.sandbox.voices import speakers
from notifier import dispatcher_of
from notifier.dispatcher import DispatchReport
from notifier.models import Notification
from notifier.vocabulary import Channel, NotificationStatus, Trigger
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.detector import Detected, Incident, detector_of
from tracker.detector.sweep import sweep
from tracker.metrics import Query, scorecard
from tracker.metrics.cli import print_scorecard
from tracker.migrate import upgrade
from tracker.models import CarrierAccount, Shipment, TrackingEvent
from tracker.polling import PollReport, account_config, poller_of
from tracker.pushes import applier_of
from tracker.runtime import Runtime
from zelo import demo_carriers
from zelo.app import create_app as create_zelo_app
from zelo.demo_carriers import DemoCarrier, track_parcels
from zelo.demo_claims import approve_ready, claims_summary, reactivate_denied
from zelo.features import open_runtime

STEP = timedelta(minutes=30)
SWEEP_EVERY = 2  # steps: the detector's time-based sweep runs every simulated hour
CLAIMS_EVERY = 8  # steps: claims are approved, filed and followed every four simulated hours
BRT = ZoneInfo("America/Sao_Paulo")
OUTAGE_AT, OUTAGE_FOR = timedelta(days=8, hours=2), timedelta(hours=6)  # every carrier's API answers 503


SEED = 7  # parcels' start times, poll jitter and retry back-off: the same counts on every run of a day
ACCOUNT = "demo"  # the carrier accounts are demo-<carrier>
WAREHOUSE = "01310100"  # the demo store ships from São Paulo (every account's default origin)


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
        # one carrier call at a time: the sandbox's injected 503s fall on a carrier's Nth call as it arrives, so
        # calls racing each other (a new connection against a kept one) would make two runs of a day differ
        poll_concurrency=1,
    )
    start, end = demo_window(days, now)
    clock = SimulatedClock(start)
    carriers = demo_carriers.load(rng=random.Random(SEED))
    parcels = demo_carriers.plan(carriers, shipments, start, random.Random(SEED))
    sandbox = SandboxState(clock=clock)
    sandbox.faults.outages.append((start + OUTAGE_AT, start + OUTAGE_AT + OUTAGE_FOR))
    sandbox.faults.error_rate = {c.name: c.error_rate for c in carriers if c.error_rate}
    sandbox.register(parcels)
    scenario_of = {p.code: p.scenario for p in parcels}
    total, detected, sent, pushed = PollReport(), Detected(), DispatchReport(), PushCounters()
    shutil.rmtree(mail, ignore_errors=True)

    async with serve(create_app(sandbox)) as base_url, open_runtime(settings, clock) as rt:
        await upgrade(rt.engine)
        async with rt.sessions() as session, session.begin():
            accounts = await track_parcels(
                session,
                rt.vault,
                name=ACCOUNT,
                base_url=base_url,
                parcels=parcels,
                now=start,
                services={c.name: c.services for c in carriers},
            )
            await session.execute(update(CarrierAccount).values(origin_postal_code=WAREHOUSE, origin_state="SP"))
        door = create_zelo_app(settings.model_copy(update={"log_level": "warning"}), clock)  # the pushes' door
        async with (
            door.router.lifespan_context(door),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=door), base_url="http://zelo") as to_door,
        ):
            pusher = Pusher(sandbox, speakers())
            for carrier in accounts:
                if get_carrier(carrier).pushes:  # the sandbox sends this carrier's webhooks to Zelo's door
                    pusher.target(carrier, f"http://zelo/v1/webhooks/carriers/{carrier}", credentials(carrier, ACCOUNT))
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
                    for key, n in (await pusher.flush(to_door)).items():
                        setattr(pushed, key, getattr(pushed, key) + n)
                    await applier_of(door.state.runtime).settled()  # what the door took is stored
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

        sandbox.faults.outages.clear()
        sandbox.faults.error_rate.clear()
        truth = await _carriers_say(rt)
        await _summary(console, rt, scenario_of, truth, total)
        await _carriers_summary(console, rt, carriers, truth, pushed)
        await _incidents_summary(console, rt, scenario_of, detected)
        await _notifications_summary(console, rt)
        await claims_summary(console, rt)
        period = await _scorecard_summary(console, rt, start, end)
        example = await _example(rt)
    emails = len(list(mail.glob("*.eml")))
    console.print(f"{emails} e-mails written to {mail}/ as .eml files: open them in any mail client.")
    _what_next(console, database, example, period)
    return total


async def _scorecard_summary(console: Console, rt: Runtime, start: datetime, end: datetime) -> tuple[date, date]:
    """The rollup job's run, then the carriers' scorecard over the demo's days."""
    await rt.jobs["rollup_metrics"]({"runtime": rt})
    first, last = start.astimezone(BRT).date(), end.astimezone(BRT).date()
    q = Query(first, last, ("carrier",))
    async with rt.sessions() as session:
        rows = await scorecard(session, q)
    console.print("\n[bold]The carriers' scorecard[/bold] (GET /v1/scorecards, zelo scorecard):")
    print_scorecard(console, list(q.columns), rows, first, last)
    return first, last


async def _carriers_say(rt: Runtime) -> dict[str, str]:
    """Each shipment's status as its carrier's API gives it now (through the same adapters, asked afresh)."""
    truth: dict[str, str] = {}
    async with rt.sessions() as session:
        accounts = list(await session.scalars(select(CarrierAccount)))
        codes = (await session.execute(select(Shipment.carrier_account_id, Shipment.tracking_code))).all()
    for account in accounts:
        tracker = get_carrier(account.carrier).make_tracker(
            account_config(account, rt.vault), rt.http, rt.clock.now, _no_wait
        )
        mine = [code for account_id, code in codes if account_id == account.id]
        for i in range(0, len(mine), tracker.batch_limit):
            truth |= {r.tracking_code: r.status.value for r in await tracker.track(mine[i : i + tracker.batch_limit])}
    return truth


async def _carriers_summary(
    console: Console,
    rt: Runtime,
    carriers: Sequence[DemoCarrier],
    truth: dict[str, str],
    pushed: PushCounters,
) -> None:
    """Each carrier side by side: what it was made to do, and what Zelo made of it."""
    async with rt.sessions() as session:
        shipments = (
            await session.execute(
                select(Shipment.id, Shipment.carrier, Shipment.tracking_code, Shipment.status, Shipment.pushed_at)
            )
        ).all()
        incidents = Counter(
            carrier
            for (carrier,) in (
                await session.execute(select(Shipment.carrier).join(Incident, Incident.shipment_id == Shipment.id))
            ).all()
        )
    console.print("\nThe carriers: " + ", ".join(f"{c.name} ({c.behaviour})" for c in carriers) + ".")
    table = Table(
        "carrier", "shipments", "delivered", "as the carrier says", "incidents", "by push", title="Per carrier"
    )
    for c in carriers:
        mine = [s for s in shipments if s.carrier == c.name]
        if not mine:
            continue
        agree = sum(truth.get(s.tracking_code) == s.status for s in mine)
        by_push = sum(s.pushed_at is not None for s in mine)
        table.add_row(
            c.name,
            str(len(mine)),
            str(sum(s.status == "delivered" for s in mine)),
            f"{agree}/{len(mine)}",
            str(incidents[c.name]),
            str(by_push) if get_carrier(c.name).pushes else "-",
        )
    console.print(table)
    console.print(
        f"Pushes: {pushed.acknowledged} webhooks acknowledged by Zelo's door"
        + (f", {pushed.refused} refused and sent again" if pushed.refused else "")
        + "; pushed shipments are still polled twice a day, so a lost push only delays an update."
    )


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
    matching = sum(truth.get(r.tracking_code) == r.status for r in rows)
    console.print(
        f"A {OUTAGE_FOR.total_seconds() / 3600:.0f}-hour outage of every carrier's API on day {OUTAGE_AT.days} and "
        f"a flaky API ({', '.join(f'{k} {n}' for k, n in total.errors.items()) or 'no errors'}) delayed tracking. "
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

    carrier_of = {code: carrier for code, carrier, _, _ in rows}
    expected = {code: set(expected_incidents(carrier_of[code], s)) for code, s in scenario_of.items()}
    table = Table(
        "scenario",
        "expected incidents (as Correios shows it)",
        "shipments",
        "exactly as expected (as each carrier shows it)",
        title="Incidents per scenario",
    )
    exact = 0
    for scenario, plan in sorted(load_scenarios().items()):
        codes = [c for c, s in scenario_of.items() if s == scenario]
        if not codes:
            continue
        ok = sum(raised[c] == expected[c] for c in codes)
        exact += ok
        others = Counter(k for c in codes for k in raised[c] ^ expected[c])
        note = f" (differs: {', '.join(f'{k} ×{n}' for k, n in others.items())})" if others else ""
        table.add_row(scenario, ", ".join(sorted(plan.incidents)) or "-", str(len(codes)), f"{ok}{note}")
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


def _what_next(console: Console, database: Path, example: tuple[str, str] | None, period: tuple[date, date]) -> None:
    """Commands that work as printed, from the repository, on what the demo left behind."""
    url = f"sqlite+aiosqlite:///{database}"
    lines = [
        f"export ZELO_DATABASE_URL={url}",
        ".venv/bin/zelo incidents list --status open --limit 20",
        ".venv/bin/zelo incidents list --overdue",
        f".venv/bin/zelo scorecard --from {period[0]} --to {period[1]} --group-by carrier,destination_state",
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
