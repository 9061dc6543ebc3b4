"""The assembled API: what holds for every route, whichever feature it belongs to."""

import httpx
import pytest

from tests.tracker.ingest.conftest import http, keys  # noqa: F401

ROUTES_AND_FILTERS = [
    ("/v1/shipments", ("carrier", "external_id", "tracking_code", "status", "cursor")),
    ("/v1/incidents", ("carrier", "owner", "cursor")),
    ("/v1/notifications", ("cursor",)),
]


@pytest.mark.parametrize("char", ["\x00", "\n", "\x1b", "\u2028"])
async def test_a_control_character_in_a_query_parameter_is_a_422_naming_it(
    http: httpx.AsyncClient,  # noqa: F811
    keys: dict[str, dict[str, str]],  # noqa: F811
    char: str,
) -> None:
    for path, names in ROUTES_AND_FILTERS:
        for name in names:
            answer = await http.get(path, params={name: f"ab{char}c"}, headers=keys["reader"])
            assert answer.status_code == 422, (path, name, answer.text)
            [error] = answer.json()["errors"]
            assert error["field"] == name
            assert error["message"].startswith("expected one line of printable text; found"), error
            assert error["message"].endswith(f"(U+{ord(char):04X}) at character 3")
        assert (await http.get(path, params={"cursor": ""}, headers=keys["reader"])).status_code == 200


async def test_a_request_validation_error_never_echoes_a_contact_in_clear(
    http: httpx.AsyncClient,  # noqa: F811
    keys: dict[str, dict[str, str]],  # noqa: F811
) -> None:
    answer = await http.patch("/v1/incidents/1", json={"owner": "joana.maria@example.com " * 5}, headers=keys["writer"])
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "owner" and error["message"].startswith("String should have at most 100 characters; got")
    assert "j***@example.com" in error["message"] and "joana" not in answer.text
