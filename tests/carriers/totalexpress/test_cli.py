"""``zelo carriers parse totalexpress FILE``: a Total Express answer normalized by the installed adapter."""

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from zelo.cli import app

runner = CliRunner()
ANSWER = [
    {
        "AWB": "TE0000000001",
        "Pedido": "1001",
        "Historico": [
            {"CodStatus": 1, "DescStatus": "ENTREGA REALIZADA", "DataStatus": "2025-03-05 14:40:00", "Cidade": "Rio"},
            {"CodStatus": 83, "DescStatus": "COLETA REALIZADA", "DataStatus": "2025-03-03 09:12:00", "Cidade": "Itu"},
            {"CodStatus": 14, "DescStatus": "MERCADORIA AVARIADA", "DataStatus": "2025-03-04 11:00:00"},
        ],
    },
    {"AWB": "TE0000000002", "Historico": [], "Mensagem": "AWB não localizada"},
]


def write(tmp_path: Path, payload: Any) -> Path:
    file = tmp_path / "answer.json"
    file.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return file


def test_parse_prints_the_normalized_contract(tmp_path: Path) -> None:
    result = runner.invoke(app, ["carriers", "parse", "totalexpress", str(write(tmp_path, ANSWER))])
    assert result.exit_code == 0, result.output
    delivered, missing = json.loads(result.output)["results"]
    assert (delivered["tracking_code"], delivered["status"], delivered["error"]) == ("TE0000000001", "delivered", None)
    assert [(e["code"], e["status"], e["reason"]) for e in delivered["events"]] == [
        ("83", "posted", None),
        ("14", "in_transit", "carrier_damaged"),
        ("1", "delivered", None),
    ]
    assert delivered["events"][0]["occurred_at"] == "2025-03-03T09:12:00-03:00"
    assert delivered["events"][0]["location"] == "Itu"
    assert missing["error"] == {"code": "not_found", "message": "AWB não localizada"}
    assert missing["status"] == "pending" and missing["events"] == []


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"awbs": []}, "error: totalexpress: expected a JSON list of AWB entries"),
        ([{"Historico": []}], "error: totalexpress: entry #0 has no AWB"),
    ],
)
def test_parse_refuses_an_answer_of_the_wrong_shape(tmp_path: Path, payload: Any, says: str) -> None:
    result = runner.invoke(app, ["carriers", "parse", "totalexpress", str(write(tmp_path, payload))])
    assert result.exit_code == 1 and says in result.output


def test_parse_push_says_total_express_does_not_push(tmp_path: Path) -> None:
    result = runner.invoke(app, ["carriers", "parse", "totalexpress", str(write(tmp_path, ANSWER)), "--push"])
    assert (
        result.exit_code == 1
        and "takes no pushes (it is polled): parse its tracking answers without --push" in result.output
    )


def test_carriers_list_shows_total_express() -> None:
    result = runner.invoke(app, ["carriers", "list"])
    assert result.exit_code == 0 and "totalexpress" in result.output and "Total Express" in result.output
    assert "user, password" in result.output
