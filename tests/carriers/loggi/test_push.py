"""Loggi webhook authentication: HTTP Basic with the store's webhook credentials, compared in constant time."""

import base64

import pytest

from carriers.loggi import SPEC
from carriers.loggi.push import basic_authorization, verify_push

CREDENTIALS = {
    "client_id": "cid",
    "client_secret": "s",
    "company_id": "777",
    "webhook_user": "loja",
    "webhook_password": "p@ss:word",
}
BODY = b'{"packages": []}'


def basic(raw: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


def test_the_store_s_credentials_are_accepted() -> None:
    assert SPEC.verify_push is verify_push
    assert verify_push({"authorization": basic_authorization("loja", "p@ss:word")}, BODY, CREDENTIALS)
    assert verify_push(basic("loja:p@ss:word"), b"anything", CREDENTIALS)  # the body is not signed
    assert verify_push({"authorization": "basic " + basic("loja:p@ss:word")["authorization"][6:]}, BODY, CREDENTIALS)


@pytest.mark.parametrize(
    "headers",
    [
        basic("loja:wrong"),
        basic("outra:p@ss:word"),
        basic("loja:p@ss:word "),
        basic("loja"),
        basic(""),
        {"authorization": "Bearer " + base64.b64encode(b"loja:p@ss:word").decode()},
        {"authorization": "Basic not-base64!"},
        {"authorization": "Basic"},
        {"authorization": ""},
        {},
    ],
)
def test_wrong_or_missing_authorization_is_refused(headers: dict[str, str]) -> None:
    assert not verify_push(headers, BODY, CREDENTIALS)


@pytest.mark.parametrize("missing", ["webhook_user", "webhook_password"])
def test_an_account_without_push_credentials_takes_no_push(missing: str) -> None:
    credentials = {k: v for k, v in CREDENTIALS.items() if k != missing}
    assert not verify_push(basic("loja:p@ss:word"), BODY, credentials)
    assert not verify_push(basic(":"), BODY, {**CREDENTIALS, "webhook_user": "", "webhook_password": ""})


def test_push_fields_are_optional_and_the_password_is_secret() -> None:
    assert SPEC.credential_fields == ("client_id", "client_secret", "company_id")
    assert set(SPEC.push_fields) <= set(SPEC.optional_credential_fields)
    assert {"client_secret", "webhook_password"} <= set(SPEC.secret_fields)
    assert "webhook_user" not in SPEC.secret_fields
