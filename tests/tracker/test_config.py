"""Settings: defaults for the embedded mode, placeholder secrets refused outside development."""

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from tracker.config import Settings, is_loopback
from tracker.logs import redact
from tracker.vault import Vault


def test_embedded_defaults() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.redis_url is None


def test_placeholder_secret_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZELO_ENV", "production")
    with pytest.raises(ValidationError, match="ZELO_SECRET_KEY is the placeholder"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("ZELO_SECRET_KEY", "a-real-secret-value")
    assert Settings(_env_file=None).env == "production"  # type: ignore[call-arg]


def test_env_file_is_read(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"  # type: ignore[operator]
    env.write_text("ZELO_DATABASE_URL=postgresql+asyncpg://zelo@db/zelo\nZELO_POLL_CHUNK=50\n")
    settings = Settings(_env_file=env)  # type: ignore[call-arg]
    assert (settings.database_url, settings.poll_chunk) == ("postgresql+asyncpg://zelo@db/zelo", 50)


def test_credentials_round_trip_and_wrong_key_is_explained() -> None:
    sealed = Vault("k1").seal({"user": "u", "access_code": "secret"})
    assert "secret" not in sealed
    assert Vault("k1").open(sealed) == {"access_code": "secret", "user": "u"}
    with pytest.raises(ValueError, match="ZELO_SECRET_KEY differs"):
        Vault("k2").open(sealed)


def test_logs_never_carry_customer_contacts_in_clear() -> None:
    event = redact(
        None,
        "info",
        {"event": "sent to maria.silva@example.com and +5511987654321 or (11) 98765-4321", "customer_email": "x@y.z"},
    )
    assert (
        "maria.silva" not in event["event"] and "987654321" not in event["event"] and "98765-4321" not in event["event"]
    )
    assert "m***@example.com" in event["event"] and event["customer_email"] == "***"
    kept = redact(None, "info", {"event": "SS123456785BR at 2026-11-22T08:00:00"})
    assert kept["event"] == "SS123456785BR at 2026-11-22T08:00:00"


def test_nested_fields_of_a_log_event_are_redacted() -> None:
    event = redact(
        None,
        "info",
        {
            "event": "import",
            "customer": {"name": "Maria da Silva", "email": "maria@example.com"},
            "rows": [{"customer_phone": "+5511987654321", "note": "ligar (11) 98765-4321"}, ("joana@example.com",)],
            "by_address": {"ana@example.com": 2},
            "contact": 11987654321,
            "error": ValueError("refused for bia@example.com"),
            "count": 3,
        },
    )
    assert event["customer"] == "***"
    assert event["rows"] == [{"customer_phone": "***", "note": "ligar ***4321"}, ["j***@example.com"]]
    assert event["by_address"] == {"a***@example.com": 2}
    assert (event["contact"], event["count"]) == ("***4321", 3)
    assert "bia@" not in event["error"] and "b***@example.com" in event["error"]


def test_exception_text_in_logs_is_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    import structlog

    from tracker.logs import configure

    configure("info", json=True)
    try:
        raise ValueError("insert failed for maria.silva@example.com / +5511987654321")
    except ValueError:
        structlog.get_logger("t").exception("boom")
    out = capsys.readouterr().out
    assert "boom" in out and "m***@example.com" in out
    assert "maria.silva" not in out and "5511987654321" not in out


async def test_database_errors_do_not_carry_parameters(tmp_path: pytest.TempPathFactory) -> None:
    from sqlalchemy import text

    from tracker.db import make_engine

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/x.db")  # type: ignore[operator]
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (email TEXT UNIQUE)"))
        await conn.execute(text("INSERT INTO t VALUES (:e)"), {"e": "maria@example.com"})
        with pytest.raises(Exception) as info:  # noqa: PT011
            await conn.execute(text("INSERT INTO t VALUES (:e)"), {"e": "maria@example.com"})
    await engine.dispose()
    assert "maria@example.com" not in str(info.value)


def test_malformed_webhook_secrets_are_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZELO_ERP_WEBHOOK_SECRETS", "whsec_dGVzdA==,plain-secret")
    with pytest.raises(ValidationError, match="entry #2 does not start with 'whsec_'") as info:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert "plain-secret" not in str(info.value)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        *[("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True), ("LocalHost", True)],
        *[("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("loja.example", False), ("", False), (None, False)],
    ],
)
def test_loopback_hosts(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_explicit_development_is_told_from_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "it is not set" in (Settings(_env_file=None).placeholder_refusal("127.0.0.1") or "")  # type: ignore[call-arg]
    monkeypatch.setenv("ZELO_ENV", "development")
    assert Settings(_env_file=None).placeholder_refusal("127.0.0.1") is None  # type: ignore[call-arg]
    monkeypatch.setenv("ZELO_SECRET_KEY", "a-real-secret-value")
    monkeypatch.setenv("ZELO_ENV", "production")
    assert Settings(_env_file=None).placeholder_refusal("0.0.0.0") is None  # type: ignore[call-arg]


@pytest.fixture
def stdlib_logging() -> Iterator[None]:
    """Uvicorn's own logging set-up (as ``zelo api`` gets it), undone afterwards."""
    import logging.config

    from uvicorn.config import LOGGING_CONFIG

    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = [(lg, lg.handlers[:], lg.propagate, lg.level) for lg in map(logging.getLogger, names)]
    logging.config.dictConfig(LOGGING_CONFIG)
    yield
    for lg, handlers, propagate, level in saved:
        lg.handlers[:], lg.propagate, lg.level = handlers, propagate, level


@pytest.mark.usefixtures("stdlib_logging")
def test_server_tracebacks_through_standard_logging_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from tracker.logs import configure

    configure("info", json=True)
    try:
        raise ValueError("duplicate key (customer_email)=(maria.silva@example.com), phone +5511987654321")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logging.getLogger("sqlalchemy.pool").warning("reset failed for joana@example.com")
    out = capsys.readouterr()
    logged = out.out + out.err
    assert "Exception in ASGI application" in logged and "Traceback" in logged and "ValueError" in logged
    assert "m***@example.com" in logged and "j***@example.com" in logged
    assert "maria.silva" not in logged and "joana@" not in logged and "5511987654321" not in logged


@pytest.mark.parametrize("value", ["atendimento", "a@b.example\r\nBcc: x@y.example", "Loja <>"])
def test_a_reply_to_that_is_not_one_address_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(ValidationError, match=r"reply_to\n.*expected one e-mail address") as refused:
        Settings(_env_file=None, reply_to=value)  # type: ignore[call-arg]
    assert "x@y.example" not in str(refused.value)  # the value is never echoed
    assert Settings(_env_file=None, reply_to="Loja <sac@loja.example>").reply_to == "Loja <sac@loja.example>"  # type: ignore[call-arg]


@pytest.mark.usefixtures("stdlib_logging")
@pytest.mark.parametrize("json", [True, False])
def test_the_servers_own_tracebacks_are_redacted_in_either_format(
    json: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    import structlog

    from tracker.logs import configure

    configure("info", json=json)
    try:
        try:
            raise KeyError("customer ana@example.com, (11) 98765-4321")
        except KeyError as inner:
            raise RuntimeError("while saving 11 98765 4321") from inner
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
        structlog.get_logger("zelo").exception("job_failed", payload={"to": "+55 11 98765-4321"})
    out = capsys.readouterr()
    logged = out.out + out.err
    assert logged.count("Traceback") >= 4 and "KeyError" in logged and "RuntimeError" in logged
    assert "a***@example.com" in logged and "***4321" in logged
    assert "ana@" not in logged and "98765" not in logged
