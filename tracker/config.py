"""Settings: one pydantic-settings class, prefix ``ZELO_``, ``.env`` supported."""

import ipaddress
from functools import cache
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"
PLACEHOLDERS = frozenset({PLACEHOLDER_SECRET, ""})
HOW_TO_MAKE_A_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a name or an address) is this machine's loopback interface."""
    if not host:
        return False
    try:
        return host.lower() == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ZELO_", env_file=".env", env_ignore_empty=True, extra="ignore", hide_input_in_errors=True
    )  # errors never echo a value: settings hold secrets and passwords

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./zelo.db"
    redis_url: str | None = None  # unset: embedded mode (jobs run in-process)
    secret_key: SecretStr = Field(
        default=SecretStr(PLACEHOLDER_SECRET),
        description="Encrypts carrier credentials at rest and signs links. Required outside development.",
    )
    erp_webhook_secrets: SecretStr | None = Field(
        default=None, description="Comma-separated Standard Webhooks secrets (whsec_<base64>) the ERP signs with."
    )
    max_body_bytes: int = Field(default=5_000_000, ge=1024, description="Larger request bodies get 413.")
    max_in_flight: int = Field(default=256, ge=1, description="Requests in the app at once, per API process.")
    admission_wait_s: float = Field(
        default=2.0, ge=0, description="How long one more request waits for a place before it gets 503."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = False

    # polling
    poll_chunk: int = Field(default=500, ge=1, description="Shipments claimed per poll transaction.")
    poll_concurrency: int = Field(default=8, ge=1, description="Carrier requests in flight per poller.")
    poll_lease_s: int = Field(default=300, ge=10, description="A claimed shipment is re-polled after this.")
    http_timeout_s: float = Field(default=30.0, gt=0)

    # scaled mode (ZELO_REDIS_URL set): arq workers
    worker_metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="A worker serves its own /metrics (jobs, carrier calls) here."
    )
    worker_metrics_host: str = Field(default="127.0.0.1", description="The interface a worker's /metrics listens on.")
    worker_jobs: int = Field(default=10, ge=1, le=100, description="Jobs one worker runs at once.")
    worker_slots: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Runs of the poll, dispatch and push jobs queued each tick, shared by every worker (each run "
        "claims its own work, so this many workers can poll at once).",
    )

    # notifications (notifier/)
    store_name: str = Field(default="Loja", description="The store's name in customer messages.")
    store_timezone: str = Field(
        default="America/Sao_Paulo", description="The IANA zone the command line shows times in (`incidents list`)."
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Where customers reach Zelo's check-in and opt-out links."
    )
    tracking_url: str = Field(
        default="https://rastreamento.correios.com.br/app/index.php?objetos={code}",
        description="Tracking link in messages; {code} is replaced by the tracking code.",
    )
    smtp_url: str | None = Field(default=None, description="e.g. smtp://127.0.0.1:1025; unset: no e-mail.")
    email_from: str = "Zelo <zelo@localhost>"
    claims_policies: str | None = Field(
        default=None,
        description="The store's claim policies: a TOML file in the layout of claims/policies.toml (copy it and "
        'edit, e.g. filing = "auto" to file without the store\'s click); unset: the built-in sourced defaults.',
    )
    reply_to: str | None = Field(
        default=None,
        description="The store's address that customers' replies reach (Reply-To of customer e-mails, which all "
        "say 'é só responder'), e.g. 'Loja <atendimento@loja.example>'; unset: replies go to ZELO_EMAIL_FROM.",
    )
    whatsapp_token: SecretStr | None = None  # WhatsApp Cloud API; unset: WhatsApp goes to the wa.me queue
    whatsapp_phone_id: str | None = None
    ops_email: str | None = Field(default=None, description="Ops alerts by e-mail digest to this address.")
    ops_webhook_url: str | None = Field(default=None, description="Ops alerts as Slack-compatible JSON here.")
    ops_webhook_secret: SecretStr | None = Field(default=None, description="whsec_… that signs ops webhooks.")
    notify_templates_dir: str | None = Field(
        default=None, description="A folder of the store's own templates, used before the built-in ones."
    )
    uploads_dir: str = Field(default="./zelo-uploads", description="Where the customers' check-in photos are kept.")
    email_folder: str | None = Field(
        default=None, description="E-mails are written there as .eml files instead of sent (development, the demo)."
    )

    @field_validator("store_timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known IANA time zone; expected e.g. America/Sao_Paulo") from None
        return value

    @field_validator("erp_webhook_secrets")
    @classmethod
    def _webhook_secrets_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from tracker.signatures import parse_secrets

            parse_secrets(value.get_secret_value())  # raises naming the bad entry (never its value)
        return value

    @field_validator("reply_to")
    @classmethod
    def _reply_to_is_one_address(cls, value: str | None) -> str | None:
        from email.utils import parseaddr

        if value is not None and ("\r" in value or "\n" in value or "@" not in parseaddr(value)[1]):
            raise ValueError("expected one e-mail address, such as 'Loja <atendimento@loja.example>'")
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Self:
        if self.env != "development" and self.secret_key.get_secret_value() in PLACEHOLDERS:
            raise ValueError(
                f"ZELO_SECRET_KEY is the placeholder {PLACEHOLDER_SECRET!r} while ZELO_ENV={self.env!r}; "
                f"set a long random value (e.g. `{HOW_TO_MAKE_A_SECRET}`)"
            )
        return self

    def placeholder_refusal(self, listens_on: str | None = None) -> str | None:
        """Why a command that serves requests (on the interface ``listens_on``) or sends the customers links
        (to ``public_base_url``) must not start with this secret; ``None`` if it may: the secret is real, or
        ``ZELO_ENV=development`` is set explicitly (not the default) and everything stays on this machine."""
        if self.secret_key.get_secret_value() not in PLACEHOLDERS:
            return None
        explicit = "env" in self.model_fields_set and self.env == "development"
        if listens_on is not None:
            local, where = is_loopback(listens_on), f"--host a loopback address (not {listens_on})"
        else:
            host = urlsplit(self.public_base_url).hostname
            local, where = is_loopback(host), f"ZELO_PUBLIC_BASE_URL on a loopback address (not {host})"
        if explicit and local:
            return None
        return (
            f"ZELO_SECRET_KEY is the placeholder {PLACEHOLDER_SECRET!r}: anyone could forge the customers' check-in "
            f"and opt-out links. Set ZELO_SECRET_KEY to a long random value, e.g. `{HOW_TO_MAKE_A_SECRET}`, and "
            "keep it (it also encrypts the carrier credentials). The placeholder is accepted only with "
            f"ZELO_ENV=development set explicitly{'' if explicit else ' (it is not set)'} and {where}."
        )


@cache
def get_settings() -> Settings:
    return Settings()
