"""Kangu for Zelo: an example carrier adapter shipped as its own package.

Zelo finds it through the ``zelo.carriers`` entry point this package's ``pyproject.toml`` declares
(``kangu = "zelo_kangu:SPEC"``); nothing in Zelo names it. The tracking API's shape is illustrative (see the
README): a polled JSON API with a static token, like many regional carriers'.

- ``client.py``: HTTP only, over the ``httpx.AsyncClient`` Zelo injects;
- ``parse.py``: pure, answer → normalized results;
- ``codes.csv`` (+ ``codes.py``): Kangu's event codes → Zelo's statuses and reasons, as data;
- ``shipment.py``: the tracking code's form.
"""

from carriers.base import CarrierSpec

from zelo_kangu.client import BATCH_LIMIT, KanguClient
from zelo_kangu.parse import parse
from zelo_kangu.shipment import check_code

PRODUCTION_URL = "https://api.kangu.example"  # illustrative: a reserved .example name, never a real host
REQUESTS_PER_SECOND = 2.0  # illustrative

SPEC = CarrierSpec(
    name="kangu",
    title="Kangu (example)",
    make_tracker=KanguClient,
    parse=parse,
    check_code=check_code,
    credential_fields=("api_token",),
    secret_fields=("api_token",),
    default_base_url=PRODUCTION_URL,
    requests_per_second=REQUESTS_PER_SECOND,
    code_format="KG and 10 digits",
)

__all__ = ["BATCH_LIMIT", "PRODUCTION_URL", "SPEC", "KanguClient"]
