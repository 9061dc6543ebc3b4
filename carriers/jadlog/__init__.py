"""Jadlog: tracking by polling ``POST /embarcador/api/tracking/consultar`` with the static token Jadlog issues.

Facts and their confidence (reference/carriers-brazil.md §4, "Jadlog"):

- endpoint, Bearer token, request and answer shapes, "Não localizado" as an ``erro``: from public integration
  code and a recorded answer, not from Jadlog's manual;
- codes per call: "several"; the 50 used here (``client.BATCH_LIMIT``) is not confirmed;
- rate limit: none published; 5 requests per second per account is a conservative choice, not a known limit;
- statuses: see :mod:`carriers.jadlog.codes` for which rows are confirmed;
- tracking codes: the 14-digit ``shipmentId`` the ERP gives (:mod:`carriers.jadlog.shipment`);
- no push (webhook) and no pickup deadline in Jadlog's answers.
"""

from carriers.base import CarrierSpec
from carriers.jadlog.client import BATCH_LIMIT, JadlogClient
from carriers.jadlog.parse import parse
from carriers.jadlog.shipment import check_code

PRODUCTION_URL = "https://www.jadlog.com.br"
REQUESTS_PER_SECOND = 5.0

SPEC = CarrierSpec(
    name="jadlog",
    title="Jadlog",
    make_tracker=JadlogClient,
    parse=parse,
    check_code=check_code,
    credential_fields=("token",),
    secret_fields=("token",),
    default_base_url=PRODUCTION_URL,
    requests_per_second=REQUESTS_PER_SECOND,
    code_format="14-digit shipmentId",
)

__all__ = ["BATCH_LIMIT", "PRODUCTION_URL", "SPEC", "JadlogClient"]
