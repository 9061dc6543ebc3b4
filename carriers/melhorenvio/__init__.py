"""Melhor Envio (an aggregator): tracking by Melhor Envio order id, polled (``POST /api/v2/me/shipment/tracking``)
and pushed (webhooks signed with ``X-ME-Signature``). OAuth2 app: the access token, renewed on a 401 with the
refresh token when the account has one; every call names the app and a contact email in ``User-Agent``."""

from datetime import timedelta

from carriers.base import CarrierSpec
from carriers.melhorenvio.client import BATCH_LIMIT, REQUESTS_PER_SECOND, MelhorEnvioClient
from carriers.melhorenvio.ids import CODE_FORMAT, check_code
from carriers.melhorenvio.parse import parse, parse_webhook
from carriers.melhorenvio.push import SECRET_FIELD, sign, verify_push

PRODUCTION_URL = "https://melhorenvio.com.br"
SANDBOX_URL = "https://sandbox.melhorenvio.com.br"

SPEC = CarrierSpec(
    name="melhorenvio",
    title="Melhor Envio",
    make_tracker=MelhorEnvioClient,
    parse=parse,
    check_code=check_code,
    credential_fields=("token", "contact_email"),
    optional_credential_fields=("client_id", "client_secret", "refresh_token", SECRET_FIELD, "app_name"),
    secret_fields=("token", "client_secret", "refresh_token", SECRET_FIELD),
    default_base_url=PRODUCTION_URL,
    parse_webhook=parse_webhook,
    verify_push=verify_push,
    push_fields=(SECRET_FIELD,),
    poll_when_pushed=timedelta(hours=12),
    requests_per_second=REQUESTS_PER_SECOND,
    code_format=CODE_FORMAT,
)

__all__ = ["BATCH_LIMIT", "PRODUCTION_URL", "SANDBOX_URL", "SPEC", "MelhorEnvioClient", "sign", "verify_push"]
