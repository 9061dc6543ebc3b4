"""The ``zelo`` command line."""

import asyncio
import json
from collections.abc import Coroutine
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from carriers.base import CarrierError, TrackingResult
from carriers.base.registry import UnknownCarrier, carriers
from carriers.base.registry import get as get_carrier
from notifier.vocabulary import Channel, Trigger
from tracker import logs
from tracker.accounts import AccountError, add_account, list_accounts
from tracker.config import Settings, get_settings
from tracker.detector.cli import detect, incidents_app
from tracker.migrate import upgrade
from tracker.runtime import open_runtime

if TYPE_CHECKING:
    from notifier.render import Rendered

T = TypeVar("T")
app = typer.Typer(help="Zelo: shipment monitoring and carrier claims.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
carriers_app = typer.Typer(help="Carrier adapters.", no_args_is_help=True)
accounts_app = typer.Typer(help="Carrier accounts (one per contract).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(carriers_app, name="carriers")
app.add_typer(accounts_app, name="accounts")
apikeys_app = typer.Typer(help="API keys for the REST API.", no_args_is_help=True)
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(incidents_app, name="incidents")
app.command()(detect)
notify_app = typer.Typer(help="Customer messages and ops alerts.", no_args_is_help=True)
app.add_typer(notify_app, name="notify")
console = Console(soft_wrap=True)  # messages stay on one line: easy to grep, never cut


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _settings() -> Settings:
    try:
        settings = get_settings()
    except ValueError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    logs.configure(settings.log_level, settings.log_json)
    return settings


@app.command()
def demo(
    shipments: Annotated[int, typer.Option(help="Demo shipments to track.")] = 300,
    days: Annotated[int, typer.Option(help="Simulated days of parcel life.")] = 21,
    database: Annotated[Path, typer.Option(help="SQLite file the demo (re)creates.")] = Path("zelo-demo.db"),
) -> None:
    """Track demo parcels through every sandbox scenario on a simulated clock, then summarize."""
    from tracker.demo import run_demo

    logs.configure("error")
    _run(run_demo(console, shipments=shipments, days=days, database=database))


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations to ZELO_DATABASE_URL."""
    settings = _settings()

    async def go() -> None:
        async with open_runtime(settings) as rt:
            await upgrade(rt.engine, revision)

    _run(go())
    console.print(f"database at {revision}")


@carriers_app.command("list")
def carriers_list() -> None:
    """The carriers this installation can track."""
    table = Table("name", "title", "credentials", "default base URL")
    for spec in carriers().values():
        table.add_row(spec.name, spec.title, ", ".join(spec.credential_fields), spec.default_base_url)
    console.print(table)


@carriers_app.command("parse")
def carriers_parse(carrier: str, file: Path) -> None:
    """Normalize a raw carrier tracking response read from FILE and print it as JSON."""
    try:
        spec = get_carrier(carrier)
        payload = json.loads(file.read_text(encoding="utf-8"))
        results = spec.parse(payload)
    except (UnknownCarrier, CarrierError, OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"results": [result_json(r) for r in results]}, ensure_ascii=False, indent=2))


def result_json(result: TrackingResult) -> dict[str, Any]:
    """The normalized JSON contract of ``zelo carriers parse``: live events only, oldest first."""
    error = result.error
    return {
        "tracking_code": result.tracking_code,
        "status": result.status.value,
        "expected_delivery": result.expected_delivery.isoformat() if result.expected_delivery else None,
        "error": {"code": error.code, "message": error.message} if error else None,
        "events": [
            {
                "occurred_at": e.occurred_at.isoformat(),
                "code": e.code,
                "status": e.status.value,
                "reason": e.reason.value if e.reason else None,
                "description": e.description,
                "location": e.location,
            }
            for e in result.live_events
        ],
    }


@accounts_app.command("add")
def accounts_add(
    carrier: str,
    name: Annotated[str, typer.Option(help="A name for this contract, e.g. 'loja-sp'.")],
    user: Annotated[str, typer.Option(help="CWS user (CNPJ or login).")],
    access_code: Annotated[str, typer.Option(help="CWS access code (código de acesso).")],
    posting_card: Annotated[str, typer.Option(help="Posting card number (cartão de postagem).")],
    base_url: Annotated[str | None, typer.Option(help="API base URL; default: the carrier's production.")] = None,
) -> None:
    """Add a carrier account; its credentials are stored encrypted."""
    settings = _settings()
    credentials = {"user": user, "access_code": access_code, "posting_card": posting_card}

    async def go() -> int:
        async with open_runtime(settings) as rt, rt.sessions() as session, session.begin():
            account = await add_account(
                session,
                rt.vault,
                carrier=carrier,
                name=name,
                credentials=credentials,
                base_url=base_url,
                now=rt.clock.now(),
            )
            return account.id

    try:
        account_id = _run(go())
    except (AccountError, UnknownCarrier) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"account {name!r} added (id {account_id})")


@accounts_app.command("list")
def accounts_list() -> None:
    """Carrier accounts and the state of their API circuit."""
    settings = _settings()

    async def go() -> list[Any]:
        async with open_runtime(settings) as rt, rt.sessions() as session:
            return await list_accounts(session)

    table = Table("id", "carrier", "name", "base URL", "failures", "circuit open until")
    for a in _run(go()):
        table.add_row(
            str(a.id),
            a.carrier,
            a.name,
            a.base_url,
            str(a.consecutive_failures),
            str(a.circuit_open_until or "-"),
        )
    console.print(table)


@app.command()
def poll(once: Annotated[bool, typer.Option("--once", help="Run one cycle now and report.")] = False) -> None:
    """Poll carriers for every due shipment (with --once: one cycle; else: the embedded scheduler loop)."""
    settings = _settings()

    async def go() -> None:
        async with open_runtime(settings) as rt:
            if not once:
                from scheduler import run_embedded

                await run_embedded(rt)
                return
            report = await rt.poller().run_once()
            console.print(
                f"polled {report.polled} shipments: {report.changed} changed, {report.events} events written, "
                f"{report.failed} failed"
            )
            for (old, new), n in sorted(report.transitions.items()):
                console.print(f"  {old} → {new}: {n}")
            for reason, n in sorted(report.errors.items()):
                console.print(f"  [yellow]error[/yellow] {reason}: {n}")
            for why, n in sorted(report.stopped.items()):
                console.print(f"  stopped polling ({why}): {n}")
            for code, n in sorted(report.unknown_codes.items()):
                console.print(f"  [yellow]unknown carrier code[/yellow] {code}: {n}")
            for name in sorted(report.skipped_accounts):
                console.print(f"  [yellow]circuit open, skipped account[/yellow] {name}")

    _run(go())


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Processes (each with its own group commit).")] = 1,
) -> None:
    """Serve the HTTP API (ERP webhook, shipments) with uvicorn; OpenAPI at /openapi.json, docs at /docs."""
    import uvicorn

    _settings()  # fail fast on bad configuration, before uvicorn starts
    uvicorn.run(
        "tracker.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@apikeys_app.command("create")
def apikeys_create(
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. 'erp'.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: read, write, admin.")] = "read",
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from tracker.ingest.apikeys import create_key, parse_scopes

    settings = _settings()
    try:
        wanted = parse_scopes(scopes)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None

    async def go() -> str:
        async with open_runtime(settings) as rt, rt.sessions() as session, session.begin():
            key, _ = await create_key(session, name=name, scopes=wanted, now=rt.clock.now())
            return key

    key = _run(go())
    console.print(f"API key for {name!r} ({', '.join(wanted)}); store it now, it is not shown again:")
    typer.echo(key)


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Create or update shipments from a CSV file (same checks as the ERP webhook); re-importing is safe."""
    from rich.progress import Progress

    from tracker.ingest.csv_import import import_csv

    settings = _settings()
    with file.open(encoding="utf-8-sig") as f:
        lines = max(0, sum(1 for _ in f) - 1)

    async def go() -> Any:
        async with open_runtime(settings) as rt:
            with Progress(console=console) as progress:
                task = progress.add_task(f"importing {file.name}", total=lines)
                return await import_csv(rt.sessions, rt.clock, file, lambda n: progress.advance(task, n))

    report = _run(go())
    console.print(", ".join(f"{k} {v}" for k, v in report.counts.items()))
    for r in report.rejected:
        for e in r.errors:
            console.print(f"  line {r.index}: [red]{e.field}[/red]: {e.message}")
    if report.rejected:
        raise typer.Exit(1)


class PreviewChannel(StrEnum):
    EMAIL = "email"
    WHATSAPP = "whatsapp"


@notify_app.command("dispatch")
def notify_dispatch(
    sla: Annotated[bool, typer.Option("--sla/--no-sla", help="Also queue ops alerts for SLAs about to pass.")] = True,
) -> None:
    """Deliver every notification due now, once, and report."""
    from notifier.alerts import queue_sla_alerts

    settings = _settings()

    async def go() -> Any:
        async with open_runtime(settings) as rt:
            if sla:
                async with rt.sessions() as session, session.begin():
                    await queue_sla_alerts(session, rt.outbox, rt.clock.now())
            return await rt.dispatcher().run_once()

    report = _run(go())
    if not report.outcomes:
        console.print("nothing due")
    for (channel, outcome), n in sorted(report.outcomes.items()):
        console.print(f"  {channel}: {outcome} {n}")


@notify_app.command("preview")
def notify_preview(
    trigger: Annotated[Trigger, typer.Argument(help="The message to render.")],
    shipment: Annotated[int, typer.Option("--shipment", help="The shipment whose data fills it.")],
    channel: Annotated[PreviewChannel, typer.Option(help="E-mail (ops alerts: the ops e-mail) or WhatsApp.")] = (
        PreviewChannel.EMAIL
    ),
) -> None:
    """Render a message with a shipment's data and plausible facts, as the customer (or ops) would read it."""
    from notifier.checkin import checkin_links
    from notifier.context import OPS, message_context, preview_facts
    from notifier.render import RenderError, render

    settings = _settings()
    if trigger in OPS and channel is PreviewChannel.WHATSAPP:
        console.print("[red]error:[/red] ops alerts go by e-mail or webhook; use --channel email")
        raise typer.Exit(2)
    target = Channel.OPS_EMAIL if trigger in OPS else Channel(channel.value)

    async def go() -> "Rendered":
        async with open_runtime(settings) as rt, rt.sessions() as session:
            now = rt.clock.now()
            row, facts = await preview_facts(session, shipment, trigger, now)
        context = message_context(
            row, facts, settings=settings, links=checkin_links(shipment, settings=settings, now=now)
        )
        return render(trigger, target, context, templates_dir=settings.notify_templates_dir)

    try:
        rendered = _run(go())
    except (LookupError, RenderError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    if rendered.subject is not None:
        console.print(f"Subject: {rendered.subject}", markup=False, highlight=False)
    console.print(f"\n{rendered.text}\n", markup=False, highlight=False)
    if rendered.html is not None:
        console.print(f"HTML: {len(rendered.html)} characters", markup=False, highlight=False)
