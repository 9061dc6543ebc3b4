"""The ``zelo`` command line: the process-wide commands here, each feature's commands from its package.

Start-up is kept short (``zelo --help`` imports no database driver, web framework or template engine): a
feature's commands are loaded when used (``LAZY``), and every command imports what it needs inside it."""

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from tracker.commands import (
    console,
    fail,
    open_runtime,
    quiet_types,
    require_schema,
    run,
    serving_settings,
    settings,
)

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from tracker.clock import Clock
    from tracker.config import Settings
    from tracker.runtime import Runtime


class Lazy(NamedTuple):
    target: str  # "module:attribute": a Typer (a command group) or a function (one command)
    help: str  # its one-line help in `zelo --help` (a test checks it is the command's own)


LAZY = {
    "detect": Lazy(
        "tracker.detector.cli:detect",
        "Run the detector's time-based sweep (delays, silences, pickup deadlines): with --once, now; else every "
        "15 minutes until stopped, as `zelo poll` runs it with the rest of the schedule.",
    ),
    "import": Lazy(
        "tracker.ingest.cli:import_",
        "Create or update shipments from a CSV file (same checks as the ERP webhook); re-importing is safe.",
    ),
    "carriers": Lazy("carriers.cli:app", "Carrier adapters."),
    "accounts": Lazy("tracker.polling.cli:accounts_app", "Carrier accounts (one per contract)."),
    "apikeys": Lazy("tracker.apikeys_cli:app", "API keys for the REST API."),
    "incidents": Lazy("tracker.detector.cli:incidents_app", "Incidents (ocorrências) raised by the detector."),
    "notify": Lazy("notifier.cli:app", "Customer messages and ops alerts."),
    "scorecard": Lazy(
        "tracker.metrics.cli:scorecard",
        "Carriers compared over a period (ship days, Brasília time): on time, incidents, transit, TMR, claims.",
    ),
    "claims": Lazy("claims.cli:claims_app", "Carrier claims: deadlines, packets, filing and the carrier's answers."),
    "users": Lazy("dashboard.cli:users_app", "People who sign in to the dashboard."),
}


def load(name: str) -> Any:
    """The click command of the feature command ``name`` (importing its module)."""
    module, attribute = LAZY[name].target.split(":")
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: Any = typer.main.get_group(target)
    else:
        one = typer.Typer(add_completion=False)
        one.command(name)(target)
        command = typer.main.get_command(one)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The root group: loads a feature's commands only when they are run (or their own help is asked)."""

    listing = False  # while the root's own help is printed: a stub with the one-line help stands in

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in LAZY if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any | None:
        if cmd_name in self.commands or cmd_name not in LAZY:
            return super().get_command(ctx, cmd_name)
        if self.listing:
            return TyperCommand(cmd_name, help=LAZY[cmd_name].help)
        self.commands[cmd_name] = load(cmd_name)
        return self.commands[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


quiet_types()
app = typer.Typer(help="Zelo: shipment monitoring and carrier claims.", no_args_is_help=True, cls=LazyGroup)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def open_wired_runtime(settings: "Settings", clock: "Clock | None" = None) -> "AbstractAsyncContextManager[Runtime]":
    from zelo import features

    return features.open_runtime(settings, clock)


@app.callback()
def main(ctx: typer.Context) -> None:
    """Zelo: shipment monitoring and carrier claims."""
    ctx.obj = open_wired_runtime  # every command's runtime has every feature wired


@app.command()
def demo(
    shipments: Annotated[int, typer.Option(metavar="N", help="Demo shipments to track.")] = 300,
    days: Annotated[int, typer.Option(metavar="D", help="Simulated days of parcel life.")] = 21,
    database: Annotated[Path, typer.Option(metavar="FILE", help="SQLite file the demo (re)creates.")] = Path(
        "zelo-demo.db"
    ),
) -> None:
    """Track demo parcels through every sandbox scenario on a simulated clock, then summarize."""
    from tracker import logs
    from zelo.demo import run_demo

    logs.configure("error")
    run(run_demo(console, shipments=shipments, days=days, database=database))


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations to ZELO_DATABASE_URL (creating a SQLite file if there is none)."""
    from tracker.migrate import upgrade

    loaded = settings()

    async def go() -> None:
        async with open_runtime(ctx, loaded, migrated=False) as rt:
            await upgrade(rt.engine, revision)

    run(go())
    console.print(f"database at {revision}")


@app.command()
def poll(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle now and report.")] = False,
    shipment: Annotated[
        str | None,
        typer.Option(
            metavar="ID|CODE",
            help="Poll this one shipment now (its id, tracking code or external id), due or not, and report.",
        ),
    ] = None,
) -> None:
    """Poll carriers for every due shipment (with --once: one cycle; else: the embedded scheduler loop)."""
    from tracker.polling.cli import print_refresh, print_report

    loaded = settings() if once or shipment else serving_settings()  # the loop also sends the customers' links

    async def go() -> Any:
        from tracker.polling import NotRefreshable, poller_of, refresh_shipment
        from tracker.runtime import freeze_startup_heap
        from tracker.shipments import find_shipment

        async with open_runtime(ctx, loaded) as rt:
            if shipment is not None:
                async with rt.sessions() as session:
                    found = await find_shipment(session, shipment)
                if found is None:
                    raise fail(f"no shipment with id, tracking code or external id {shipment!r}")
                try:
                    return await refresh_shipment(rt, found.id)
                except NotRefreshable as exc:
                    raise fail(str(exc)) from None
            freeze_startup_heap(batches=True)  # a poll cycle's chunks would otherwise make full collections walk it
            if once:
                return await poller_of(rt).run_once()
            from scheduler import run_embedded
            from zelo import features

            await run_embedded(rt, features.SCHEDULE)

    result = run(go())
    if shipment is not None:
        print_refresh(result)
    elif once:
        print_report(result)


@app.command()
def api(
    host: Annotated[str, typer.Option(metavar="HOST", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(metavar="N", help="Processes (each with its own group commit).")] = 1,
) -> None:
    """Serve the HTTP API (ERP webhook, shipments) with uvicorn; OpenAPI at /openapi.json, docs at /docs."""
    import structlog
    import uvicorn

    from tracker import logs
    from tracker.access import startup_fields
    from tracker.server import BoundedHttpTools

    loaded = serving_settings(listens_on=host)  # fail fast on bad configuration, before uvicorn starts
    require_schema(loaded)  # and on a database that is missing or not migrated
    logs.configure(loaded.log_level, loaded.log_json)
    structlog.get_logger("zelo.api").info("api_starting", **startup_fields(loaded, host, port, workers))
    uvicorn.run(
        "zelo.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=BoundedHttpTools,  # a request's head past 32 KiB is a 431
        log_level="warning",
        access_log=False,
    )


@app.command()
def worker(
    ctx: typer.Context,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 0 if a worker reported itself healthy in the last 31 s, else 1.")
    ] = False,
) -> None:
    """Run an arq worker (scaled mode, ZELO_REDIS_URL set): it runs the scheduled jobs any worker queued, and
    queues them on time itself. Start as many as needed, on as many machines; each reads the same queue."""
    import asyncio

    import arq

    from tracker import logs
    from tracker.queue import Unreachable, healthy

    loaded = serving_settings()  # workers send the customers' links
    if not loaded.redis_url:
        raise fail("ZELO_REDIS_URL is not set: a worker needs Redis (embedded mode runs the jobs in `zelo poll`)")
    if check:
        try:
            raise typer.Exit(0 if asyncio.run(healthy(loaded.redis_url)) else 1)
        except Unreachable as exc:
            raise fail(str(exc)) from None
    require_schema(loaded)
    logs.configure(loaded.log_level, loaded.log_json)
    from scheduler import worker_settings
    from zelo import features

    arq.run_worker(worker_settings(features.SCHEDULE, loaded, lambda s: open_runtime(ctx, s)))
