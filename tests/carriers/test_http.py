"""The shared JSON body decoder: the same bodies read as with the stdlib, the same fault for the rest."""

import json

import httpx
import pytest

from carriers.base import MalformedResponse
from carriers.base.http import json_body

BODIES = [
    '{"objetos": [{"codObjeto": "SS000000017BR", "descricao": "Objeto entregue ao destinatário"}]}'.encode(),
    b'\xef\xbb\xbf{"token": "t"}',  # a UTF-8 byte order mark
    '{"a": [1, 2.5, null, true]}'.encode("utf-16"),
    b'{"peso": NaN, "n": -0, "big": 1e308}',
    b"[]",
]


def answer(content: bytes) -> httpx.Response:
    return httpx.Response(200, content=content, request=httpx.Request("GET", "https://carrier.test/objetos"))


@pytest.mark.parametrize("content", BODIES)
def test_a_body_decodes_as_the_stdlib_decodes_it(content: bytes) -> None:
    decoded = json_body(answer(content), carrier="correios")
    assert json.dumps(decoded) == json.dumps(json.loads(content))


DEEP = b"[" * 100_000 + b"]" * 100_000  # past orjson's depth limit, and the stdlib's recursion limit


@pytest.mark.parametrize(
    "content",
    [b'{"objetos": [', b"<html>maintenance</html>", b"\xff\xfe\xfa", b"", pytest.param(DEEP, id="nested-too-deep")],
)
def test_a_body_that_is_not_json_is_a_malformed_response_naming_the_call(content: bytes) -> None:
    with pytest.raises(MalformedResponse, match=r"GET /objetos answered HTTP 200 with a body that is not JSON"):
        json_body(answer(content), carrier="correios")
