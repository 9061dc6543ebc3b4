"""The example deployment (deploy/) names only commands, options and settings that exist."""

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tracker.config import Settings
from zelo.cli import app

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
SETTINGS = {f"ZELO_{name.upper()}" for name in Settings.model_fields}


def zelo_commands() -> list[list[str]]:
    found = [s["command"][1:] for s in COMPOSE["services"].values() if s.get("command", [""])[0] == "zelo"]
    for unit in (DEPLOY / "systemd").glob("*.service"):
        for line in unit.read_text(encoding="utf-8").splitlines():
            if match := re.search(r"\.venv/bin/zelo ([^'\n]*)", line):
                found.append(shlex.split(match.group(1).replace("%i", "8000")))
    return found


def test_compose_has_the_database_redis_a_migration_two_api_replicas_and_two_workers() -> None:
    services: dict[str, Any] = COMPOSE["services"]
    assert {"postgres", "redis", "migrate", "api", "worker"} <= set(services)
    assert services["api"]["deploy"]["replicas"] == 2 and services["worker"]["deploy"]["replicas"] == 2
    assert services["migrate"]["command"] == ["zelo", "db", "upgrade"]


@pytest.mark.parametrize("args", zelo_commands(), ids=" ".join)
def test_every_command_and_option_the_examples_run_exists(args: list[str]) -> None:
    words = [a for a in args if not a.startswith("-")][:2]
    command = words[:1] if words[0] != "db" else words
    shown = CliRunner().invoke(app, [*command, "--help"])
    assert shown.exit_code == 0, shown.output
    for option in (a for a in args if a.startswith("--")):
        assert option in shown.output, f"zelo {' '.join(command)} has no {option}"


def test_every_setting_the_examples_set_is_one_zelo_reads() -> None:
    texts = [(DEPLOY / "compose.yaml").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8") for p in (DEPLOY / "systemd").iterdir()]
    named = {name for text in texts for name in re.findall(r"\bZELO_[A-Z_]+\b", text)}
    assert named and named <= SETTINGS, sorted(named - SETTINGS)
