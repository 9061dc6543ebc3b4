"""Correios (Brazil's post): the CWS REST API — token per posting card, SRO Rastro tracking, and the
``correios_api`` claim filer (pedido-informacao: cadastra, acompanha, reativa)."""

from carriers.base import CarrierSpec
from carriers.correios.claims import CorreiosApiFiler
from carriers.correios.client import CorreiosClient
from carriers.correios.parse import parse
from carriers.correios.portal import PortalFiler
from carriers.correios.s10 import check_code

PRODUCTION_URL = "https://api.correios.com.br"
HOMOLOGATION_URL = "https://apihom.correios.com.br"

SPEC = CarrierSpec(
    name="correios",
    title="Correios",
    make_tracker=CorreiosClient,
    parse=parse,
    check_code=check_code,
    credential_fields=("user", "access_code", "posting_card"),
    # the claim filers': correios_api's contrato and telefone, correios_portal's Fale Conosco login
    optional_credential_fields=("contract", "phone", "portal_user", "portal_password", "portal_url"),
    secret_fields=("access_code", "portal_password"),
    credential_help={
        "user": "CWS user (CNPJ or login)",
        "access_code": "CWS access code (código de acesso)",
        "posting_card": "posting card number (cartão de postagem)",
    },
    default_base_url=PRODUCTION_URL,
    filers={CorreiosApiFiler.name: CorreiosApiFiler, "correios_portal": PortalFiler},
)

__all__ = ["HOMOLOGATION_URL", "PRODUCTION_URL", "SPEC", "CorreiosApiFiler", "CorreiosClient"]
