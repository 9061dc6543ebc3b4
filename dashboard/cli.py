"""``zelo users``: the dashboard's people (the password is asked twice without echo, or read from
``ZELO_USER_PASSWORD``; only its argon2 hash is stored)."""

import os
from typing import Annotated

import typer

from tracker.commands import console, fail, open_runtime, run, settings

users_app = typer.Typer(help="People who sign in to the dashboard.", no_args_is_help=True)
PASSWORD_ENV = "ZELO_USER_PASSWORD"


def _password() -> str:
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    first = typer.prompt("Senha", hide_input=True)
    if typer.prompt("Repita a senha", hide_input=True) != first:
        raise fail("the two passwords differ; nothing was created")
    return str(first)


@users_app.command("create")
def users_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="The person's e-mail, their login.")],
    role: Annotated[str, typer.Option(help="viewer (reads), ops (works the queues) or admin (everything).")] = "ops",
) -> None:
    """Create a dashboard user."""
    from dashboard.users import UserError, check_password, create_user

    loaded = settings()
    password = _password()
    try:
        check_password(password)
    except UserError as exc:
        raise fail(str(exc)) from None

    async def go() -> int:
        async with open_runtime(ctx, loaded) as rt, rt.sessions() as session, session.begin():
            user = await create_user(session, email=email, role=role, password=password, now=rt.clock.now())
            return user.id

    try:
        user_id = run(go())
    except UserError as exc:
        raise fail(f"{exc.field}: {exc}") from None
    console.print(f"dashboard user {user_id} created with role {role}")
