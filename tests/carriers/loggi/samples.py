"""Loggi payloads for the tests: the official webhook sample's shape (https://docs.api.loggi.com/reference/webhook)."""

from typing import Any

CODE = "SH1007503594LG"
KEY = "KIF511LG3LGGA3U8G28B4200NA"


def status(code: str = "5", when: str = "2021-05-05T10:40:18.941518Z", **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "highLevelStatus": extra.pop("high", "Entregue"),
        "description": extra.pop("description", "O pacote foi recebido no endereço de entrega."),
        "actionRequired": extra.pop("action", None),
        "updatedTime": when,
        **extra,
    }


def item(code: str, when: str, city: str = "São Paulo", state: str = "SP", **extra: Any) -> dict[str, Any]:
    return {"status": status(code, when, **extra), "location": {"city": city, "state": state}}


def package(history: list[Any] | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "loggiKey": KEY,
        "trackingCode": CODE,
        "status": status(),
        "location": {"city": "São Paulo", "state": "SP"},
        "promisedDate": "2021-05-05",
        "requestTime": "2021-05-05T10:43:18.941518Z",
    }
    if history is not None:
        body["trackingHistory"] = history
    return {**body, **fields}


def journey() -> list[dict[str, Any]]:
    """A whole delivery, oldest first: created, collected, in transit, out for delivery, delivered."""
    return [
        item("1", "2021-05-03T12:00:00Z", high="Aguardando coleta", description="Pacote criado"),
        item("2", "2021-05-03T18:00:00Z", high="Coletado", description="Pacote coletado"),
        item("3", "2021-05-04T09:30:00.5Z", city="Cajamar", high="Em trânsito", description="Em trânsito"),
        item("4", "2021-05-05T08:00:00Z", high="Saiu para entrega", description="Saiu para entrega"),
        item("5", "2021-05-05T10:40:18.941518Z"),
    ]
