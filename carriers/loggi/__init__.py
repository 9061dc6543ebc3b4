"""Loggi: OAuth2 client-credentials token, package tracking by code (polled) and Basic-authenticated webhooks
(pushed) — reference/carriers-brazil.md §4. Status codes: :mod:`carriers.loggi.codes` (only ``5`` confirmed)."""

from carriers.base import CarrierSpec
from carriers.loggi.client import LoggiClient
from carriers.loggi.parse import parse, parse_webhook
from carriers.loggi.push import PUSH_FIELDS, verify_push
from carriers.loggi.tracking_code import CODE_FORMAT, check_code

PRODUCTION_URL = "https://api.loggi.com"
STAGING_URL = "https://stg.api.loggi.com"

SPEC = CarrierSpec(
    name="loggi",
    title="Loggi",
    make_tracker=LoggiClient,
    parse=parse,
    check_code=check_code,
    credential_fields=("client_id", "client_secret", "company_id"),
    default_base_url=PRODUCTION_URL,
    parse_webhook=parse_webhook,
    optional_credential_fields=PUSH_FIELDS,
    secret_fields=("client_secret", "webhook_password"),
    verify_push=verify_push,
    push_fields=PUSH_FIELDS,
    code_format=CODE_FORMAT,
)

__all__ = ["PRODUCTION_URL", "SPEC", "STAGING_URL", "LoggiClient"]
