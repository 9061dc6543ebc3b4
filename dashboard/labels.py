"""The pt-BR words of ``labels.toml``, by table: ``label("kinds", "lost")`` is ``extravio``."""

import tomllib
from functools import cache
from pathlib import Path


@cache
def _tables() -> dict[str, dict[str, str]]:
    with (Path(__file__).parent / "labels.toml").open("rb") as f:
        return tomllib.load(f)


def label(table: str, value: str | None) -> str:
    if value is None:
        return "—"
    return _tables()[table].get(value, value)


def choices(table: str) -> list[tuple[str, str]]:
    return list(_tables()[table].items())
