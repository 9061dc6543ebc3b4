"""``zelo accounts add`` for every registered carrier and ``zelo accounts list``, run as a user would (typer's
runner, a real SQLite file): credentials from options, the environment or a prompt, and never printed."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from carriers.base.registry import carriers
from tracker.config import get_settings
from tracker.db import make_engine, make_sessionmaker
from tracker.models import CarrierAccount
from tracker.vault import Vault
from zelo.cli import app

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("ZELO_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield path
    get_settings.cache_clear()


def stored(database: Path) -> dict[str, tuple[dict[str, str], float | None]]:
    """Each account's credentials (decrypted) and own rate limit, by name."""

    async def read() -> list[CarrierAccount]:
        engine = make_engine(f"sqlite+aiosqlite:///{database}")
        async with make_sessionmaker(engine)() as session:
            found = list(await session.scalars(select(CarrierAccount)))
        await engine.dispose()
        return found

    vault = Vault(get_settings().secret_key.get_secret_value())
    return {a.name: (vault.open(a.credentials), a.requests_per_second) for a in asyncio.run(read())}


def add(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, ["accounts", "add", *args], input=input, env=env)


def options(credentials: dict[str, str]) -> list[str]:
    return [arg for field, value in credentials.items() for arg in ("--credential", f"{field}={value}")]


def test_the_five_carriers_are_registered() -> None:
    assert {"correios", "jadlog", "totalexpress", "loggi", "melhorenvio"} <= set(carriers())


@pytest.mark.parametrize("name", list(carriers()))
def test_every_carrier_takes_its_required_credentials_as_options(database: Path, name: str) -> None:
    spec = carriers()[name]
    credentials = {f: f"{name}-{f}-valor" for f in spec.credential_fields}
    result = add(name, "--name", f"loja-{name}", *options(credentials))
    assert result.exit_code == 0, result.output
    assert f"account 'loja-{name}' added" in result.output
    assert stored(database) == {f"loja-{name}": (credentials, None)}
    assert "valor" not in result.output and b"valor" not in database.read_bytes()


def test_missing_required_fields_are_asked_for_and_secret_ones_without_echo(database: Path) -> None:
    result = add("loggi", "--name", "loja-loggi", "--credential", "client_id=cid", input="segredo-loggi\n4242\n")
    assert result.exit_code == 0, result.output
    assert "Loggi client_secret:" in result.output and "segredo-loggi" not in result.output  # hidden
    assert "Loggi company_id: 4242" in result.output  # not a secret: echoed
    assert "it takes no pushes (it has no webhook_user, webhook_password)" in result.output
    assert stored(database)["loja-loggi"] == (
        {"client_id": "cid", "client_secret": "segredo-loggi", "company_id": "4242"},
        None,
    )


def test_a_secret_comes_from_its_environment_variable_and_only_a_secret_does(database: Path) -> None:
    env = {"ZELO_CREDENTIAL_CLIENT_SECRET": "segredo-do-ambiente", "ZELO_CREDENTIAL_COMPANY_ID": "1"}
    result = add("loggi", "--name", "l", "--credential", "client_id=cid", input="4242\n", env=env)
    assert result.exit_code == 0, result.output
    assert "client_secret:" not in result.output and "Loggi company_id: 4242" in result.output
    assert "read from the environment: ZELO_CREDENTIAL_CLIENT_SECRET" in result.output
    assert "segredo-do-ambiente" not in result.output
    assert stored(database)["l"][0] == {
        "client_id": "cid",
        "client_secret": "segredo-do-ambiente",
        "company_id": "4242",
    }


def test_the_correios_shorthands_and_variables_still_work_and_mix_with_the_generic_form(database: Path) -> None:
    shorthand = add(
        "correios", "--name", "a", "--user", "u", "--posting-card", "1", env={"ZELO_CARRIER_ACCESS_CODE": "c1"}
    )
    generic = add(
        "correios",
        "--name",
        "b",
        *options({"user": "u", "posting_card": "1", "phone": "+5511999999999"}),
        env={"ZELO_CREDENTIAL_ACCESS_CODE": "c2"},
    )
    assert shorthand.exit_code == 0 and generic.exit_code == 0, shorthand.output + generic.output
    accounts = stored(database)
    assert accounts["a"][0] == {"user": "u", "posting_card": "1", "access_code": "c1"}
    assert accounts["b"][0] == {"user": "u", "posting_card": "1", "access_code": "c2", "phone": "+5511999999999"}


def test_the_correios_access_code_variable_is_left_alone_for_other_carriers(database: Path) -> None:
    result = add("jadlog", "--name", "j", "--credential", "token=t", env={"ZELO_CARRIER_ACCESS_CODE": "c"})
    assert result.exit_code == 0, result.output
    assert stored(database)["j"][0] == {"token": "t"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["jadlog", "--credential", "tokn=t"],
            "jadlog accounts take no credential 'tokn' (given with --credential); expected token",
        ),
        (
            ["jadlog", "--credential", "token=t", "--access-code", "c"],
            "jadlog accounts take no credential 'access_code' (given with --access-code); expected token",
        ),
        (
            ["loggi", "--credential", "webhook=x"],
            "loggi accounts take no credential 'webhook' (given with --credential); expected client_id, "
            "client_secret, company_id and optionally webhook_user, webhook_password",
        ),
        (
            ["jadlog", "--credential", "token=  "],
            "the token is empty (from --credential): give the jadlog credential token with --credential "
            "token=VALUE, ZELO_CREDENTIAL_TOKEN or the prompt",
        ),
        (
            ["totalexpress", "--user", "u", "--credential", "user=v", "--credential", "password=p"],
            "credential 'user' is given twice (with --credential and --user); give it once",
        ),
        (["nowhere", "--credential", "token=t"], "unknown carrier 'nowhere'; expected one of: correios,"),
        (["jadlog", "--credential", "token=t", "--requests-per-second", "0"], "--requests-per-second got 0; expected"),
        (["jadlog", "--credential", "token=t", "--requests-per-second", "-2"], "from 0.01 to 10000"),
        (["jadlog", "--credential", "token=t", "--requests-per-second", "nan"], "from 0.01 to 10000"),
        (["jadlog", "--credential", "token=t", "--requests-per-second", "inf"], "from 0.01 to 10000"),
        (["jadlog", "--credential", "token=t", "--requests-per-second", "1e-300"], "got 1e-300; expected"),
    ],
    ids=lambda v: v if isinstance(v, str) else " ".join(v),
)
def test_bad_input_is_refused_naming_what_is_wrong(database: Path, args: list[str], expected: str) -> None:
    result = add(args[0], "--name", "x", *args[1:])
    assert result.exit_code == 1, result.output
    assert expected in " ".join(result.output.split())
    assert stored(database) == {}


def test_an_empty_secret_from_the_environment_or_the_prompt_is_refused(database: Path) -> None:
    from_env = add("jadlog", "--name", "j", env={"ZELO_CREDENTIAL_TOKEN": ""})
    assert from_env.exit_code == 1 and "the token is empty (from ZELO_CREDENTIAL_TOKEN)" in from_env.output
    prompted = add("correios", "--name", "c", "--user", "u", "--posting-card", "1", input=" \n")
    assert prompted.exit_code == 1 and "the access code is empty (typed at the prompt)" in prompted.output
    assert stored(database) == {}


def test_a_credential_without_a_field_name_is_refused_without_showing_it(database: Path) -> None:
    result = add("jadlog", "--name", "j", "--credential", "segredo-sem-campo")
    assert result.exit_code == 1 and "--credential takes FIELD=VALUE" in result.output
    assert "segredo-sem-campo" not in result.output


def test_a_rate_that_is_not_a_number_is_a_usage_error(database: Path) -> None:
    result = add("jadlog", "--name", "j", "--credential", "token=t", "--requests-per-second", "fast")
    assert result.exit_code == 2 and "--requests-per-second" in result.output


def test_the_list_says_whether_each_account_takes_pushes_and_its_rate_limit(database: Path) -> None:
    loggi = {"client_id": "cid", "client_secret": "segredo-1", "company_id": "1"}
    webhooks = {"webhook_user": "zelo", "webhook_password": "segredo-2"}
    added = [
        add("loggi", "--name", "loggi-push", *options(loggi | webhooks)),
        add("loggi", "--name", "loggi-poll", *options(loggi), "--requests-per-second", "0.5"),
        add("jadlog", "--name", "jadlog", "--credential", "token=segredo-3"),
        add("melhorenvio", "--name", "me", *options({"token": "segredo-4", "contact_email": "a@example.com"})),
    ]
    assert [r.exit_code for r in added] == [0, 0, 0, 0], [r.output for r in added]
    assert stored(database)["loggi-poll"][1] == 0.5
    listed = runner.invoke(app, ["accounts", "list"], env={"COLUMNS": "80"})
    assert listed.exit_code == 0, listed.output
    lines = {line.split()[0]: line for line in listed.output.splitlines()}  # one line per account
    assert "rate limit: unlimited  pushes: yes" in lines["loggi-push"]
    assert "rate limit: 0.5/s (its own)  pushes: no (lacks webhook_user, webhook_password)" in lines["loggi-poll"]
    assert "rate limit: 5/s  pushes: not offered by Jadlog  circuit: closed" in lines["jadlog"]
    assert "rate limit: 2/s  pushes: no (lacks app_secret)" in lines["me"]
    assert "segredo" not in listed.output and "a@example.com" not in listed.output


def test_the_help_says_how_to_give_credentials(database: Path) -> None:
    result = runner.invoke(app, ["accounts", "add", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for expected in (
        "--credential",
        "FIELD=VALUE",
        "ZELO_CREDENTIAL_<FIELD>",
        "without echo",
        "--requests-per-second",
        "ZELO_CARRIER_ACCESS_CODE",
        "zelo accounts add loggi --name loja-loggi",
    ):
        assert expected in text, expected
