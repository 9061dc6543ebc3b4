"""``zelo accounts`` (carrier contracts and their circuit) and the reports of ``zelo poll``."""

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tracker.commands import console, fail, open_runtime, run, settings

if TYPE_CHECKING:
    from tracker.polling.refresh import Refreshed
    from tracker.polling.report import PollReport

ACCESS_CODE_ENV = "ZELO_CARRIER_ACCESS_CODE"
accounts_app = typer.Typer(help="Carrier accounts (one per contract).", no_args_is_help=True)


@accounts_app.command("add")
def accounts_add(
    ctx: typer.Context,
    carrier: str,
    name: Annotated[str, typer.Option(metavar="NAME", help="A name for this contract, e.g. 'loja-sp'.")],
    user: Annotated[str, typer.Option(metavar="USER", help="CWS user (CNPJ or login).")],
    posting_card: Annotated[str, typer.Option(metavar="CARD", help="Posting card number (cartão de postagem).")],
    access_code: Annotated[
        str,
        typer.Option(
            metavar="CODE",
            envvar=ACCESS_CODE_ENV,
            show_envvar=True,
            prompt="CWS access code (código de acesso)",
            hide_input=True,
            help="CWS access code (código de acesso): asked for without echo when neither this option nor the "
            "environment variable gives it (the option is visible to other users of the machine).",
        ),
    ],
    base_url: Annotated[
        str | None, typer.Option(metavar="URL", help="API base URL; default: the carrier's production.")
    ] = None,
) -> None:
    """Add a carrier account; its credentials are stored encrypted."""
    from carriers.base.registry import UnknownCarrier
    from tracker.polling.accounts import AccountError, add_account, release_held

    loaded = settings()
    if not access_code.strip():
        raise fail(f"the access code is empty; give it at the prompt, in {ACCESS_CODE_ENV} or with --access-code")
    credentials = {"user": user, "access_code": access_code, "posting_card": posting_card}

    async def go() -> tuple[int, int]:
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session, session.begin():
            account = await add_account(
                session,
                rt.vault,
                carrier=carrier,
                name=name,
                credentials=credentials,
                base_url=base_url,
                now=rt.clock.now(),
            )
            return account.id, await release_held(session, rt.clock.now())

    try:
        account_id, released = run(go())
    except (AccountError, UnknownCarrier) as exc:
        raise fail(str(exc)) from None
    console.print(f"account {name!r} added (id {account_id})")
    if released:
        console.print(f"{released} held shipments released: they are polled from now on")


@accounts_app.command("list")
def accounts_list(ctx: typer.Context) -> None:
    """Carrier accounts and the state of their API circuit."""
    from tracker.polling.accounts import list_accounts

    loaded = settings()

    async def go() -> list[Any]:
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session:
            return await list_accounts(session)

    table = Table("id", "carrier", "name", "base URL", "failures", "circuit open until")
    for a in run(go()):
        table.add_row(
            str(a.id),
            a.carrier,
            a.name,
            a.base_url,
            str(a.consecutive_failures),
            str(a.circuit_open_until or "-"),
        )
    console.print(table)


def print_report(report: "PollReport") -> None:
    """What one poll cycle did, as ``zelo poll --once`` says it."""
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
    if report.released:
        console.print(f"  held shipments released (their carrier account now exists): {report.released}")
    for name in sorted(report.skipped_accounts):
        console.print(f"  [yellow]circuit open, skipped account[/yellow] {name}")


def print_refresh(done: "Refreshed") -> None:
    """What polling one shipment now changed, as ``zelo poll --shipment`` says it."""
    moved = (
        f"{done.status_before} → {done.status_after}"
        if done.status_before != done.status_after
        else f"still {done.status_after}"
    )
    console.print(
        f"shipment {done.shipment_id} ({done.tracking_code}) polled: {moved}, {len(done.events)} new events, "
        f"{len(done.incidents_opened)} incidents opened",
        highlight=False,
    )
    for e in done.events:
        where = f" ({e.location})" if e.location else ""
        console.print(
            f"  {e.occurred_at:%Y-%m-%d %H:%M}Z {e.code} {e.status}: {escape(e.description)}{escape(where)}",
            highlight=False,
        )
    for kind in done.incidents_opened:
        console.print(f"  [yellow]incident opened[/yellow] {kind}")
    if done.error:
        console.print(f"  [yellow]carrier said[/yellow] {escape(done.error)}")
