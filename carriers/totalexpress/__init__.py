"""Total Express (polled): REST tracking by AWB with HTTP Basic auth (reference/carriers-brazil.md §4).

Credentials per account: ``user`` and ``password`` (secret). The requests-per-second limit is not published;
Zelo sends at most one request a second per account (each up to 50 AWBs: 180,000 AWBs an hour), which keeps
well clear of a gateway limit we cannot see.
"""

from carriers.base import CarrierSpec
from carriers.totalexpress.awb import FORMAT, check_code
from carriers.totalexpress.client import TotalExpressClient
from carriers.totalexpress.parse import parse

PRODUCTION_URL = "https://apis.totalexpress.com.br"

SPEC = CarrierSpec(
    name="totalexpress",
    title="Total Express",
    make_tracker=TotalExpressClient,
    parse=parse,
    check_code=check_code,
    credential_fields=("user", "password"),
    secret_fields=("password",),
    default_base_url=PRODUCTION_URL,
    requests_per_second=1.0,
    code_format=FORMAT,
)

__all__ = ["PRODUCTION_URL", "SPEC", "TotalExpressClient"]
