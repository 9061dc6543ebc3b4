"""A customer's form, read as it streams in and refused as soon as it passes a bound: the body's size, the
number of parts, of files, the size of one part's headers and of one field or file. Multipart (python-multipart's
streaming parser) or URL-encoded; work and memory stay proportional to the bounds, never to what was sent.

Errors are :class:`FormError`: a 4xx status and a pt-BR sentence naming the field and what is expected.
"""

from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, QuerystringParser, parse_options_header


@dataclass(frozen=True)
class Limits:
    body: int  # bytes in all
    parts: int  # fields and files
    files: int
    field: int  # bytes of one text field
    file: int  # bytes of one file
    headers: int  # bytes of one part's headers
    labels: Mapping[str, str]  # field name -> how the page calls it ("o comentário")
    too_big: str  # what to say when the body passes ``body``


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)  # a repeated field: the last one
    files: dict[str, bytes] = field(default_factory=dict)  # an empty file part (no file chosen) is left out


class FormError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _malformed() -> FormError:
    return FormError(400, "O formulário chegou incompleto. Tente enviar de novo.")


def _headers_too_big(limits: Limits) -> FormError:
    return FormError(400, f"Uma parte do formulário chegou com cabeçalhos de mais de {limits.headers} bytes.")


class _Reader:
    """Callbacks for both parsers: one part at a time, each bounded."""

    def __init__(self, limits: Limits) -> None:
        self.limits, self.form = limits, Form()
        self.parts = self.files = self.header_bytes = 0
        self.name, self.data = "", bytearray()
        self.filename: str | None = None
        self.head_name, self.head_value = bytearray(), bytearray()

    def begin(self) -> None:
        self.parts += 1
        if self.parts > self.limits.parts:
            names = ", ".join(self.limits.labels.values())
            raise FormError(400, f"O formulário chegou com campos demais: esperamos até {self.limits.parts} ({names}).")
        self.name, self.filename, self.header_bytes = "", None, 0
        self.data.clear()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_bytes(end - start)
        self.head_name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_bytes(end - start)
        self.head_value += data[start:end]

    def _header_bytes(self, n: int) -> None:
        self.header_bytes += n
        if self.header_bytes > self.limits.headers:
            raise _headers_too_big(self.limits)

    def header_end(self) -> None:
        if bytes(self.head_name).strip().lower() == b"content-disposition":
            _, params = parse_options_header(bytes(self.head_value))
            self.name = params.get(b"name", b"").decode("utf-8", "replace")
            filename = params.get(b"filename")
            self.filename = None if filename is None else filename.decode("utf-8", "replace")
        self.head_name.clear()
        self.head_value.clear()

    def headers_done(self) -> None:
        if self.filename is not None:
            self.files += 1
            if self.files > self.limits.files:
                raise FormError(400, f"Envie só uma foto: o formulário aceita até {self.limits.files} arquivo.")

    def field_name(self, data: bytes, start: int, end: int) -> None:  # URL-encoded: decoded at the field's end
        self.head_name += data[start:end]
        if len(self.head_name) > self.limits.headers:
            raise FormError(400, f"Um campo do formulário tem nome de mais de {self.limits.headers} bytes.")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        self.data += data[start:end]
        limit = self.limits.file if self.filename is not None else self.limits.field
        if len(self.data) > limit:
            if self.filename is not None:
                raise FormError(413, self.limits.too_big)
            label = self.limits.labels.get(self.name, f"o campo “{self.name[:40]}”")
            raise FormError(413, f"{label[0].upper()}{label[1:]} chegou grande demais (mais de {limit} bytes): resuma.")

    def end(self) -> None:
        if self.filename is not None:
            if self.data:
                self.form.files[self.name] = bytes(self.data)
        else:
            self.form.fields[self.name] = self.data.decode("utf-8", "replace")

    def end_urlencoded(self) -> None:
        self.name = unquote_plus(self.head_name.decode("ascii", "replace"))
        self.data = bytearray(unquote_plus(self.data.decode("ascii", "replace")).encode())
        self.head_name.clear()
        self.end()


async def read_form(content_type: str, chunks: AsyncIterable[bytes], limits: Limits) -> Form:
    """The form in ``chunks`` (the request's body), refused at the first bound it passes."""
    reader = _Reader(limits)
    kind, params = parse_options_header(content_type)
    parser: MultipartParser | QuerystringParser
    if kind == b"multipart/form-data":
        boundary = params.get(b"boundary")
        if not boundary:
            raise _malformed()
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": reader.begin,
                "on_header_field": reader.header_field,
                "on_header_value": reader.header_value,
                "on_header_end": reader.header_end,
                "on_headers_finished": reader.headers_done,
                "on_part_data": reader.part_data,
                "on_part_end": reader.end,
            },
            max_header_size=limits.headers,
        )
    elif kind == b"application/x-www-form-urlencoded":
        parser = QuerystringParser(
            {
                "on_field_start": reader.begin,
                "on_field_name": reader.field_name,
                "on_field_data": reader.part_data,
                "on_field_end": reader.end_urlencoded,
            }
        )
    else:
        raise FormError(415, "O formulário chegou num formato inesperado. Tente enviar de novo.")
    size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limits.body:
                raise FormError(413, limits.too_big)
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:  # the parser's own bounds: header lines per part, and their length
        raise _headers_too_big(limits) if str(exc).startswith("Maximum header") else _malformed() from None
    if kind == b"multipart/form-data" and not reader.parts:
        raise _malformed()
    return reader.form
