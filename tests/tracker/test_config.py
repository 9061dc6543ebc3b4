"""Settings: defaults for the embedded mode, placeholder secrets refused outside development."""

import pytest
from pydantic import ValidationError

from tracker.config import Settings
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
