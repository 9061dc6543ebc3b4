"""``zelo accounts`` (carrier contracts and their circuit) and the reports of ``zelo poll``."""

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from tracker.commands import console, fail, open_runtime, run, settings

if TYPE_CHECKING:
    from tracker.polling.refresh import Refreshed
    from tracker.polling.report import PollReport

ACCESS_CODE_ENV = "ZELO_CARRIER_ACCESS_CODE"  # the Correios access code, as before --credential existed
accounts_app = typer.Typer(help="Carrier accounts (one per contract).", no_args_is_help=True)
CORREIOS = "Correios shorthands"


@accounts_app.command("add")
def accounts_add(
    ctx: typer.Context,
    carrier: Annotated[str, typer.Argument(metavar="CARRIER", help="The carrier, as `zelo carriers list` names it.")],
    name: Annotated[str, typer.Option(metavar="NAME", help="A name for this contract, e.g. 'loja-sp'.")],
    credential: Annotated[
        list[str] | None,
        typer.Option(
            metavar="FIELD=VALUE",
            help="One credential of the account, e.g. token=...; repeat the option for each.",
        ),
    ] = None,
    requests_per_second: Annotated[
        float | None,
        typer.Option(
            metavar="R",
            help="At most R requests per second to this account's API (e.g. 0.5); default: the carrier's limit.",
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(metavar="URL", help="API base URL; default: the carrier's production.")
    ] = None,
    origin_cep: Annotated[
        str | None,
        typer.Option(metavar="CEP", help="The warehouse this contract ships from (its shipments' default origin)."),
    ] = None,
    origin_state: Annotated[str | None, typer.Option(metavar="UF", help="The warehouse's UF (e.g. SP).")] = None,
    user: Annotated[
        str | None,
        typer.Option(
            metavar="USER", help="Same as --credential user=USER (CWS user: CNPJ or login).", rich_help_panel=CORREIOS
        ),
    ] = None,
    posting_card: Annotated[
        str | None,
        typer.Option(
            metavar="CARD",
            help="Same as --credential posting_card=CARD (cartão de postagem).",
            rich_help_panel=CORREIOS,
        ),
    ] = None,
    access_code: Annotated[
        str | None,
        typer.Option(
            metavar="CODE",
            help=f"Same as --credential access_code=CODE (CWS código de acesso); or in {ACCESS_CODE_ENV}.",
            rich_help_panel=CORREIOS,
        ),
    ] = None,
) -> None:
    """Add a carrier account (one per contract); its credentials are stored encrypted and never printed.

    Give each credential as --credential FIELD=VALUE (`zelo carriers list` names
    each carrier's fields). A required one not given is asked for, a secret one
    without echo. A secret can come from the environment instead, as
    ZELO_CREDENTIAL_<FIELD> (e.g. ZELO_CREDENTIAL_CLIENT_SECRET): that keeps it
    off the command line, which the machine's other users can see.

    Examples:
      zelo accounts add correios --name loja-sp --user U --posting-card CARD
      zelo accounts add jadlog --name loja-jadlog       (asks for the token)
      zelo accounts add loggi --name loja-loggi \\
          --credential client_id=ID --credential company_id=CO
    """
    import os

    from carriers.base.registry import UnknownCarrier
    from carriers.base.registry import get as get_carrier
    from tracker.polling.accounts import AccountError, add_account, release_held
    from tracker.polling.credentials import ENV_PREFIX, CredentialError, Given, gather, parse_pairs
    from tracker.polling.pace import rate_problem

    try:
        spec = get_carrier(carrier)
        given = parse_pairs(credential or [])
    except (UnknownCarrier, CredentialError) as exc:
        raise fail(str(exc)) from None
    shorthands = [("user", user, "--user"), ("posting_card", posting_card, "--posting-card")]
    if access_code is None and "access_code" in spec.credential_fields and os.environ.get(ACCESS_CODE_ENV):
        shorthands.append(("access_code", os.environ[ACCESS_CODE_ENV], ACCESS_CODE_ENV))
    else:
        shorthands.append(("access_code", access_code, "--access-code"))
    given += [Given(field, value, source) for field, value, source in shorthands if value is not None]
    if (problem := rate_problem(requests_per_second)) is not None:
        raise fail(f"--requests-per-second {problem}")
    loaded = settings()
    try:
        gathered = gather(spec, given, os.environ, lambda text, secret: typer.prompt(text, hide_input=secret))
    except CredentialError as exc:
        raise fail(str(exc)) from None
    credentials = {g.field: g.value for g in gathered}
    if from_env := [g.source for g in gathered if g.source.startswith(ENV_PREFIX)]:
        console.print(f"read from the environment: {', '.join(from_env)}")

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
                requests_per_second=requests_per_second,
                origin_postal_code=origin_cep,
                origin_state=origin_state,
            )
            return account.id, await release_held(session, rt.clock.now())

    try:
        account_id, released = run(go())
    except (AccountError, UnknownCarrier) as exc:
        raise fail(str(exc)) from None
    console.print(f"account {name!r} added (id {account_id})")
    if spec.pushes and (lacking := [f for f in spec.push_fields if f not in credentials]):
        console.print(f"it takes no pushes (it has no {', '.join(lacking)}): its shipments are polled only")
    if released:
        console.print(f"{released} held shipments released: they are polled from now on")


@accounts_app.command("list")
def accounts_list(ctx: typer.Context) -> None:
    """Carrier accounts, one line each: its rate limit, whether it takes pushes, the state of its API circuit."""
    from tracker.polling.accounts import list_accounts, summary

    loaded = settings()

    async def go() -> list[Any]:
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session:
            return [summary(a, rt.vault) for a in await list_accounts(session)]

    listed = run(go())
    plain = Console(soft_wrap=True, highlight=False)

    for s in listed:  # one line per account, readable in a narrow terminal
        a = s.account
        rate = "unlimited" if s.requests_per_second is None else f"{s.requests_per_second:g}/s"
        circuit = f"open until {a.circuit_open_until:%Y-%m-%d %H:%M}Z" if a.circuit_open_until else "closed"
        failures = f", {a.consecutive_failures} failures in a row" if a.consecutive_failures else ""
        failures += f"  origin: {a.origin_state}" if a.origin_state else ""
        line = (
            f"[bold]{escape(a.name)}[/bold] (id {a.id})  {a.carrier}  {escape(a.base_url)}  "
            f"rate limit: {rate}{' (its own)' if s.own_limit else ''}  pushes: {s.pushes}  circuit: {circuit}{failures}"
        )
        plain.print(line)
    if not listed:
        plain.print("no carrier accounts yet: add one with `zelo accounts add CARRIER --name NAME ...`")


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
