"""Pure: Melhor Envio order ids. The ERP gives the Melhor Envio order id (a UUID) as the tracking code.

Zelo stores tracking codes upper-cased; Melhor Envio writes its ids in lower case. :func:`stored` is the form
results carry (matched against the stored code), :func:`asked` the form sent to Melhor Envio.
"""

import re

CODE_FORMAT = "the Melhor Envio order id, a UUID (8-4-4-4-12 hexadecimal digits)"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def check_code(code: str) -> str | None:
    """None when ``code`` is a Melhor Envio order id, else a sentence saying what is wrong."""
    if not isinstance(code, str) or not _UUID.fullmatch(code.strip()):
        return (
            f"Melhor Envio order id {code!r} is not valid: expected {CODE_FORMAT}, "
            "e.g. 9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d"
        )
    return None


def stored(code: str) -> str:
    return code.strip().upper()


def asked(code: str) -> str:
    return code.strip().lower()
