"""``zelo carriers parse jadlog FILE``: a Jadlog answer normalized by the command line, as a user runs it."""

import json
from pathlib import Path

from typer.testing import CliRunner

from zelo.cli import app

runner = CliRunner()
ANSWER = {
    "consulta": [
        {
            "shipmentId": "10082212345678",
            "previsaoEntrega": "2026-11-06",
            "tracking": {
                "status": "ENTREGUE",
                "eventos": [
                    {"data": "2026-11-02 09:10:00", "status": "EMISSAO", "unidade": "CO SAO PAULO 03"},
                    {"data": "2026-11-04 08:05:00", "status": "EM ROTA", "unidade": "CO CAMPINAS"},
                    {"data": "2026-11-04 15:32:00", "status": "ENTREGUE", "unidade": "CO CAMPINAS"},
                ],
            },
        },
        {"shipmentId": "10082212345679", "erro": {"id": -1, "descricao": "Não localizado"}},
    ]
}


def write(tmp_path: Path, payload: object) -> Path:
    file = tmp_path / "jadlog.json"
    file.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return file


def test_parse_prints_the_normalized_contract(tmp_path: Path) -> None:
    result = runner.invoke(app, ["carriers", "parse", "jadlog", str(write(tmp_path, ANSWER))])
    assert result.exit_code == 0, result.output
    delivered, missing = json.loads(result.output)["results"]
    assert (delivered["tracking_code"], delivered["status"], delivered["expected_delivery"]) == (
        "10082212345678",
        "delivered",
        "2026-11-06",
    )
    assert [(e["code"], e["status"]) for e in delivered["events"]] == [
        ("EMISSAO", "posted"),
        ("EM ROTA", "out_for_delivery"),
        ("ENTREGUE", "delivered"),
    ]
    assert delivered["events"][0]["occurred_at"] == "2026-11-02T09:10:00-03:00"
    assert delivered["events"][-1]["location"] == "CO CAMPINAS"
    assert missing["status"] == "pending" and missing["events"] == []
    assert missing["error"] == {"code": "nao_localizado", "message": "Não localizado"}


def test_parse_refuses_an_answer_of_the_wrong_shape(tmp_path: Path) -> None:
    result = runner.invoke(app, ["carriers", "parse", "jadlog", str(write(tmp_path, {"objetos": []}))])
    assert result.exit_code == 1
    assert "jadlog: expected a JSON object with a 'consulta' list, got keys ['objetos']" in result.output


def test_jadlog_has_no_push_to_parse(tmp_path: Path) -> None:
    result = runner.invoke(app, ["carriers", "parse", "jadlog", str(write(tmp_path, ANSWER)), "--push"])
    assert (
        result.exit_code == 1
        and "takes no pushes (it is polled): parse its tracking answers without --push" in result.output
    )


def test_carriers_list_shows_jadlog_and_its_token() -> None:
    result = runner.invoke(app, ["carriers", "list"])
    assert result.exit_code == 0
    row = next(line for line in result.output.splitlines() if "jadlog" in line)
    assert "Jadlog" in row and "token" in row and "https://www.jadlog.com.br" in row
