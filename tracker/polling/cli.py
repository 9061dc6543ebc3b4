"""``zelo accounts`` (carrier contracts and their circuit) and the report of ``zelo poll --once``."""

from typing import Annotated, Any

import typer
from rich.table import Table

from carriers.base.registry import UnknownCarrier
from tracker.commands import console, fail, open_runtime, run, settings
from tracker.polling.accounts import AccountError, add_account, list_accounts, release_held
from tracker.polling.report import PollReport

accounts_app = typer.Typer(help="Carrier accounts (one per contract).", no_args_is_help=True)


@accounts_app.command("add")
def accounts_add(
    ctx: typer.Context,
    carrier: str,
    name: Annotated[str, typer.Option(help="A name for this contract, e.g. 'loja-sp'.")],
    user: Annotated[str, typer.Option(help="CWS user (CNPJ or login).")],
    access_code: Annotated[str, typer.Option(help="CWS access code (código de acesso).")],
    posting_card: Annotated[str, typer.Option(help="Posting card number (cartão de postagem).")],
    base_url: Annotated[str | None, typer.Option(help="API base URL; default: the carrier's production.")] = None,
) -> None:
    """Add a carrier account; its credentials are stored encrypted."""
    loaded = settings()
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


def print_report(report: PollReport) -> None:
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
