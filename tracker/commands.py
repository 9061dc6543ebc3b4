"""What every ``zelo`` sub-command shares: the console, the settings, and the runtime the composition
root opens (handed down through the command's context, so a feature's commands never import the root).

Imports stay light here and in every command module (``zelo --help`` loads no database driver, web
framework or template engine): what a command needs is imported inside it."""

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from tracker.clock import Clock
    from tracker.config import Settings
    from tracker.runtime import Runtime

T = TypeVar("T")
OpenRuntime = Callable[["Settings", "Clock | None"], AbstractAsyncContextManager["Runtime"]]
console = Console(soft_wrap=True)  # messages stay on one line: easy to grep, never cut
errors = Console(soft_wrap=True, stderr=True)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def settings() -> "Settings":
    """The settings from the environment; a configuration error exits with status 2, saying what is wrong."""
    from tracker import logs
    from tracker.config import get_settings

    try:
        loaded = get_settings()
    except ValueError as exc:
        errors.print(f"[red]configuration error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    logs.configure(loaded.log_level, loaded.log_json)
    return loaded


def serving_settings(listens_on: str | None = None) -> "Settings":
    """:func:`settings` for a command that serves requests (on the interface ``listens_on``) or sends the
    customers links: with the placeholder secret it refuses to start (exit status 2), saying why and what to do,
    unless explicitly in development and on this machine only (``Settings.placeholder_refusal``)."""
    loaded = settings()
    refusal = loaded.placeholder_refusal(listens_on)
    if refusal is not None:
        errors.print(f"[bold red]refusing to start:[/bold red] {escape(refusal)}")
        raise typer.Exit(2)
    return loaded


@asynccontextmanager
async def open_runtime(
    ctx: typer.Context, loaded: "Settings", clock: "Clock | None" = None, *, migrated: bool = True
) -> AsyncIterator["Runtime"]:
    """A runtime with every feature wired, as the root command put it in the context. Unless ``migrated`` is
    False (``zelo db upgrade``), the database must exist and be at the code's revision: else one line on
    stderr says so and what to do, and the command exits with status 1 (no file is created on the way)."""
    from tracker.migrate import missing_file, schema_problem

    if migrated and missing_file(loaded.database_url) is not None:
        _refuse(await _problem_without_engine(loaded.database_url))
    opener: OpenRuntime = ctx.find_root().obj
    async with opener(loaded, clock) as runtime:
        if migrated and (problem := await schema_problem(runtime.engine)) is not None:
            _refuse(problem)
        yield runtime


def require_schema(loaded: "Settings") -> None:
    """Exit (status 1, one line on stderr) unless the database exists at the code's revision (``zelo api``)."""

    async def check() -> str | None:
        return await _problem_without_engine(loaded.database_url)

    if (problem := run(check())) is not None:
        _refuse(problem)


async def _problem_without_engine(url: str) -> str | None:
    from tracker.db import make_engine
    from tracker.migrate import schema_problem

    engine = make_engine(url)
    try:
        return await schema_problem(engine)
    finally:
        await engine.dispose()


def _refuse(problem: str | None) -> None:
    errors.print(f"[red]error:[/red] {escape(problem or 'database unusable')}")
    raise typer.Exit(1)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the exit to raise."""
    errors.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code)


def quiet_types() -> None:
    """``--help`` lists options without type hints (``<str>``, ``<bool>``, ``<int>``): an option shows the
    metavar it declares (``--shipment ID|CODE``), choices when they are few, a range when it has one."""
    from typer.core import TyperArgument, TyperOption

    def shown(param: TyperOption | TyperArgument, ctx: Any) -> str:
        if isinstance(param, TyperArgument):
            return ""  # its name is shown already
        if param.metavar is not None:
            return param.metavar
        if param.type_descriptor.is_choice:
            choices = "|".join(str(c) for c in param.type_descriptor.choices or ())
            return choices if len(choices) <= 40 else ""
        return ""

    TyperOption.display_type_rich = shown  # type: ignore[method-assign,assignment]
    TyperArgument.display_type_rich = shown  # type: ignore[method-assign,assignment]
