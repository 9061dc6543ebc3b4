"""The ``zelo`` command line: the process-wide commands here, each feature's commands from its package."""

from pathlib import Path
from typing import Annotated

import typer

from carriers.cli import app as carriers_app
from notifier.cli import app as notify_app
from tracker import logs
from tracker.apikeys_cli import app as apikeys_app
from tracker.commands import console, open_runtime, run, serving_settings, settings
from tracker.detector.cli import detect, incidents_app
from tracker.ingest.cli import import_
from tracker.migrate import upgrade
from tracker.polling import poller_of
from tracker.polling.cli import accounts_app, print_report
from zelo import features

app = typer.Typer(help="Zelo: shipment monitoring and carrier claims.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(carriers_app, name="carriers")
app.add_typer(accounts_app, name="accounts")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(incidents_app, name="incidents")
app.command()(detect)
app.add_typer(notify_app, name="notify")


@app.callback()
def main(ctx: typer.Context) -> None:
    """Zelo: shipment monitoring and carrier claims."""
    ctx.obj = features.open_runtime  # every command's runtime has every feature wired


@app.command()
def demo(
    shipments: Annotated[int, typer.Option(help="Demo shipments to track.")] = 300,
    days: Annotated[int, typer.Option(help="Simulated days of parcel life.")] = 21,
    database: Annotated[Path, typer.Option(help="SQLite file the demo (re)creates.")] = Path("zelo-demo.db"),
) -> None:
    """Track demo parcels through every sandbox scenario on a simulated clock, then summarize."""
    from zelo.demo import run_demo

    logs.configure("error")
    run(run_demo(console, shipments=shipments, days=days, database=database))


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations to ZELO_DATABASE_URL."""
    loaded = settings()

    async def go() -> None:
        async with open_runtime(ctx, loaded) as rt:
            await upgrade(rt.engine, revision)

    run(go())
    console.print(f"database at {revision}")


@app.command()
def poll(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle now and report.")] = False,
) -> None:
    """Poll carriers for every due shipment (with --once: one cycle; else: the embedded scheduler loop)."""
    loaded = settings() if once else serving_settings()  # the loop also sends the customers' links

    async def go() -> None:
        async with open_runtime(ctx, loaded) as rt:
            if not once:
                from scheduler import run_embedded

                await run_embedded(rt, features.SCHEDULE)
                return
            print_report(await poller_of(rt).run_once())

    run(go())


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Processes (each with its own group commit).")] = 1,
) -> None:
    """Serve the HTTP API (ERP webhook, shipments) with uvicorn; OpenAPI at /openapi.json, docs at /docs."""
    import structlog
    import uvicorn

    from tracker.access import startup_fields
    from tracker.server import BoundedHttpTools

    loaded = serving_settings(listens_on=host)  # fail fast on bad configuration, before uvicorn starts
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


app.command("import")(import_)
