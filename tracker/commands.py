"""What every ``zelo`` sub-command shares: the console, the settings, and the runtime the composition
root opens (handed down through the command's context, so a feature's commands never import the root)."""

import asyncio
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from tracker import logs
from tracker.clock import Clock
from tracker.config import Settings, get_settings
from tracker.runtime import Runtime

T = TypeVar("T")
OpenRuntime = Callable[[Settings, Clock | None], AbstractAsyncContextManager[Runtime]]
console = Console(soft_wrap=True)  # messages stay on one line: easy to grep, never cut
errors = Console(soft_wrap=True, stderr=True)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def settings() -> Settings:
    """The settings from the environment; a configuration error exits with status 2, saying what is wrong."""
    try:
        loaded = get_settings()
    except ValueError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    logs.configure(loaded.log_level, loaded.log_json)
    return loaded


def serving_settings(listens_on: str | None = None) -> Settings:
    """:func:`settings` for a command that serves requests (on the interface ``listens_on``) or sends the
    customers links: with the placeholder secret it refuses to start (exit status 2), saying why and what to do,
    unless explicitly in development and on this machine only (``Settings.placeholder_refusal``)."""
    loaded = settings()
    refusal = loaded.placeholder_refusal(listens_on)
    if refusal is not None:
        errors.print(f"[bold red]refusing to start:[/bold red] {escape(refusal)}")
        raise typer.Exit(2)
    return loaded


def open_runtime(
    ctx: typer.Context, loaded: Settings, clock: Clock | None = None
) -> AbstractAsyncContextManager[Runtime]:
    """A runtime with every feature wired, as the root command put it in the context."""
    opener: OpenRuntime = ctx.find_root().obj
    return opener(loaded, clock)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` and return the exit to raise."""
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)
