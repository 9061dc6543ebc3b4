"""The ``zelo`` command line, run as a user would (typer's runner, a real SQLite file)."""

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner, Result

from carriers.base import Status, TrackingResult
from carriers.base.registry import register as register_carrier
from carriers.base.registry import unregister
from tests.tracker.fake_carrier import FakeCarrier, events
from tracker.config import get_settings
from tracker.models import Shipment
from zelo.cli import app

runner = CliRunner()
PAYLOAD = {
    "objetos": [
        {
            "codObjeto": "SS123456785BR",
            "dtPrevista": "2026-11-06T23:59:59",
            "eventos": [
                {
                    "codigo": "BDE",
                    "tipo": "01",
                    "dtHrCriado": "2026-11-05T15:00:00",
                    "descricao": "Objeto entregue ao destinatário",
                    "unidade": {"endereco": {"cidade": "CAMPINAS", "uf": "SP"}},
                },
                {
                    "codigo": "EST",
                    "tipo": "01",
                    "dtHrCriado": "2026-11-04T11:00:00",
                    "descricao": "Favor desconsiderar a informação anterior",
                },
                {
                    "codigo": "BDE",
                    "tipo": "01",
                    "dtHrCriado": "2026-11-04T10:00:00",
                    "descricao": "Objeto entregue ao destinatário",
                },
                {
                    "codigo": "LDI",
                    "tipo": "01",
                    "dtHrCriado": "2026-11-03T10:00:00",
                    "descricao": "Objeto aguardando retirada",
                },
                {"codigo": "PO", "tipo": "01", "dtHrCriado": "2026-11-02T10:00:00", "descricao": "Objeto postado"},
            ],
        },
        {"codObjeto": "SS000000017BR", "mensagem": "SRO-019: Objeto inválido"},
    ]
}


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("ZELO_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_parse_prints_the_normalized_contract(tmp_path: Path) -> None:
    file = tmp_path / "answer.json"
    file.write_text(json.dumps(PAYLOAD, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["carriers", "parse", "correios", str(file)])
    assert result.exit_code == 0, result.output
    delivered, invalid = json.loads(result.output)["results"]
    assert delivered["tracking_code"] == "SS123456785BR"
    assert (delivered["status"], delivered["expected_delivery"], delivered["error"]) == (
        "delivered",
        "2026-11-06",
        None,
    )
    assert [(e["code"], e["status"], e["reason"]) for e in delivered["events"]] == [
        ("PO-01", "posted", None),
        ("LDI-01", "awaiting_pickup", None),
        ("BDE-01", "delivered", None),
    ]
    assert delivered["events"][0]["occurred_at"] == "2026-11-02T10:00:00-03:00"
    assert delivered["events"][-1]["location"] == "CAMPINAS/SP"
    assert invalid["error"] == {"code": "SRO-019", "message": "SRO-019: Objeto inválido"}
    assert invalid["status"] == "pending" and invalid["events"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["carriers", "parse", "dhl", "x.json"], "unknown carrier 'dhl'; expected one of: correios"),
        (["carriers", "parse", "correios", "/nonexistent.json"], "No such file"),
    ],
)
def test_parse_errors_are_clear(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output


def test_parse_rejects_a_payload_of_the_wrong_shape(tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_text('{"erro": "x"}')
    result = runner.invoke(app, ["carriers", "parse", "correios", str(file)])
    assert result.exit_code == 1 and "expected a JSON object with an 'objetos' list" in result.output


def test_carriers_list_shows_correios() -> None:
    result = runner.invoke(app, ["carriers", "list"])
    assert result.exit_code == 0 and "correios" in result.output and "posting_card" in result.output


def test_accounts_are_added_once_and_listed(database: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    args = [
        "accounts",
        "add",
        "correios",
        "--name",
        "loja-sp",
        "--user",
        "u",
        "--access-code",
        "segredo",
        "--posting-card",
        "0067599079",
        "--base-url",
        "https://apihom.correios.com.br",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "already exists" in again.output
    listed = runner.invoke(app, ["accounts", "list"])
    assert "loja-sp" in listed.output and "apihom" in listed.output
    assert b"segredo" not in database.read_bytes()


def test_poll_once_on_an_empty_database_reports_nothing_to_do(database: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["poll", "--once"])
    assert result.exit_code == 0, result.output
    assert "polled 0 shipments" in result.output


def test_apikeys_create_prints_the_key_once_and_stores_only_a_hash(database: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["apikeys", "create", "--name", "erp", "--scopes", "read,write"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("zelo_") and len(key) > 40
    assert key.split("_", 2)[2].encode() not in database.read_bytes()
    bad = runner.invoke(app, ["apikeys", "create", "--name", "x", "--scopes", "read,root"])
    assert bad.exit_code == 1 and "expected a comma-separated subset of read, write, admin" in bad.output


def test_import_command_reports_each_rejected_line(database: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    runner.invoke(
        app,
        ["accounts", "add", "correios", "--name", "loja", "--user", "u", "--access-code", "c", "--posting-card", "1"],
    )
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("external_id,carrier,tracking_code\nP1,correios,SS123456785BR\nP2,correios,SS123456784BR\n")
    result = runner.invoke(app, ["import", str(csv_file)])
    assert result.exit_code == 1
    assert "created 1" in result.output and "rejected 1" in result.output
    assert "line 3: tracking_code: tracking code 'SS123456784BR' fails the S10 check digit" in result.output


def test_apikeys_are_listed_without_secrets_and_revoked_by_id_or_prefix(database: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    erp, bi = (
        runner.invoke(app, ["apikeys", "create", "--name", name, "--scopes", scopes]).output.strip().splitlines()[-1]
        for name, scopes in (("erp", "read,write"), ("bi", "read"))
    )
    listed = runner.invoke(app, ["apikeys", "list"])
    assert listed.exit_code == 0, listed.output
    rows = [line.split() for line in listed.output.splitlines()]
    assert ["id", "name", "prefix", "scopes", "created", "revoked"] in rows
    assert ["1", "erp", erp.split("_")[1], "read,write"] in [r[:4] for r in rows] and rows[-1][-1] == "-"
    assert erp.split("_", 2)[2] not in listed.output and bi.split("_", 2)[2] not in listed.output

    by_prefix = runner.invoke(app, ["apikeys", "revoke", erp.split("_")[1]])
    assert by_prefix.exit_code == 0, by_prefix.output
    assert "revoked API key 1 'erp'" in by_prefix.output and "within 5 s" in by_prefix.output
    by_id = runner.invoke(app, ["apikeys", "revoke", "2"])
    assert by_id.exit_code == 0 and "revoked API key 2 'bi'" in by_id.output
    again = runner.invoke(app, ["apikeys", "revoke", f"zelo_{erp.split('_')[1]}"])
    assert again.exit_code == 0 and "API key 1 'erp' was already revoked" in again.output
    rows = [line.split() for line in runner.invoke(app, ["apikeys", "list"]).output.splitlines()]
    assert [r[-1] != "-" for r in rows if r and r[0] in ("1", "2")] == [True, True]
    for unknown in ("99", "0123456789ab", "erp"):
        missing = runner.invoke(app, ["apikeys", "revoke", unknown])
        assert missing.exit_code == 1 and f"no API key with id or prefix {unknown!r}" in missing.output


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The serving loops, stubbed: what would have started (uvicorn, the embedded scheduler)."""
    import uvicorn

    import scheduler

    calls: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(f"uvicorn on {kw['host']}"))

    async def loop(*_: object) -> None:
        calls.append("scheduler")

    monkeypatch.setattr(scheduler, "run_embedded", loop)
    return calls


def invoke_with(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], args: list[str]) -> Result:
    """``zelo ARGS`` with ``env`` set, on an upgraded database."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return runner.invoke(app, args)


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["api"], {}),  # ZELO_ENV unset: development by default, not explicitly
        (["api", "--host", "0.0.0.0"], {"ZELO_ENV": "development"}),
        (["api", "--host", "10.0.0.5"], {"ZELO_ENV": "development"}),
        (["poll"], {}),
        (["poll"], {"ZELO_ENV": "development", "ZELO_PUBLIC_BASE_URL": "https://rastreio.loja.example"}),
        (["notify", "dispatch"], {}),
    ],
)
def test_serving_commands_refuse_the_placeholder_secret(
    database: Path, started: list[str], monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str]
) -> None:
    result = invoke_with(monkeypatch, env, args)
    assert result.exit_code == 2, result.output
    assert started == []
    text = " ".join(result.output.split())
    assert "ZELO_SECRET_KEY is the placeholder 'change-me'" in text and "forge" in text
    assert "secrets.token_urlsafe(32)" in text and "ZELO_ENV=development" in text


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["api"], {"ZELO_ENV": "development"}, ["uvicorn on 127.0.0.1"]),
        (["api", "--host", "::1"], {"ZELO_ENV": "development"}, ["uvicorn on ::1"]),
        (["api", "--host", "0.0.0.0"], {"ZELO_SECRET_KEY": "a-long-random-value-0123456789"}, ["uvicorn on 0.0.0.0"]),
        (["poll"], {"ZELO_ENV": "development"}, ["scheduler"]),  # links go to http://127.0.0.1:8000
        (["notify", "dispatch"], {"ZELO_ENV": "development"}, []),
        (["poll", "--once"], {}, []),  # polls carriers only: sends and serves nothing
    ],
)
def test_the_placeholder_is_accepted_only_explicitly_in_development_on_loopback(
    database: Path,
    started: list[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    expected: list[str],
) -> None:
    result = invoke_with(monkeypatch, env, args)
    assert result.exit_code == 0, result.output
    assert started == expected


def test_a_pt_br_import_before_the_account_is_held_then_released_by_accounts_add(
    database: Path, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    csv_file = tmp_path / "envios.csv"
    csv_file.write_bytes(
        "external_id;carrier;tracking_code;declared_value;obs\nP1;correios;SS123456785BR;12,50;frágil\n".encode(
            "cp1252"
        )
    )
    result = runner.invoke(app, ["import", str(csv_file)])
    assert result.exit_code == 0, result.output
    assert "created 1" in result.output
    assert "line 1: warning: unknown column 'obs' ignored" in result.output
    assert "line 2: warning: carrier: no correios account is configured yet" in result.output
    added = runner.invoke(
        app,
        ["accounts", "add", "correios", "--name", "loja", "--user", "u", "--access-code", "c", "--posting-card", "1"],
    )
    assert added.exit_code == 0, added.output
    assert "1 held shipments released: they are polled from now on" in added.output


ACCOUNT = ["accounts", "add", "correios", "--name", "loja", "--user", "u", "--posting-card", "0067599079"]


def test_accounts_add_reads_the_access_code_from_the_environment_or_a_hidden_prompt(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    monkeypatch.setenv("ZELO_CARRIER_ACCESS_CODE", "segredo-do-ambiente")
    from_env = runner.invoke(app, ACCOUNT)
    assert from_env.exit_code == 0, from_env.output
    monkeypatch.delenv("ZELO_CARRIER_ACCESS_CODE")
    prompted = runner.invoke(app, [*ACCOUNT[:4], "loja-2", *ACCOUNT[5:]], input="segredo-digitado\n")
    assert prompted.exit_code == 0, prompted.output
    assert "CWS access code" in prompted.output and "segredo-digitado" not in prompted.output  # not echoed
    empty = runner.invoke(app, [*ACCOUNT[:4], "loja-3", *ACCOUNT[5:]], input=" \n")
    assert empty.exit_code == 1 and "the access code is empty" in empty.output

    async def codes() -> list[str]:
        from tracker.db import make_engine, make_sessionmaker
        from tracker.models import CarrierAccount
        from tracker.polling.accounts import account_config
        from tracker.vault import Vault

        engine = make_engine(f"sqlite+aiosqlite:///{database}")
        async with make_sessionmaker(engine)() as session:
            accounts = list(await session.scalars(select(CarrierAccount).order_by(CarrierAccount.id)))
        await engine.dispose()
        return [
            account_config(a, Vault(get_settings().secret_key.get_secret_value())).credentials["access_code"]
            for a in accounts
        ]

    assert asyncio.run(codes()) == ["segredo-do-ambiente", "segredo-digitado"]
    assert b"segredo" not in database.read_bytes()


@pytest.fixture
def fake_carrier() -> Iterator[FakeCarrier]:
    fake = FakeCarrier()
    register_carrier(fake.spec())
    yield fake
    unregister("fake")


def test_poll_one_shipment_now_by_its_tracking_code(database: Path, fake_carrier: FakeCarrier) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    now = datetime.now(UTC).replace(microsecond=0)

    async def seed() -> None:
        from tracker.db import make_engine, make_sessionmaker
        from tracker.polling.accounts import add_account
        from tracker.shipments import NewShipment, register
        from tracker.vault import Vault

        engine = make_engine(f"sqlite+aiosqlite:///{database}")
        async with make_sessionmaker(engine)() as session, session.begin():
            vault = Vault(get_settings().secret_key.get_secret_value())
            account = await add_account(
                session, vault, carrier="fake", name="f", credentials={"key": "k"}, base_url=None, now=now
            )
            await register(session, [NewShipment("fake", account.id, "FK1", external_id="PED-1")], now)
            await session.execute(update(Shipment).values(next_poll_at=now + timedelta(days=1)))  # not due
        await engine.dispose()

    asyncio.run(seed())
    fake_carrier.answers["FK1"] = TrackingResult(
        "FK1", events(now - timedelta(hours=3), (0, "PO-01", Status.POSTED), (1, "RO-01", Status.IN_TRANSIT))
    )
    due_only = runner.invoke(app, ["poll", "--once"])
    assert due_only.exit_code == 0 and "polled 0 shipments" in due_only.output
    result = runner.invoke(app, ["poll", "--shipment", "fk1"])
    assert result.exit_code == 0, result.output
    assert "shipment 1 (FK1) polled: pending → in_transit, 2 new events, 0 incidents opened" in result.output
    assert "PO-01 posted" in result.output and "RO-01 in_transit" in result.output
    again = runner.invoke(app, ["poll", "--shipment", "PED-1"])  # ops at the command line are not rate-limited
    assert again.exit_code == 0 and "polled: still in_transit, 0 new events" in again.output
    unknown = runner.invoke(app, ["poll", "--shipment", "FK9"])
    assert unknown.exit_code == 1
    assert unknown.stderr.strip() == "error: no shipment with id, tracking code or external id 'FK9'"
