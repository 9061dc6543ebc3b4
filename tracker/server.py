"""How ``zelo api`` serves: uvicorn over httptools, with a bound on a request's head (request line and headers).

httptools has no bound of its own (it joins a header's pieces for as long as they come: fifteen 10 MB bearer
values were read whole), and uvicorn's only one, ``h11_max_incomplete_event_size``, is for h11 (slower, and it
answers 400). Past ``MAX_HEAD_BYTES``: 431 with a problem document, and the connection is closed."""

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tracker.problems import MEDIA_TYPE, FieldError, Problem

MAX_HEAD_BYTES = 32 * 1024  # nginx's default large_client_header_buffers: 4 × 8 KiB


def _refusal() -> bytes:
    message = f"more than {MAX_HEAD_BYTES} bytes; expected at most {MAX_HEAD_BYTES} bytes of request line and headers"
    problem = Problem(
        title="Request header fields too large",
        status=431,
        detail=f"the request line and headers exceed {MAX_HEAD_BYTES} bytes",
        errors=[FieldError(field="(headers)", message=message)],
    )
    body = problem.model_dump_json().encode()
    return b"HTTP/1.1 431 Request Header Fields Too Large\r\n%s\r\n%s" % (
        f"content-type: {MEDIA_TYPE}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n".encode(),
        body,
    )


REFUSAL = _refusal()


def _head_size(url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """The bytes of a parsed head, at least: ``METHOD url HTTP/1.1``, ``name: value`` lines, the blank line."""
    return len(url) + 18 + sum(len(name) + len(value) + 4 for name, value in headers)


class BoundedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on each request's head. A complete head is measured from its
    parsed parts, before the app sees it; a head still arriving is measured by the reads it spans (a read in
    which a head or a message ended counts from the next one: the parser's position in it is unknown), so an
    endless header is cut within one read (at most 256 KiB) past the bound."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # a request's head is (or the next one will be) arriving
        self._head_bytes = 0  # of the reads the head spans so far
        self._ends = 0  # heads and messages ended on this connection
        self._refused = False

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes, self._ends = False, 0, self._ends + 1
        if not self._refused and _head_size(self.url, self.headers) > MAX_HEAD_BYTES:
            self._refuse()
        if not self._refused:
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_head, self._ends = True, self._ends + 1
        if not self._refused:
            super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        ends = self._ends
        super().data_received(data)
        if self._in_head and not self._refused and not self.transport.is_closing():
            self._head_bytes = self._head_bytes + len(data) if ends == self._ends else 0
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse()

    def _refuse(self) -> None:
        self._refused = True
        self.logger.warning("Request head larger than %d bytes refused (431).", MAX_HEAD_BYTES)
        self.transport.write(REFUSAL)
        self.transport.close()
