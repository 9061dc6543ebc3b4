"""``zelo carriers parse melhorenvio FILE [--push]`` run as a user would (typer's runner on ``zelo.cli``)."""

import json
from pathlib import Path

from typer.testing import CliRunner

from zelo.cli import app

runner = CliRunner()
ID = "76343a9b-efd6-44dc-9584-59b0d0a48a26"
ORDER = {
    "id": ID,
    "protocol": "ORD-202303122478",
    "status": "delivered",
    "tracking": "ME23002MI63BR",
    "created_at": "2023-03-08 01:02:20",
    "paid_at": "2023-03-08 01:23:27",
    "posted_at": "2023-03-09 10:00:00",
    "delivered_at": "2023-03-11 14:30:00",
}


def run(tmp_path: Path, payload: object, *args: str) -> tuple[int, str]:
    file = tmp_path / "payload.json"
    file.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["carriers", "parse", "melhorenvio", str(file), *args])
    return result.exit_code, result.output


def test_a_tracking_answer_is_normalized(tmp_path: Path) -> None:
    code, output = run(tmp_path, {ID: ORDER, "164ad792-1c6e-4e6b-9f0d-2b7c1a0e9f11": None})
    assert code == 0, output
    delivered, missing = json.loads(output)["results"]
    assert (delivered["tracking_code"], delivered["status"], delivered["error"]) == (ID.upper(), "delivered", None)
    assert [(e["code"], e["status"]) for e in delivered["events"]] == [
        ("ME-created", "pending"),
        ("ME-released", "pending"),
        ("ME-posted", "posted"),
        ("ME-delivered", "delivered"),
    ]
    assert delivered["events"][-1]["occurred_at"] == "2023-03-11T14:30:00-03:00"
    assert missing["error"]["code"] == "not_found" and missing["status"] == "pending"


def test_a_webhook_body_is_normalized_with_push(tmp_path: Path) -> None:
    code, output = run(tmp_path, {"event": "order.delivered", "data": ORDER}, "--push")
    assert code == 0, output
    (result,) = json.loads(output)["results"]
    assert result["status"] == "delivered" and result["events"][-1]["code"] == "ME-delivered"


def test_a_webhook_body_read_as_a_tracking_answer_is_a_clear_error(tmp_path: Path) -> None:
    code, output = run(tmp_path, {"event": "order.posted", "data": ORDER})
    assert code == 1
    assert "error: melhorenvio: order 'event': expected an order object with 'status' and its dates, got str" in output


def test_a_tracking_answer_read_as_a_push_is_a_clear_error(tmp_path: Path) -> None:
    code, output = run(tmp_path, {ID: ORDER}, "--push")
    assert code == 1 and "expected a Melhor Envio webhook" in output


def test_carriers_list_shows_melhor_envio() -> None:
    result = runner.invoke(app, ["carriers", "list"])
    assert result.exit_code == 0 and "melhorenvio" in result.output and "contact_email" in result.output
