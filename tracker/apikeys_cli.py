"""``zelo apikeys``: create, list and revoke the REST API's keys (a key is shown once, when created)."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tracker.commands import console, fail, open_runtime, run, settings

if TYPE_CHECKING:
    from tracker.models import ApiKey

app = typer.Typer(help="API keys for the REST API.", no_args_is_help=True)


@app.command("create")
def apikeys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. 'erp'.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: read, write, admin.")] = "read",
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from tracker.apikeys import create_key, parse_scopes

    loaded = settings()
    try:
        wanted = parse_scopes(scopes)
    except ValueError as exc:
        raise fail(str(exc)) from None

    async def go() -> str:
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session, session.begin():
            key, _ = await create_key(session, name=name, scopes=wanted, now=rt.clock.now())
            return key

    key = run(go())
    console.print(f"API key for {name!r} ({', '.join(wanted)}); store it now, it is not shown again:")
    typer.echo(key)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%dT%H:%MZ")


@app.command("list")
def apikeys_list(ctx: typer.Context) -> None:
    """Every API key: id, name, prefix, scopes, when it was created and revoked (never the secret)."""
    from tracker.apikeys import all_keys

    loaded = settings()

    async def go() -> list["ApiKey"]:
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session:
            return await all_keys(session)

    table = Table("id", "name", "prefix", "scopes", "created", "revoked", box=None)
    for key in run(go()):
        table.add_row(str(key.id), key.name, key.prefix, key.scopes, _when(key.created_at), _when(key.revoked_at))
    console.print(table)


@app.command("revoke")
def apikeys_revoke(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="ID_OR_PREFIX", help="The key's id, or the 12 hex digits after zelo_.")],
) -> None:
    """Revoke an API key: every API process refuses it within seconds (the command says how many)."""
    from tracker.apikeys import find_key
    from tracker.web import KEY_CACHE_S

    loaded = settings()

    async def go() -> tuple["ApiKey | None", bool]:
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session, session.begin():
            key = await find_key(session, ref)
            fresh = key is not None and key.revoked_at is None
            if key is not None and fresh:
                key.revoked_at = rt.clock.now()
            return key, fresh

    key, fresh = run(go())
    if key is None:
        raise fail(f"no API key with id or prefix {ref!r}; `zelo apikeys list` shows them")
    if not fresh:
        console.print(f"API key {key.id} {key.name!r} was already revoked ({_when(key.revoked_at)})")
        return
    console.print(f"revoked API key {key.id} {key.name!r}; API processes refuse it within {KEY_CACHE_S:g} s")
